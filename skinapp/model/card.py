"""Write ``MODEL_CARD.md`` from the saved metrics and training config (no hand-typed numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skinapp.model.card_differential import differential_section
from skinapp.model.card_outline import outline_section
from skinapp.model.differential import plain_name


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def format_number(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def format_auc(block: dict | None) -> str:
    if not block or block.get("auc") is None:
        return "n/a"
    return f"{block['auc']:.3f} (95% CI {block['low']:.3f}–{block['high']:.3f})"


def _grade_rows(grades: list[dict]) -> str:
    rows = [
        f"| {g['grade']} | {g['n']} | {_pct(g['share'])} | {g['n_malignant']} | "
        f"{_pct(g['malignancy_rate'])} |"
        for g in grades
    ]
    return "\n".join(rows)


def _group_rows(groups: dict[str, Any]) -> str:
    rows = []
    for name, g in sorted(groups.items()):
        tm = g.get("threshold_metrics") or {}
        rows.append(
            f"| {name} | {g['n']} | {g['n_malignant']} | {format_auc(g.get('roc_auc'))} | "
            f"{format_number(tm.get('sensitivity'))} | {format_number(tm.get('specificity'))} | "
            f"{g.get('note', '')} |"
        )
    return "\n".join(rows)


def _ablation_text(ablation: dict[str, Any] | None) -> str:
    if not ablation:
        return "No preprocessing ablation file (`preprocessing_ablation.json`) was found."
    names = {"none": "none", "cc": "Shades of Gray colour constancy", "hair": "hair removal"}
    rows = "\n".join(
        f"| {names.get(k, k)} | {v['val_auc']:.4f} | {v['delta_vs_none']:+.4f} | "
        f"{v['delta_ci95'][0]:+.4f} to {v['delta_ci95'][1]:+.4f} |"
        for k, v in ablation.items()
        if isinstance(v, dict)
    )
    return (
        "Measured on val with `python -m skinapp.model.ablate_preprocessing` "
        f"({ablation.get('method', '')}):\n\n"
        "| before the model | val ROC AUC | Δ vs none | paired 95% CI |\n"
        "| --- | --- | --- | --- |\n" + rows
    )


def _callbacks_text(tc: dict[str, Any]) -> str:
    """How stage 2 stops and which weights it keeps: early stopping, or weight averaging."""
    if not tc.get("average_from"):
        return f"""- Callbacks: early stopping (patience {tc.get("patience")}), ReduceLROnPlateau and
  ModelCheckpoint on validation ROC AUC; CSVLogger (`history.csv`). Seed {tc.get("seed")}."""
    return f"""- Stage 1 callbacks: early stopping (patience {tc.get("patience")}), ReduceLROnPlateau and
  ModelCheckpoint on validation ROC AUC. Stage 2 runs all its epochs at a constant learning
  rate and keeps the **average of the weights from epoch {tc.get("average_from")} on**
  (stochastic weight averaging), unless the last epoch scores higher on validation
  (`average.json` records both). CSVLogger (`history.csv`). Seed {tc.get("seed")}."""


def _ensemble_text(config: dict[str, Any]) -> str:
    """What differs between the members of an ensemble (empty for a single model)."""
    members = config.get("ensemble") or []
    if not members:
        return ""
    configs = [m.get("train_config") or {} for m in members]
    keys = sorted({k for c in configs for k in c if k not in ("out", "data", "cache_dir")})
    differing = [k for k in keys if len({json.dumps(c.get(k)) for c in configs}) > 1]
    rows = "\n".join(
        f"| {i + 1} | `{m.get('source')}` | "
        + ", ".join(f"{k} {configs[i].get(k)}" for k in differing)
        + " |"
        for i, m in enumerate(members)
    )
    return f"""- **Ensemble of {len(members)} members** trained with this recipe; their diagnosis logits are
  averaged inside one model (`python -m skinapp.model.ensemble`), so the LiteRT export, heat
  maps (exact Grad-CAM of the averaged head) and every number below cover the ensemble. The
  members were chosen on validation ROC AUC (see the closing note of issue #5 for the
  comparison). Settings that differ between members (the rest as above, from member 1):

