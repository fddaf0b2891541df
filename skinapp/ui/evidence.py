"""Dashboard section "Evidence": per-diagnosis, subgroup, generalisation, baseline, ablation
and leakage tables, and the gallery of confident calls and misses.

Everything is read from files in the model folder written by ``python -m skinapp.evaluate``
(``evidence.json``, ``gallery/``) and the ``skinapp.evidence`` commands (``cross_dataset.json``,
``baseline.json``, ``ablation.json``, ``leakage.json``). The table builders are pure functions
of those files' content; :func:`evidence_section` lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from skinapp.ui import cache

__all__ = [
    "ablation_table",
    "baseline_table",
    "confirmed_table",
    "cross_dataset_table",
    "diagnosis_table",
    "evidence_section",
    "filter_gallery",
    "leakage_table",
    "subgroup_table",
]

GALLERY_KEYS = ("dashboard.gallery_dx", "dashboard.gallery_dataset", "dashboard.gallery_kind")
KIND_LABELS = {
    "false_negative": "Missed malignant (false negative)",
    "false_positive": "False alarm (false positive)",
    "true_positive": "Malignant, correctly called",
    "true_negative": "Benign, correctly called",
}
GALLERY_MAX = 24


def _pct(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.1%}"


def _ci(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("auc") is None:
        return "too few lesions" if block and block.get("too_small") else "n/a"
    return f"{block['auc']:.3f} ({block['low']:.3f}–{block['high']:.3f})"


def diagnosis_table(ev: Mapping[str, Any]) -> pd.DataFrame:
    """Per diagnosis: n, grade shares, sensitivity at the operating point and at t1."""
    rows = []
    for d in ev["diagnoses"]:
        malignant = d["label"] == "malignant"
        rows.append(
            {
                "Diagnosis": d["dx"],
                "Label": d["label"],
                "Test lesions": d["n"],
                "Grade 1": _pct(d["share_grade1"]),
                "Grade 2": _pct(d["share_grade2"]),
                "Grade 3": _pct(d["share_grade3"]),
                "Sensitivity (operating)": _pct(d["sensitivity_operating"]) if malignant else "",
                "Sensitivity (t1)": _pct(d["sensitivity_t1"]) if malignant else "",
                "Specificity (operating)": "" if malignant else _pct(1 - d["called_malignant"]),
            }
        )
    return pd.DataFrame(rows)


def confirmed_table(ev: Mapping[str, Any]) -> pd.DataFrame:
    """All labels beside the histopathology-confirmed subset, plus melanoma-vs-rest."""
    names = {"all": "All labels", "histo": "Histopathology-confirmed"}
    rows = [
        {
            "Subset": names.get(key, key),
            "Lesions": b.get("n"),
            "Malignant": b.get("n_malignant"),
            "ROC AUC (95% CI)": _ci(b),
            "Sensitivity (operating)": _pct(b.get("sensitivity_operating")),
            "Specificity (operating)": _pct(b.get("specificity_operating")),
            "Sensitivity (t1)": _pct(b.get("sensitivity_t1")),
            "Melanoma sensitivity (t1)": _pct(b.get("melanoma_sensitivity_t1")),
        }
        for key, b in ev["confirmed"].items()
    ]
    for key, label in (("vs_rest", "Melanoma vs rest"), ("vs_benign", "Melanoma vs benign")):
        b = ev["melanoma"][key]
        rows.append(
            {
                "Subset": label,
                "Lesions": b["n"],
                "Malignant": b["n_malignant"],
                "ROC AUC (95% CI)": _ci(b),
            }
        )
    return pd.DataFrame(rows).fillna("")


def subgroup_table(ev: Mapping[str, Any], variable: str | None = None) -> pd.DataFrame:
    """Subgroup AUCs with their flags (optionally one grouping variable only)."""
    rows = []
    for g in ev["subgroups"]:
        if variable is not None and g["variable"] != variable:
            continue
        flag = "too small" if g["too_small"] else ("CI below overall" if g["below_overall"] else "")
        rows.append(
            {
                "Variable": g["variable"],
                "Group": g["group"],
                "Lesions": g["n"],
                "Malignant": g["n_malignant"],
                "ROC AUC (95% CI)": _ci(g),
                "Sensitivity": _pct(g["sensitivity"]),
                "Specificity": _pct(g["specificity"]),
                "Flag": flag,
            }
        )
    return pd.DataFrame(rows)


def cross_dataset_table(cross: Mapping[str, Any]) -> pd.DataFrame:
    """In-distribution vs unseen collections (and per dataset) for both models."""
    rows = []
    labels = {"in": "In-distribution", "out": "Unseen in training"}
    for part in ("in", "out"):
        block = cross["parts"][part]
        rows.append(
            {
                "Test images": labels[part],
                "Lesions": block["candidate"]["n"],
                "Candidate ROC AUC": _ci(block["candidate"]),
                "Shipped model ROC AUC": _ci(block["reference"]),
            }
        )
    for name, block in cross["by_dataset"].items():
        rows.append(
            {
                "Test images": name,
                "Lesions": block["candidate"]["n"],
                "Candidate ROC AUC": _ci(block["candidate"]),
                "Shipped model ROC AUC": _ci(block["reference"]),
            }
        )
    return pd.DataFrame(rows)


def baseline_table(base: Mapping[str, Any]) -> pd.DataFrame:
    """CNN vs the ABCD baselines with the paired tests."""
    rows = [{"Model": "CNN (shipped)", "Test ROC AUC (95% CI)": _ci(base["cnn"])}]
    for name, m in base["models"].items():
        d = m["cnn_minus_baseline"]
        rows.append(
            {
                "Model": f"{name.replace('_', ' + ')}: {m['chosen']}",
                "Test ROC AUC (95% CI)": _ci(m["test_auc"]),
                "CNN minus baseline (95% CI)": (
                    f"{d['bootstrap']['diff']:+.3f} ({d['bootstrap']['low']:+.3f} to "
                    f"{d['bootstrap']['high']:+.3f})"
                ),
                "DeLong p": f"{d['delong']['p']:.2g}",
            }
        )
    return pd.DataFrame(rows).fillna("")


def descriptor_auc_table(base: Mapping[str, Any]) -> pd.DataFrame:
    """Each ABCD descriptor's own test ROC AUC for malignancy (``baseline.json``)."""
    rows = []
    for name, entry in (base.get("descriptor_auc") or {}).items():
        test, val = entry.get("test"), entry.get("val")
        rows.append(
            {
                "Descriptor": name.replace("_", " "),
                "Test ROC AUC (95% CI)": _ci(test) if test else "n/a",
                "Val ROC AUC": f"{val['auc']:.3f}" if val else "n/a",
                "Higher in": "" if not test else ("malignant" if test["auc"] > 0.5 else "benign"),
            }
        )
    return pd.DataFrame(rows)


