"""The Model Dashboard's headline cards, tables and captions, from the saved metrics files.

Pure layout over ``metrics.json``-shaped mappings (split from :mod:`skinapp.ui.views`, which
draws one analysis); number formatting is :func:`skinapp.ui.views.fmt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from skinapp.ui.views import fmt

__all__ = [
    "cross_validation_caption",
    "flatten_numbers",
    "grade_table",
    "group_table",
    "metric_cards",
    "split_roles_caption",
]


def metric_cards(metrics: Mapping[str, Any]) -> None:
    """Headline test metrics: AUC with CI, sensitivity, specificity, balanced accuracy, ECE."""
    test = metrics["test"]
    tm = test.get("threshold_metrics") or {}
    auc = test.get("roc_auc") or {}
    auc_value = "n/a" if auc.get("auc") is None else f"{auc['auc']:.3f}"
    auc_help = (
        f"95% CI {auc['low']:.3f}–{auc['high']:.3f} (bootstrap, {auc.get('n_boot')} resamples)"
        if auc.get("low") is not None
        else test.get("note", "Not reported.")
    )
    cols = st.columns(5)
    cols[0].metric("ROC AUC", auc_value, help=auc_help, border=True)
    if auc.get("low") is not None:
        cols[0].caption(f"95% CI {auc['low']:.3f}–{auc['high']:.3f}")
    cols[1].metric("Sensitivity", fmt(tm.get("sensitivity"), ".0%"), border=True)
    cols[2].metric("Specificity", fmt(tm.get("specificity"), ".0%"), border=True)
    cols[3].metric("Balanced accuracy", fmt(tm.get("balanced_accuracy"), ".0%"), border=True)
    ece = test.get("ece")
    cols[4].metric(
        "ECE",
        "n/a" if ece is None else f"{ece:.3f}",
        help=(metrics.get("definitions") or {}).get("ece"),
        border=True,
    )
    n = metrics.get("n", {}).get("test", {})
    st.caption(
        f"Test split: {n.get('n', '?')} lesions, {n.get('n_malignant', '?')} malignant; "
        f"calibrated probabilities; operating threshold p ≥ {fmt(tm.get('threshold'))}."
    )


def cross_validation_caption(folds: Mapping[str, Any] | None) -> str:
    """One line on ``folds.json`` (``python -m skinapp.train --folds K``), or how to make it."""
    if not folds:
        return "No cross-validation saved (`make cv` writes folds.json)."
    held, val = folds.get("held_out_auc") or {}, folds.get("val_auc") or {}
    per_fold = ", ".join(fmt(f.get("held_out_auc")) for f in folds.get("per_fold", []))
    return (
        f"Lesion-grouped {folds.get('folds')}-fold cross-validation of the training recipe on "
        f"the training split: ROC AUC {fmt(held.get('mean'))} ± {fmt(held.get('sd'))} on the "
        f"held-out lesions ({per_fold}); the same fold models on the untouched validation "
        f"split {fmt(val.get('mean'))} ± {fmt(val.get('sd'))}. {folds.get('note', '')}"
    )


def grade_table(grades: pd.DataFrame) -> pd.DataFrame:
    """``grades.csv`` for reading: counts, shares and rates as percentages."""
    out = pd.DataFrame(
        {
            "Grade": grades["grade"],
            "Test lesions": grades["n"],
            "Share of lesions": grades["share"].map(lambda v: fmt(_none(v), ".1%")),
            "Malignant": grades["n_malignant"],
            "Malignant in grade": grades["malignancy_rate"].map(lambda v: fmt(_none(v), ".1%")),
            "Share of all malignant": grades["share_of_malignant"].map(
                lambda v: fmt(_none(v), ".1%")
            ),
        }
    )
    if "meaning" in grades:
        out["Meaning"] = grades["meaning"]
    return out


def _none(value: Any) -> Any:
    return None if pd.isna(value) else value


def group_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Per source dataset: lesions, malignant, AUC, sensitivity, specificity (test split)."""
    rows = []
    for name, block in sorted((metrics["test"].get("by_group") or {}).items()):
        tm = block.get("threshold_metrics") or {}
        auc = block.get("roc_auc") or {}
        rows.append(
            {
                "Dataset": name,
                "Lesions": block.get("n"),
                "Malignant": block.get("n_malignant"),
                "ROC AUC": fmt(auc.get("auc")),
                "AUC 95% CI": (
                    f"{auc['low']:.3f}–{auc['high']:.3f}" if auc.get("low") is not None else ""
                ),
                "Sensitivity": fmt(tm.get("sensitivity"), ".1%"),
                "Specificity": fmt(tm.get("specificity"), ".1%"),
                "Note": block.get("note", ""),
            }
        )
    return pd.DataFrame(rows)


def split_roles_caption(seg: Mapping[str, Any]) -> str:
    """What the splits of ``segmentation_metrics.json`` mean (only test is held out)."""
    roles = seg.get("split_roles") or {"test": "held out, the headline"}
    return "Scores by split — " + "; ".join(f"**{k}**: {v}" for k, v in roles.items()) + "."


def flatten_numbers(data: Any, prefix: str = "") -> pd.DataFrame:
    """Every number in a nested JSON object as rows ``(name, value)`` (dotted names)."""
    rows: list[dict[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            rows.append({"Measure": path, "Value": node})

    walk(data, prefix)
    return pd.DataFrame(rows, columns=["Measure", "Value"])