| member | trained as | differs in |
| --- | --- | --- |
{rows}
"""


def _tta_text(trust: dict[str, Any] | None, model_version: str | None) -> str:
    """The app's answer: 8-view test-time augmentation, from ``trust.json``."""
    tta = (trust or {}).get("tta")
    if not tta or "test" not in tta:
        return "No TTA measurement saved with this model: run `python -m skinapp.evaluate ... --trust`.\n"
    stale = (
        "**Stale:** measured for another model version.\n\n"
        if model_version and tta.get("model_version") != model_version
        else ""
    )
    single, test = tta["single_view_test"], tta["test"]

    def row(name: str, get) -> str:
        return f"| {name} | {get(single)} | {get(test)} |"

    rows = "\n".join(
        [
            row("ROC AUC", lambda b: format_auc(b["roc_auc"])),
            row(
                "balanced accuracy",
                lambda b: format_number(b["threshold_metrics"]["balanced_accuracy"]),
            ),
            row("sensitivity", lambda b: format_number(b["threshold_metrics"]["sensitivity"])),
            row("specificity", lambda b: format_number(b["threshold_metrics"]["specificity"])),
            row("ECE", lambda b: format_number(b["ece"])),
            row("Brier", lambda b: format_number(b["brier"])),
            row("sensitivity at t1", lambda b: format_number(b["sensitivity_at_t1"])),
            row(
                "grade 1 / 2 / 3 share",
                lambda b: " / ".join(_pct(g["share"]) for g in b["grades"]),
            ),
            row(
                "malignancy rate in grade 1 / 2 / 3",
                lambda b: " / ".join(_pct(g["malignancy_rate"]) for g in b["grades"]),
            ),
        ]
    )
    used = "uses" if tta.get("used_in_app") else "does **not** use"
    return f"""{stale}The app ({used} it for this model) and `python -m skinapp.predict --tta` classify the 8 flips
and quarter turns of the photo in one batch and report the mean log-odds under a Platt map and
grade thresholds refitted on the validation TTA outputs (`trust.json`); the single-view
calibration does not fit averaged scores. Test split, same images:

| metric | single view (tables above) | 8-view TTA (the app's answer) |
| --- | --- | --- |
{rows}
"""


def _folds_text(folds: dict[str, Any] | None) -> str:
    """Cross-validation of the recipe on the training split, from ``folds.json``."""
    if not folds:
        return "Cross-validation: not run for this card (`make cv` writes `folds.json`).\n"
    held, val = folds["held_out_auc"], folds["val_auc"]
    per_fold = ", ".join(format_number(f["held_out_auc"]) for f in folds["per_fold"])
    return (
        f"Lesion-grouped {folds['folds']}-fold cross-validation of the first member's recipe on "
        f"the training split (`python -m skinapp.train ... --folds {folds['folds']}`): ROC AUC "
        f"{format_number(held['mean'])} ± {format_number(held['sd'])} (SD) on the held-out "
        f"lesions ({per_fold}; each fold also chose its epoch on them, so slightly optimistic); "
        f"the same fold models on the untouched validation split: {format_number(val['mean'])} "
        f"± {format_number(val['sd'])}.\n"
    )


def _loso_text(loso: dict[str, Any] | None) -> str:
    """The trust detector measured leave-one-source-out (``ood_loso.json``)."""
    if not loso:
        return (
            "No leave-one-source-out measurement saved: run "
            "`python -m skinapp.measure_loso --data ../shared/data/derm --model-dir models`.\n"
        )
    rows = []
    for name, block in loso.get("leave_one_source_out", {}).items():
        vt, every = block["val_test"], block["all_splits"]
        worst = vt.get("worst_dx_ood_with_20_images")
        per_dx = ", ".join(
            f"{dx} {v['ood']:.1%} (n={v['n']})" for dx, v in vt["per_dx"].items() if v["n"] >= 20
        )
        rows.append(
            f"| {name} | {vt['n']} | {vt['ood']:.2%} | "
            f"{'n/a' if worst is None else f'{worst:.1%}'} | {per_dx or 'n/a'} | "
            f"{vt['unusual']:.1%} | {every['ood']:.2%} of {every['n']} |"
        )
    shipped = loso.get("shipped", {})
    natural = shipped.get("against", {}).get("natural_photos_and_crops", {})
    test = shipped.get("test", {})
    return f"""Two tiers ({loso.get("method", "")}). *Not a lesion*: one message, no grade, no
save, no report. *Unusual*: grade kept, with a caution and a wider interval. Held-out source:
the detector fitted on the other sources only; rates on its val + test photos (new to the
network too). Targets: ≤ 2 % overall, ≤ 5 % per diagnosis with ≥ 20 images.

| held out | lesions | not a lesion | worst diagnosis | per diagnosis (≥ 20 images) | unusual | all splits |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Shipped detector (all sources): test lesions flagged not a lesion {test.get("ood", float("nan")):.2%},
unusual {test.get("unusual", float("nan")):.1%} (n = {test.get("n", "?")}); scikit-image natural
photographs and crops of them: AUROC {natural.get("auroc", float("nan")):.4f}, flagged
{natural.get("detected", float("nan")):.1%} (n = {natural.get("n", "?")}). Command:
`{loso.get("command", "")}`.
"""