def descriptor_agreement_table(agree: Mapping[str, Any]) -> pd.DataFrame:
    """Per descriptor: learned-vs-truth agreement and own AUC under each mask (val)."""

    def num(value: Any, spec: str = ".3f") -> str:
        return "n/a" if value is None else format(value, spec)

    rows = []
    for name, entry in agree["descriptors"].items():
        auc = entry.get("auc", {})
        rows.append(
            {
                "Descriptor": name.replace("_", " "),
                "r (learned vs truth)": num(entry.get("learned", {}).get("pearson_r"), ".2f"),
                "AUC, truth mask": num(auc.get("ground_truth")),
                "AUC, learned outline": num(auc.get("learned")),
                "AUC, classical outline": num(auc.get("classical")),
            }
        )
    return pd.DataFrame(rows)


def ablation_table(abl: Mapping[str, Any]) -> pd.DataFrame:
    """Input variants of the shipped classifier with the paired difference to the plain photo."""
    rows = []
    for name, v in abl["variants"].items():
        rows.append(
            {
                "Input to the classifier": name.replace("_", " "),
                f"{abl['split']} ROC AUC (95% CI)": _ci(v),
                "Δ vs plain photo (95% CI)": (
                    ""
                    if name == "none"
                    else f"{v['delta_vs_none']:+.4f} ({v['delta_ci95'][0]:+.4f} to "
                    f"{v['delta_ci95'][1]:+.4f})"
                ),
                "p (bootstrap)": "" if name == "none" else f"{v['p_bootstrap']:.2g}",
            }
        )
    return pd.DataFrame(rows)


