"""Dashboard sections for the app's answer and its differential diagnosis.

Only layout; every number comes from ``metrics.json`` (single view), ``trust.json`` (the
app's 8-view TTA answer) or ``differential.json`` (``python -m skinapp.evaluate
--differential``). Every figure says which answer it describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from skinapp.model.differential import plain_name
from skinapp.ui import metrics_views, views

__all__ = ["SINGLE_VIEW_NOTE", "confusion_figure", "differential_tab", "headline"]

#: Shown on the tabs whose curves and tables come from the single-view files.
SINGLE_VIEW_NOTE = (
    "Single view (one pass of the photo, `predict`'s default; `metrics.json`). The app's "
    "answer is the 8-view TTA mean: its figures are in the cards above and under Trust."
)


def headline(
    metrics: Mapping[str, Any],
    trust: Mapping[str, Any] | None,
    differential: Mapping[str, Any] | None,
) -> None:
    """Headline cards for the app's answer (TTA when the app uses it), labelled, then the
    differential's seven-class cards and one line of single-view figures."""
    tta = (trust or {}).get("tta") or {}
    uses_tta = bool(tta.get("used_in_app") and tta.get("test"))
    answer = f"{tta.get('n_views', 8)}-view TTA" if uses_tta else "single view"
    st.markdown(f"**The app's answer ({answer}), held-out test split**")
    metrics_views.metric_cards({**metrics, "test": tta["test"]} if uses_tta else metrics)
    block = (differential or {}).get("tta" if uses_tta else "single_view") or {}
    test = block.get("test")
    if test:
        cols = st.columns(3)
        ci, auc_ci = test.get("balanced_accuracy_ci95"), test.get("melanoma_vs_rest_auc_ci95")
        cols[0].metric(
            "Balanced 7-class accuracy",
            f"{test['balanced_accuracy']:.1%}",
            help="Mean recall over the seven diagnoses (ISIC 2018 Task 3 metric) of the "
            "differential's top call"
            + (f"; 95% CI {ci[0]:.1%}–{ci[1]:.1%} (bootstrap)." if ci else "."),
            border=True,
        )
        cols[1].metric(
            "Melanoma vs rest ROC AUC",
            views.fmt(test.get("melanoma_vs_rest_auc")),
            help=f"95% CI {auc_ci[0]:.3f}–{auc_ci[1]:.3f} (bootstrap)." if auc_ci else None,
            border=True,
        )
        cols[2].metric(
            "Malignant vs benign ROC AUC (differential)",
            views.fmt(test.get("malignant_vs_benign_auc")),
            help="The sum of the melanoma, basal cell carcinoma and actinic keratosis "
            "probabilities, which equals the calibrated malignancy probability.",
            border=True,
        )
    else:
        st.caption(
            "No differential measured for this model (`python -m skinapp.evaluate --data ... "
            "--differential` writes differential.json)."
        )
    if uses_tta:
        single = metrics["test"]
        auc, tm = single.get("roc_auc") or {}, single.get("threshold_metrics") or {}
        st.caption(
            f"Single view (one pass; `predict`'s default, own calibration): ROC AUC "
            f"{views.fmt(auc.get('auc'))}, sensitivity {views.fmt(tm.get('sensitivity'), '.0%')}, "
            f"specificity {views.fmt(tm.get('specificity'), '.0%')} at p ≥ "
            f"{views.fmt(tm.get('threshold'))}."
        )


def confusion_figure(confusion: Mapping[str, Any]) -> go.Figure:
    """The 7×7 confusion matrix of the top call (rows: true diagnosis), as a heat map."""
    labels = list(confusion["labels"])
    matrix = pd.DataFrame(confusion["matrix"], index=labels, columns=labels)
    share = matrix.div(matrix.sum(axis=1).replace(0, 1), axis=0)
    fig = go.Figure(
        go.Heatmap(
            z=share.to_numpy(),
            x=labels,
            y=labels,
            text=matrix.to_numpy(),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "share of row"},
            hovertemplate="true %{y}, called %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Top call vs true diagnosis (test)",
        xaxis_title="top call",
        yaxis_title="true diagnosis",
        yaxis_autorange="reversed",
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def differential_tab(differential: Mapping[str, Any] | None) -> None:
    """Per-diagnosis AUC, recall and precision, and the confusion matrix, per answer."""
    if not differential:
        st.caption(
            "No differential.json saved with this model (`python -m skinapp.evaluate "
            "--data ... --differential`)."
        )
        return
    answers = [a for a in ("tta", "single_view") if a in differential]
    label = {"tta": "8-view TTA (the app's answer)", "single_view": "single view"}
    answer = st.radio(
        "Answer", answers, format_func=label.get, horizontal=True, key="dashboard.dx_answer"
    )
    block = differential[answer]
    test, before = block["test"], block.get("test_softmax_argmax") or {}
    rows = [
        {
            "Diagnosis": f"{code} · {plain_name(code)}",
            "n": b["n"],
            "One-vs-rest ROC AUC": b["roc_auc_ovr"],
            "Recall": b["recall"],
            "Precision": b["precision"],
            "Recall of the plain arg-max": (before.get("per_class") or {})
            .get(code, {})
            .get("recall"),
        }
        for code, b in test["per_class"].items()
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "One-vs-rest ROC AUC": st.column_config.NumberColumn(format="%.3f"),
            "Recall": st.column_config.NumberColumn(format="percent"),
            "Precision": st.column_config.NumberColumn(format="percent"),
            "Recall of the plain arg-max": st.column_config.NumberColumn(format="percent"),
        },
    )
    name = label[answer][0].upper() + label[answer][1:]
    st.caption(
        f"{name}, test split (n = {test['n']}): balanced accuracy "
        f"{test['balanced_accuracy']:.3f} (the uncalibrated softmax arg-max: "
        f"{views.fmt(before.get('balanced_accuracy'))}), accuracy {test['accuracy']:.3f}, "
        f"log-loss {test['log_loss']:.3f}. Calibration ({block['method_choice']['chosen']} "
        "scaling) and top-call offsets were fitted on the validation split only."
    )
    st.plotly_chart(confusion_figure(test["confusion"]), key=f"dx_confusion_{answer}")