def _quality_text(trust: dict[str, Any] | None) -> str:
    """Photo-quality checks: false alarms and detection where the AUC drops (trust.json)."""
    quality = (trust or {}).get("quality")
    if not quality:
        return "No photo-quality measurement saved: run `python -m skinapp.evaluate ... --trust`.\n"
    fa = quality["false_alarms_test"]
    alarms = ", ".join(
        f"{k} {_pct(fa[k])}" for k in ("focus", "exposure", "border", "size", "color_cast")
    )
    caught = "; ".join(
        f"{name} {block['auc_drop_level']}: {_pct(block['detection_at_auc_drop_level'])} "
        f"by the {block['check']} check"
        for name, block in quality["degradations"].items()
        if block.get("auc_drop_level") is not None
    )
    return (
        f"False alarms on original test photos: {alarms}. At the first degradation level "
        f"where the test ROC AUC drops by more than {quality['auc_drop_threshold']}: "
        f"{caught}. Exposure and colour cast use the learned detector of "
        "`skinapp/trust/photometric.py` when `quality.npz` matches the model.\n"
    )


def render_model_card(
    metrics: dict[str, Any],
    config: dict[str, Any],
    ablation: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
) -> str:
    """Markdown model card; every number comes from ``metrics``, ``config`` or the evidence
    files (``evidence``: :func:`load_evidence_files`; sections say when a file is missing)."""
    test, val = metrics["test"], metrics["val"]
    tm = test["threshold_metrics"]
    th = metrics["thresholds"]
    cal = metrics["calibration"]
    tc = config.get("train_config", {})
    extra = metrics.get("extra", {})
    parity = extra.get("litert_parity") or {}
    return f"""# Model card: skinapp MobileNetV2 lesion classifier

Version `{extra.get("model_version", "n/a")}` (sha256 of `model.tflite`, first 12 hex digits),
trained {config.get("created", "n/a")}, evaluated {metrics["created"]}.
This file is generated by `python -m skinapp.evaluate`; do not edit the numbers by hand.

## Intended use
Decision support for clinicians and teaching material for students: given a **dermoscopic**
photograph of one skin lesion, the model estimates the probability that the lesion is
malignant (melanoma, basal cell carcinoma, actinic keratosis / intraepithelial carcinoma) and
maps it to a **risk grade 1–3**. It is **not a diagnosis** and the grade is **not a cancer
stage**: staging requires histopathology. Every result must be read by a clinician together with
the history and a clinical examination.

## Data
- 11,096 dermoscopic images from HAM10000, ISIC 2017, the ISIC archive (CC0) and PH2, long
  side 224 px (see `shared/data/derm/README.md` in the training environment).
- Lesion-grouped split (every image of a lesion and near-duplicate images in one split):
  train 7,772 / val 1,664 / test 1,660 images. The model was trained on `train`
  (datasets: {", ".join(tc.get("train_datasets") or ["all"])}); calibration and grade thresholds
  were fitted on `val`; every number below is on `test`, which was used for nothing else.
- Labels: malignant = mel, bcc, akiec; benign = nv, bkl, df, vasc. About one image in five is
  malignant. akiec (actinic keratosis / Bowen's disease) is counted as malignant because it is
  a (pre)cancerous keratinocyte lesion that needs treatment; this makes grade 1 "unlikely to need
  treatment", not only "not melanoma".

## Training recipe
- `keras.applications.MobileNetV2(include_top=False)`, ImageNet weights, input
  {config.get("input", {}).get("size", 224)}×{config.get("input", {}).get("size", 224)} RGB
  (plain resize of the photo to a square; pixels scaled to [-1, 1] inside the model), global
  average pooling, dropout {tc.get("dropout")}, dense softmax over the diagnoses
  {", ".join(config.get("classes", []))}; malignancy score = log-odds of the malignant
  diagnoses. Learning from the seven diagnoses rather than two labels gives the network richer
  supervision.
- Colour constancy before the model: `{config.get("input", {}).get("color_constancy")}`.
  Hair removal is not applied before the model (it is shown to the user and used for
  segmentation). Neither step changed validation AUC by more than its noise, so the model sees
  the plain resized photo (simpler, faster, one less thing to go wrong):

{_ablation_text(ablation)}

- Augmentation: all 8 flips/90° rotations, zoom up to 15%, shift up to 6%, brightness,
  contrast, saturation and hue jitter; {tc.get("views")} augmented views per training image.
- Stage 1: backbone frozen, dense head trained with Adam {tc.get("head_lr")} for up to
  {tc.get("head_epochs")} epochs. Stage 2: backbone unfrozen from block
  {tc.get("finetune_from_block")} (batch-norm kept in inference mode: the ImageNet weights have
  BN folded), Adam {tc.get("finetune_lr")}, up to {tc.get("finetune_epochs")} epochs, batch
  {tc.get("batch_size")}. Activations of the frozen lower blocks (up to `{tc.get("cut_layer")}`)
  are cached per augmented view so this runs on a 2-core CPU.
- Class balance: sample weights give benign and malignant the same total weight.
{_callbacks_text(tc)}
{_ensemble_text(config)}
## Results on the test split (n = {test["n"]}, {test["n_malignant"]} malignant)
| metric | value |
| --- | --- |
| ROC AUC | {format_auc(test["roc_auc"])} |
| PR AUC (average precision) | {format_number(test["pr_auc"])} |
| operating threshold (from val, max balanced accuracy) | {format_number(th["operating"])} |
| accuracy | {format_number(tm["accuracy"])} |
| balanced accuracy | {format_number(tm["balanced_accuracy"])} |
| sensitivity | {format_number(tm["sensitivity"])} |
| specificity | {format_number(tm["specificity"])} |
| precision (PPV) | {format_number(tm["precision"])} |
| F1 | {format_number(tm["f1"])} |
| ECE (10 bins, calibrated) | {format_number(test["ece"])} (uncalibrated {format_number(test["uncalibrated"]["ece"])}) |
| Brier score | {format_number(test["brier"])} |

Validation ROC AUC (for reference; optimistic): {format_auc(val["roc_auc"])}.

{_folds_text((evidence or {}).get("folds"))}
### Risk grade (thresholds chosen on val)
Grade 1 if p < t1 = {format_number(th["t1"])} (≥ {_pct(th["min_sensitivity"])} of malignant validation
lesions above it), grade 3 if p ≥ t2 = {format_number(th["t2"])} (specificity ≥
{_pct(th["min_specificity"])} on validation), grade 2 between. On test, sensitivity at t1 is
**{format_number(test["sensitivity_at_t1"])}** and specificity at t2 is {format_number(test["specificity_at_t2"])}.

| grade | lesions | share | malignant | malignancy rate |
| --- | --- | --- | --- | --- |
{_grade_rows(test["grades"])}

### By source dataset
| dataset | n | malignant | ROC AUC | sensitivity | specificity | note |
| --- | --- | --- | --- | --- | --- | --- |
{_group_rows(test.get("by_group", {}))}

### The app's answer: test-time augmentation
{_tta_text((evidence or {}).get("trust"), extra.get("model_version"))}
### Differential diagnosis (seven classes)
{differential_section((evidence or {}).get("differential"), extra.get("model_version"))}
### Photo-quality checks
{_quality_text((evidence or {}).get("trust"))}
### Not a lesion / unusual lesion (leave-one-source-out)
{_loso_text((evidence or {}).get("loso"))}
{render_evidence(evidence or {}, metrics)}
## Calibration
{cal.get("method")} scaling fitted on val (temperature {format_number(cal.get("temperature"))}).
ECE definition: {metrics["definitions"]["ece"]}

## Serving
The app and `python -m skinapp.predict` run `model.tflite` with LiteRT (XNNPACK). LiteRT vs
Keras on the {parity.get("n_images", "n/a")} bundled sample images: max |Δ probability| =
{format_number(parity.get("max_abs_diff_probability"), 6)}, max |Δ logit| =
{format_number(parity.get("max_abs_diff_logits"), 6)}.

## Known limitations
- Dermoscopic images only: clinical (non-dermoscopic) photos, phone snapshots without a
  dermoscope, and non-skin images are outside the training distribution and get meaningless
  scores.
- Trained on small images (long side 224 px; most HAM10000 images were upscaled from 200×150),
  so fine structures visible at full resolution are not used.
- The training sets come mostly from fair-skinned European and Australian populations; skin
  types V–VI are barely represented and performance there is unknown.
- Diagnoses outside the seven classes (e.g. squamous cell carcinoma, rare tumours) were not in
  training; mucosal, acral and nail lesions are under-represented.
- The ISIC 2017 test images exist here only as aspect-squashed 224×224 copies.
- Numbers above are from one split of public data; prospective clinical performance is not
  established.
"""