def leakage_table(leak: Mapping[str, Any]) -> pd.DataFrame:
    """Grouped vs leaky split: mean ± SD over seeds and the inflation."""
    labels = {
        "binary_roc_auc": "Malignant vs benign ROC AUC",
        "binary_accuracy": "Malignant vs benign accuracy",
        "binary_balanced_accuracy": "Balanced accuracy",
        "dx_accuracy": "7-diagnosis accuracy (logistic regression)",
        "dx_accuracy_1nn": "7-diagnosis accuracy (1-nearest neighbour)",
        "test_images_whose_lesion_is_in_train": "Test images whose lesion is in training",
    }
    s, inf = leak["summary"], leak["inflation"]

    def cell(split: str, k: str) -> str:
        return f"{s[split][k]['mean']:.3f} ± {s[split][k]['sd']:.3f}"

    return pd.DataFrame(
        [
            {
                "Metric": label,
                "Lesion-grouped split": cell("grouped", k),
                "Image-level (leaky) split": cell("leaky", k),
                "Inflation": f"{inf[k]['mean']:+.3f}",
            }
            for k, label in labels.items()
            if k in s["grouped"]
        ]
    )


def filter_gallery(
    gallery: pd.DataFrame,
    dx: Sequence[str] = (),
    datasets: Sequence[str] = (),
    kinds: Sequence[str] = (),
) -> pd.DataFrame:
    """Rows of ``gallery.csv`` matching the chosen diagnoses, datasets and kinds (empty = all),
    in the stored order (false negatives first)."""
    keep = pd.Series(True, index=gallery.index)
    for col, chosen in (("dx", dx), ("dataset", datasets), ("kind", kinds)):
        if chosen:
            keep &= gallery[col].isin(list(chosen))
    return gallery[keep]


# === Layout ===


def _missing(name: str, command: str) -> None:
    st.caption(f"No {name} in {cache.model_dir()} yet: `{command}`.")


def _gallery() -> None:
    gallery = cache.model_csv("gallery/gallery.csv")
    if gallery is None:
        _missing("gallery/gallery.csv", "python -m skinapp.evaluate")
        return
    st.caption(
        "Most confident correct calls and misses on the test split at the operating threshold "
        "(false negatives first), with the heat map of what pushed the score towards malignant. "
        "Thumbnails only; licence and source under each image. PH2 images are not shown. "
        "Each heat map is scaled to its own maximum: for confident benign calls (the misses "
        "included) there is little malignant evidence, and what remains may sit on the skin "
        "or the frame."
    )
    c1, c2, c3 = st.columns(3)
    dx = c1.multiselect("Diagnosis", sorted(gallery["dx"].unique()), key=GALLERY_KEYS[0])
    ds = c2.multiselect("Dataset", sorted(gallery["dataset"].unique()), key=GALLERY_KEYS[1])
    kinds = c3.multiselect(
        "Kind",
        [k for k in KIND_LABELS if k in set(gallery["kind"])],
        format_func=KIND_LABELS.get,
        key=GALLERY_KEYS[2],
    )
    shown = filter_gallery(gallery, dx, ds, kinds)
    st.caption(f"{len(shown)} images match; showing up to {GALLERY_MAX}.")
    folder = cache.model_dir() / "gallery"
    present = shown[
        [
            (folder / p).is_file() and (folder / h).is_file()
            for p, h in zip(shown["photo"], shown["heatmap"], strict=True)
        ]
    ]
    if present.empty:
        # Patient photos are not redistributed with the app beyond the licensed few:
        # evaluate makes the thumbnails from the user's own copy of the data.
        st.info(
            "The thumbnails are not shipped (patient photos stay with the data set). "
            "`python -m skinapp.evaluate --data DATA --model-dir models` makes them from your "
            "copy of the data; the table lists the same cases.",
            icon=":material/image_not_supported:",
        )
        st.dataframe(shown.drop(columns=["photo", "heatmap"]), hide_index=True)
        return
    if len(present) < len(shown):
        st.caption(
            f"Thumbnails of {len(present)} of these images are shipped: those whose licence "
            "allows it (CC0, or CC BY-NC 4.0, shown with its attribution: this is a "
            "non-commercial project). The others are listed in the table below; "
            "`python -m skinapp.evaluate --data DATA --model-dir models` makes all "
            "thumbnails from your copy of the data."
        )
    columns = st.columns(3)
    for i, row in enumerate(present.head(GALLERY_MAX).itertuples()):
        with columns[i % 3]:
            left, right = st.columns(2)
            left.image(str(folder / row.photo), caption="photo")
            right.image(str(folder / row.heatmap), caption="heat map")
            st.caption(
                f"**{KIND_LABELS.get(row.kind, row.kind)}** · {row.dx} · {row.dataset} · "
                f"p = {row.p_malignant:.3f} · grade {row.grade}  \n"
                f"{row.image_id}, {row.license}; {row.attribution}"
            )
    rest = shown[~shown.index.isin(present.index)]
    if len(rest):
        st.dataframe(rest.drop(columns=["photo", "heatmap"]), hide_index=True)


