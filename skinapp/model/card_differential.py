"""The model card's differential-diagnosis section, from ``differential.json``."""

from __future__ import annotations

from typing import Any

from skinapp.model.differential import plain_name

__all__ = ["differential_section"]

_COMMAND = "python -m skinapp.evaluate --data ... --differential"


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(block: dict[str, Any], key: str) -> str:
    ci = block.get(f"{key}_ci95")
    return f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else ""


def _per_class_rows(test: dict[str, Any], argmax: dict[str, Any]) -> str:
    rows = []
    for code, block in test["per_class"].items():
        before = argmax["per_class"].get(code, {})
        rows.append(
            f"| {code} ({plain_name(code)}) | {block['n']} | {_num(block['roc_auc_ovr'])} | "
            f"{_pct(block['recall'])} | {_pct(block['precision'])} | {_pct(before.get('recall'))} |"
        )
    return "\n".join(rows)


def _confusion_rows(confusion: dict[str, Any]) -> str:
    labels = confusion["labels"]
    head = "| true \\ top call | " + " | ".join(labels) + " |"
    rule = "| --- " * (len(labels) + 1) + "|"
    body = [
        f"| {label} | " + " | ".join(str(v) for v in row) + " |"
        for label, row in zip(labels, confusion["matrix"], strict=True)
    ]
    return "\n".join([head, rule, *body])


def differential_section(diff: dict[str, Any] | None, model_version: str | None) -> str:
    """Markdown: the differential's test metrics for the app's answer (TTA) and one view."""
    if not diff or "tta" not in diff:
        return f"No differential measured for this model: run `{_COMMAND}`.\n"
    stale = (
        "**Stale:** measured for another model version.\n\n"
        if model_version and diff.get("model_version") != model_version
        else ""
    )
    tta, single = diff["tta"], diff.get("single_view") or {}
    t, s = tta["test"], (single.get("test") or {})
    argmax = tta["test_softmax_argmax"]

    def row(name: str, key: str) -> str:
        return (
            f"| {name} | {_num(t.get(key))}{_ci(t, key)} | {_num(s.get(key))}{_ci(s, key)} | "
            f"{_num(argmax.get(key))} |"
        )

    choice = tta["method_choice"]
    n_boot = diff.get("n_boot", "n/a")
    offsets = ", ".join(
        f"{c} {o:+.2f}"
        for c, o in zip(tta["calibration"]["classes"], tta["calibration"]["offsets"], strict=True)
    )
    return f"""{stale}The app shows calibrated probabilities over the seven diagnoses beside the risk grade
(`differential.json`, written by `{diff.get("command") or _COMMAND}`). They are the network's
TTA-averaged log-softmax under {choice["chosen"]} scaling fitted on `val` (chosen over the
alternative by {choice["rule"]}: {", ".join(f"{k} {_num(v, 4)}" for k, v in choice["cv_log_loss"].items())}),
rescaled within the malignant and the benign diagnoses so that mel + bcc + akiec equals the
calibrated malignancy probability the grade is read from. The top call is
argmax(log p + offset), with per-class log offsets chosen on `val` to maximise the balanced
accuracy ({offsets}); in risk grade 1 it is never a malignant diagnosis.

| test split (n = {t["n"]}) | 8-view TTA (the app's answer) | single view (`predict` default) | softmax arg-max before (TTA) |
| --- | --- | --- | --- |
{row("balanced accuracy (mean recall, ISIC 2018 Task 3)", "balanced_accuracy")}
{row("accuracy", "accuracy")}
{row("melanoma vs rest ROC AUC", "melanoma_vs_rest_auc")}
{row("malignant vs benign ROC AUC (sum of mel, bcc, akiec)", "malignant_vs_benign_auc")}
{row("log-loss", "log_loss")}

95% bootstrap CIs in brackets (images resampled, {n_boot} resamples). The top call is
fair to rare diagnoses at a price: it names melanoma for {_pct(t["per_class"].get("mel", {}).get("recall"))}
of test melanomas against {_pct(argmax["per_class"].get("mel", {}).get("recall"))} for the plain arg-max.
The safety answer is the risk grade, not the top call: its thresholds are unchanged and
the malignant diagnoses of the differential always sum to the probability it is read from.

Per diagnosis, the app's answer (8-view TTA), test split:

| diagnosis | n | one-vs-rest ROC AUC | recall | precision | recall of the arg-max before |
| --- | --- | --- | --- | --- | --- |
{_per_class_rows(t, argmax)}

Confusion matrix of the top call, the app's answer (rows: true diagnosis), test split:

{_confusion_rows(t["confusion"])}
"""