# === Evidence sections (files written by skinapp.evaluate and skinapp.evidence.*) ===

EVIDENCE_FILES = {
    "evidence": "evidence.json",
    "cross_dataset": "cross_dataset.json",
    "leakage": "leakage.json",
    "baseline": "baseline.json",
    "ablation": "ablation.json",
    "trust": "trust.json",
    "folds": "folds.json",
    "differential": "differential.json",
    "loso": "ood_loso.json",
    "segmentation": "segmentation_metrics.json",
    "agreement": "descriptor_agreement.json",
}


def _ci(block: dict | None) -> str:
    """``0.905 (0.889–0.922)`` from a dict with ``auc, low, high``; explains a missing AUC."""
    if not block or block.get("auc") is None:
        return "too few lesions" if block and block.get("too_small") else "n/a"
    return f"{block['auc']:.3f} ({block['low']:.3f}–{block['high']:.3f})"


def _stale(data: dict, metrics: dict, command: str) -> str:
    """A warning when an evidence file was measured with another model than the card's."""
    measured = data.get("model_version")
    shipped = (metrics.get("extra") or {}).get("model_version")
    if measured and shipped and measured != shipped:
        return (
            f"\n\n**Stale:** measured with model `{measured}`, this card describes `{shipped}`; "
            f"re-run `{command}`."
        )
    return ""