def evidence_section() -> None:
    """The dashboard's evidence part (header + tabs); each tab says which file it lacks."""
    st.header("Evidence")
    ev = cache.model_json("evidence.json")
    tabs = st.tabs(
        [
            "Per diagnosis",
            "Subgroups",
            "Generalisation & leakage",
            "Baseline & ablations",
            "Gallery",
        ]
    )
    with tabs[0]:
        if ev is None:
            _missing("evidence.json", "python -m skinapp.evaluate")
        else:
            th = ev["thresholds"]
            st.caption(
                f"Test split. Grade 1: p < t1 = {th['t1']:.3f}; sensitivity at t1 = share of a "
                "malignant diagnosis not put in grade 1; operating threshold "
                f"{th['operating']:.3f}."
            )
            st.dataframe(diagnosis_table(ev), hide_index=True, width="stretch")
            st.dataframe(confirmed_table(ev), hide_index=True, width="stretch")
    with tabs[1]:
        if ev is None:
            _missing("evidence.json", "python -m skinapp.evaluate")
        else:
            st.caption(
                f"ROC AUC with bootstrap 95% CI; overall test AUC {ev['overall_auc']:.3f}. "
                "'CI below overall': the whole interval lies below it. 'too small': fewer "
                "than 10 malignant or benign lesions."
            )
            st.dataframe(subgroup_table(ev), hide_index=True, width="stretch")
    with tabs[2]:
        cross = cache.model_json("cross_dataset.json")
        if cross is None:
            _missing("cross_dataset.json", "python -m skinapp.evidence.cross_dataset ...")
        else:
            drop = cross["drop"].get("candidate")
            st.caption(
                f"Candidate trained on {', '.join(cross['in_datasets'])} only vs the shipped "
                "model, on the same test images. Drop (in minus unseen) for the candidate: "
                f"{'n/a' if drop is None else f'{drop:.3f}'}."
            )
            st.dataframe(cross_dataset_table(cross), hide_index=True, width="stretch")
        leak = cache.model_json("leakage.json")
        if leak is None:
            _missing("leakage.json", "python -m skinapp.evidence.leakage ...")
        else:
            st.caption(
                f"Same recipe ({leak['recipe']['features']}) on lesion-grouped vs image-level "
                f"random splits of {', '.join(leak['datasets'])} ({leak['n_train']} train / "
                f"{leak['n_test']} test images, {leak['seeds']} seeds)."
            )
            st.dataframe(leakage_table(leak), hide_index=True, width="stretch")
            same = leak["summary"]["leaky"].get("nearest_photo_same_lesion_share")
            if same:
                st.caption(
                    "In the leaky split, a test photo whose lesion is also in training has its "
                    f"nearest training photo from that same lesion in {same['mean']:.1%} of "
                    "cases: the test rewards recognising lesions already seen."
                )
    with tabs[3]:
        base = cache.model_json("baseline.json")
        if base is None:
            _missing("baseline.json", "python -m skinapp.evidence.baseline ...")
        else:
            st.caption("ABCD-descriptor models vs the CNN on the same test images (paired tests).")
            st.dataframe(baseline_table(base), hide_index=True, width="stretch")
            if base.get("descriptor_auc"):
                st.caption(
                    "Each descriptor on its own (the raw value as the score, no fitting): "
                    "ROC AUC for malignancy on the test images; above 0.5, higher values go "
                    "with malignancy."
                )
                st.dataframe(descriptor_auc_table(base), hide_index=True, width="stretch")
        agree = cache.model_json("descriptor_agreement.json")
        if agree is None:
            _missing("descriptor_agreement.json", "python -m skinapp.evidence.agreement ...")
        else:
            st.caption(
                f"ABCD descriptors on the {agree['n_images']} {agree['split']} images with a "
                f"ground-truth mask ({agree['n_malignant']} malignant): does the learned "
                "outline give the ground truth's values (Pearson r), and how well does each "
                "descriptor alone separate malignant lesions (ROC AUC; above 0.5 = higher in "
                "malignant) under each mask?"
            )
            st.dataframe(descriptor_agreement_table(agree), hide_index=True, width="stretch")
        abl = cache.model_json("ablation.json")
        if abl is None:
            _missing("ablation.json", "python -m skinapp.evidence.ablation ...")
        else:
            st.caption(
                "The shipped classifier (trained on plain photos) given other inputs; "
                "paired differences to the plain photo."
            )
            st.dataframe(ablation_table(abl), hide_index=True, width="stretch")
    with tabs[4]:
        _gallery()