def _missing(name: str, command: str) -> str:
    return f"_Not measured yet: `{name}` is missing (run `{command}`)._"


def _diagnosis_section(ev: dict | None) -> str:
    if not ev:
        return _missing("evidence.json", "python -m skinapp.evaluate")
    th = ev["thresholds"]
    rows = "\n".join(
        f"| {d['dx']} ({plain_name(d['dx'])}) | {d['label']} | {d['n']} | "
        f"{_pct(d['share_grade1'])} | {_pct(d['share_grade2'])} | {_pct(d['share_grade3'])} | "
        + (
            f"{_pct(d['sensitivity_operating'])} | {_pct(d['sensitivity_t1'])} |"
            if d["label"] == "malignant"
            else f"specificity {_pct(1 - d['called_malignant'])} | – |"
        )
        for d in ev["diagnoses"]
    )
    mel = ev["melanoma"]
    conf = ev["confirmed"]
    histo = conf.get("histo") or {}
    everything = conf["all"]
    return f"""Test split, calibrated probability; grade 1 = p < t1 = {th["t1"]:.3f}, grade 3 = p ≥
t2 = {th["t2"]:.3f}; "called malignant" = p ≥ operating threshold {th["operating"]:.3f}.

| diagnosis | label | n | grade 1 | grade 2 | grade 3 | sensitivity at operating point | sensitivity at t1 (not grade 1) |
| --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

- **Melanoma vs every other lesion**: ROC AUC {_ci(mel["vs_rest"])} (n = {mel["vs_rest"]["n"]},
  {mel["vs_rest"]["n_malignant"]} melanomas); melanoma vs benign lesions only:
  {_ci(mel["vs_benign"])}. The score is the malignancy probability, so bcc and akiec also
  rank high; this is why melanoma-vs-rest is lower than benign-vs-malignant.
- **Histopathology-confirmed subset** (`dx_type == histo`, n = {histo.get("n", 0)},
  {histo.get("n_malignant", 0)} malignant): ROC AUC {_ci(histo)} against {_ci(everything)} on all
  labels; sensitivity at t1 {_pct(histo.get("sensitivity_t1"))} (all labels
  {_pct(everything.get("sensitivity_t1"))}); melanoma sensitivity at t1
  {_pct(histo.get("melanoma_sensitivity_t1"))} (all labels
  {_pct(everything.get("melanoma_sensitivity_t1"))}). In HAM10000 benign lesions mostly
  reach histology because they looked suspicious enough to be excised, so this subset holds
  the harder benign look-alikes; compare it with all labels, not with published numbers."""


def _subgroup_section(ev: dict | None) -> str:
    if not ev:
        return _missing("evidence.json", "python -m skinapp.evaluate")
    names = {"dataset": "dataset", "age_band": "age", "sex": "sex", "localization": "body site"}
    rows = []
    for g in ev["subgroups"]:
        flag = "**CI below overall**" if g["below_overall"] else ""
        flag = "too small" if g["too_small"] else flag
        rows.append(
            f"| {names.get(g['variable'], g['variable'])} | {g['group']} | {g['n']} | "
            f"{g['n_malignant']} | {_ci(g)} | {_pct(g['sensitivity'])} | "
            f"{_pct(g['specificity'])} | {flag} |"
        )
    below = [
        f"{g['group']} ({names[g['variable']]})" for g in ev["subgroups"] if g["below_overall"]
    ]
    small = [g["group"] for g in ev["subgroups"] if g["too_small"]]
    finding = (
        "Subgroups whose whole 95% CI lies below the overall test AUC "
        f"({ev['overall_auc']:.3f}): {', '.join(below)}."
        if below
        else "No subgroup has its whole 95% CI below the overall test AUC."
    )
    return f"""{finding} Too few lesions of a class (< 10) to estimate an AUC: {", ".join(small) or "none"}.
"unknown" groups are mostly ISIC 2017/PH2 images without that metadata, so they inherit those
collections' lower AUC. Sensitivity and specificity are at the operating threshold.

| variable | group | n | malignant | ROC AUC (95% CI) | sensitivity | specificity | flag |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}"""


def _cross_dataset_section(cross: dict | None) -> str:
    cmd = (
        "python -m skinapp.evidence.cross_dataset --data ../shared/data/derm "
        "--model-dir runs/ham_only --reference models"
    )
    if not cross:
        return _missing("cross_dataset.json", cmd)
    parts = cross["parts"]
    rows = "\n".join(
        f"| {name} | {', '.join(cross['in_datasets'] if part == 'in' else cross['out_datasets'])} | "
        f"{parts[part]['candidate']['n']} | {_ci(parts[part]['candidate'])} | "
        f"{_ci(parts[part]['reference'])} |"
        for part, name in (("in", "in-distribution"), ("out", "never seen in training"))
    )
    paired = cross.get("paired", {}).get("out", {}).get("bootstrap")
    paired_text = (
        f"On the unseen collections the candidate minus the shipped model is "
        f"{paired['diff']:+.3f} (paired bootstrap 95% CI {paired['low']:+.3f} to "
        f"{paired['high']:+.3f}, p = {paired['p']:.2g})."
        if paired
        else ""
    )
    drop = cross["drop"].get("candidate")
    ref_drop = cross["drop"].get("reference")
    return f"""A model trained only on {", ".join(cross["in_datasets"])} (`{cross["candidate"]["model_dir"]}`)
against the shipped model (trained on all collections), on the same test images:

| test images | datasets | n | trained on {", ".join(cross["in_datasets"])} only | shipped model |
| --- | --- | --- | --- | --- |
{rows}

Drop from in-distribution to unseen collections: {format_number(drop)} for the
{", ".join(cross["in_datasets"])}-only model, {format_number(ref_drop)} for the shipped model (which
did see those collections in training, so part of the drop is that these images are harder).
{paired_text} Caveat: `--train-datasets` filters the training split only; early stopping and
checkpointing used the validation images of every collection, so the unseen collections
influenced when training stopped (not what it learnt from). Command:
`{cross.get("command", cmd)}`."""


def _baseline_section(base: dict | None) -> str:
    cmd = "python -m skinapp.evidence.baseline --data ../shared/data/derm --model-dir models"
    if not base:
        return _missing("baseline.json", cmd)
    rows = []
    for name, m in base["models"].items():
        d = m["cnn_minus_baseline"]
        rows.append(
            f"| {name.replace('_', ' + ')} | {m['chosen']} | {_ci(m['test_auc'])} | "
            f"{d['bootstrap']['diff']:+.3f} ({d['bootstrap']['low']:+.3f} to "
            f"{d['bootstrap']['high']:+.3f}) | {d['delong']['p']:.2g} |"
        )
    coef = base["models"]["abcd"]["logistic_regression"]["standardised_coefficients"]
    top = ", ".join(f"{k} {v:+.2f}" for k, v in list(coef.items())[:5])
    return f"""A transparent model on the ABCD descriptors the app shows (segmented and described exactly as
in the app), with and without age/sex/body site, fitted on train, chosen on val (logistic
regression or gradient boosting), scored once on the same {base["n"]["test"]} test images as the
CNN (CNN ROC AUC {_ci(base["cnn"])}):

| features | model chosen on val | test ROC AUC (95% CI) | CNN minus baseline (paired bootstrap 95% CI) | DeLong p |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Largest standardised logistic-regression weights (ABCD only; positive = more malignant): {top}.
{_descriptor_auc_rows(base)}
Command: `{base.get("command", cmd)}`."""


def _descriptor_auc_rows(base: dict) -> str:
    """Each descriptor's own test ROC AUC (the raw value as the score), as a Markdown table."""
    aucs = base.get("descriptor_auc") or {}
    if not aucs:
        return ""
    rows = "\n".join(
        f"| {name.replace('_', ' ')} | {_ci(e.get('test'))} | "
        f"{'n/a' if not e.get('val') else format(e['val']['auc'], '.3f')} |"
        for name, e in aucs.items()
    )
    return f"""
Each descriptor on its own (raw value as the score, no fitting; ROC AUC above 0.5 = higher in
malignant lesions):

| descriptor | test ROC AUC (95% CI) | val ROC AUC |
| --- | --- | --- |
{rows}
"""


def _ablation_section(abl: dict | None) -> str:
    cmd = "python -m skinapp.evidence.ablation --data ../shared/data/derm --model-dir models"
    if not abl:
        return _missing("ablation.json", cmd)
    names = {
        "none": "plain photo (what the app does)",
        "hair_removal": "hair removal",
        "color_constancy": "Shades of Gray colour constancy",
        "app_pipeline": "colour constancy + hair removal (Lab default pipeline)",
        "segmentation_crop": "crop to the segmented lesion (+10% margin)",
    }
    rows = "\n".join(
        f"| {names.get(k, k)} | {_ci(v)} | "
        + (
            "reference | – |"
            if k == "none"
            else f"{v['delta_vs_none']:+.4f} ({v['delta_ci95'][0]:+.4f} to "
            f"{v['delta_ci95'][1]:+.4f}) | {v['p_bootstrap']:.2g} |"
        )
        for k, v in abl["variants"].items()
    )
    return f"""The **shipped classifier** (trained on plain photos) given other inputs, on the
{abl["n"]} {abl["split"]} images ({abl["n_malignant"]} malignant). This measures whether switching a step on
in front of *this* model helps; it does not say whether a model trained with the step would be
better (the frozen-feature proxy above speaks to that). The lesion was found in
{_pct(abl.get("lesion_found_share"))} of the images.

| input to the classifier | {abl["split"]} ROC AUC (95% CI) | Δ vs plain photo (paired bootstrap 95% CI) | p |
| --- | --- | --- | --- |
{rows}

Command: `{abl.get("command", cmd)}`."""


def _leakage_section(leak: dict | None, test: dict) -> str:
    cmd = "python -m skinapp.evidence.leakage --data ../shared/data/derm --out models/leakage.json"
    intro = """Published dermoscopy classifiers often report 92–99% accuracy. Three things make ours lower, and
only one of them is the model:

1. **Leakage.** HAM10000 holds several photos of many lesions. Papers that split *images* at
   random put photos of the same lesion in training and test, so the test partly measures
   recognising a lesion already seen. Our split is by lesion (and near-duplicate images), so
   it does not.
2. **Metric.** "Accuracy" on HAM10000 is dominated by nevi (two thirds of the images): always
   answering "nevus" scores about 67%. We report ROC AUC, sensitivity at clinically chosen
   thresholds and balanced accuracy instead.
3. **Data.** Our images are 224-px copies (most HAM10000 images enlarged from 200×150) and we
   test on four collections, not one.
"""
    if not leak:
        return intro + "\n" + _missing("leakage.json", cmd)
    s, inf = leak["summary"], leak["inflation"]

    def row(key: str, label: str) -> str:
        g, lk, d = s["grouped"][key], s["leaky"][key], inf[key]
        return (
            f"| {label} | {g['mean']:.3f} ± {g['sd']:.3f} | {lk['mean']:.3f} ± {lk['sd']:.3f} | "
            f"{d['mean']:+.3f} ± {d['sd']:.3f} |"
        )

    overlap = s["leaky"]["test_images_whose_lesion_is_in_train"]["mean"]
    lk = s["leaky"]
    seen_text = (
        f"Within the leaky split, the nearest training photo of a test image whose lesion is in "
        f"training is a photo of that same lesion in "
        f"{_pct(lk['nearest_photo_same_lesion_share']['mean'])} of cases (by chance it would be "
        "well under 1%): even frozen ImageNet features recognise a lesion seen in training, "
        "and a leaky test rewards that. "
        if "nearest_photo_same_lesion_share" in lk
        else ""
    )
    return f"""{intro}
**Measured leakage** (same recipe, same numbers of images: {leak["n_train"]} train /
{leak["n_test"]} test from {", ".join(leak["datasets"])}, {leak["n_images"]} images of
{leak["n_lesions"]} lesions; {leak["seeds"]} random splits each, mean ± SD; recipe:
{leak["recipe"]["features"]} + logistic regression or 1-nearest-neighbour). With the leaky
split, {_pct(overlap)} of test images have another photo of the same lesion in training.

| metric | lesion-grouped split | image-level (leaky) split | inflation |
| --- | --- | --- | --- |
{row("binary_roc_auc", "malignant vs benign ROC AUC")}
{row("binary_accuracy", "malignant vs benign accuracy")}
{row("dx_accuracy", "7-diagnosis accuracy (logistic regression)")}
{row("dx_accuracy_1nn", "7-diagnosis accuracy (1-nearest neighbour)")}

{seen_text}The cheap recipe gains little from the leak because a linear head on frozen features
cannot memorise individual photos; the head that can (1-NN) gains more. A fine-tuned CNN can
memorise far more than either, so its inflation is expected to be larger; we did not measure
it (that needs two more CNN trainings). The table shows the mechanism, not the size of the
effect for published CNNs; "inflation" is the mean ± SD over seeds of the paired per-seed
difference (same seed, same sizes), so an inflation smaller than its SD is not established
for that metric. The same recipe's 7-diagnosis accuracy
(~{s["grouped"]["dx_accuracy"]["mean"]:.0%}) also shows how little "accuracy" says on a set that
is two-thirds nevi. Our CNN's test ROC AUC {format_auc(test["roc_auc"])} and accuracy
{format_number(test["threshold_metrics"]["accuracy"])} are on the lesion-grouped split.
Command: `{leak.get("command", cmd)}`."""


DATA_CAVEATS = """- **Image size.** All images are stored with long side 224 px. 9,838 of the 10,015 HAM10000
  images came from a public copy already reduced to 200×150 and were *enlarged* to 224×168, so
  they hold less detail than their size suggests; 177 were reduced from the 600×450 originals.
- **ISIC 2017 test images** exist here only as copies squashed to 224×224 (aspect ratio
  distorted); other ISIC 2017 images were restored to their proportions. The classifier
  stretches every photo to a square anyway, but the segmentation and the ABCD descriptors
  (asymmetry, diameter) see the distortion.
- **Labels.** HAM10000 diagnoses are confirmed by histopathology (about half), follow-up,
  expert consensus or confocal microscopy; ISIC 2017 and ISIC archive labels come from the
  archive; PH2 "common" and "atypical" nevi are both `nv`.
- **Collections differ** in camera, population and case mix (ISIC 2017 and PH2 have no bcc
  or akiec): per-dataset numbers below are not interchangeable."""


def render_evidence(files: dict[str, Any], metrics: dict[str, Any]) -> str:
    """The evidence part of the model card from the loaded evidence files (any may be None)."""
    ev = files.get("evidence")
    return f"""
## Diagnoses, grade 1 and per-diagnosis results
The model learns the seven diagnoses; its malignancy score pools **mel, bcc and akiec** as
malignant and **nv, bkl, df, vasc** as benign. akiec (actinic keratosis / intraepithelial
carcinoma, Bowen's disease) is counted as malignant because it is a precancerous or in-situ
keratinocyte cancer that is treated, not watched. So grade 1 means "unlikely to need
treatment", not only "not melanoma": t1 was chosen so that ≥ 95% of all malignant validation
lesions, including akiec and bcc, fall above it.

{_diagnosis_section(ev)}

## Subgroups (test split)
{_subgroup_section(ev)}

## Data caveats
{DATA_CAVEATS}

## Generalisation to unseen collections
{_cross_dataset_section(files.get("cross_dataset"))}{_stale(files.get("cross_dataset") or {}, metrics, "python -m skinapp.evidence.cross_dataset ...")}

## Lesion outline and ABCD descriptors
{outline_section(files.get("segmentation"), files.get("agreement"))}

## A transparent baseline
{_baseline_section(files.get("baseline"))}{_stale(files.get("baseline") or {}, metrics, "python -m skinapp.evidence.baseline ...")}

## Ablations with the shipped model
{_ablation_section(files.get("ablation"))}{_stale(files.get("ablation") or {}, metrics, "python -m skinapp.evidence.ablation ...")}

## Why our numbers are lower than published 95–99% accuracies
{_leakage_section(files.get("leakage"), metrics["test"])}
"""


def load_evidence_files(model_dir: str | Path) -> dict[str, Any]:
    """The evidence JSON files of ``model_dir`` (None where absent)."""
    out = {}
    for key, name in EVIDENCE_FILES.items():
        path = Path(model_dir) / name
        out[key] = json.loads(path.read_text()) if path.is_file() else None
    return out


def refresh_model_card(model_dir: str | Path) -> Path | None:
    """Re-render ``MODEL_CARD.md`` from the model folder's saved files after a measurement
    rewrote one of those the card quotes; None when the folder has no ``metrics.json`` yet."""
    model_dir = Path(model_dir)
    if not (model_dir / "metrics.json").is_file():
        return None
    return write_model_card(
        model_dir,
        json.loads((model_dir / "metrics.json").read_text()),
        json.loads((model_dir / "model_config.json").read_text()),
    )


def write_model_card(model_dir: str | Path, metrics: dict[str, Any], config: dict[str, Any]):
    """Render and write ``MODEL_CARD.md`` into ``model_dir``."""
    ablation_path = Path(model_dir) / "preprocessing_ablation.json"
    ablation = json.loads(ablation_path.read_text()) if ablation_path.is_file() else None
    path = Path(model_dir) / "MODEL_CARD.md"
    evidence = load_evidence_files(model_dir)
    path.write_text(render_model_card(metrics, config, ablation, evidence))
    return path
