"""Plotly figures for the Model Dashboard, built only from the files saved in ``models/``.

Pure functions of DataFrames and dicts (no Streamlit), so they are tested directly.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "confusion_figure",
    "grades_figure",
    "history_figure",
    "operating_point",
    "pr_figure",
    "reliability_figure",
    "roc_figure",
    "threshold_figure",
]

PRIMARY = "#0E7490"  # teal, the theme's primary colour
SECONDARY = "#1D4ED8"
MUTED = "#94A3B8"
ALERT = "#B91C1C"
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 360}


def operating_point(roc: pd.DataFrame, threshold: float) -> dict[str, float]:
    """Sensitivity and specificity when lesions with ``p >= threshold`` are called malignant.

    Parameters
    ----------
    roc : DataFrame
        ``roc.csv``: columns ``threshold, fpr, tpr`` with thresholds decreasing (each row is
        the rate at ``p >= threshold``).
    threshold : float
        Probability cut-off in [0, 1].

    Returns
    -------
    dict
        ``threshold`` (the saved ROC threshold used: the lowest one still ``>= threshold``),
        ``sensitivity`` (tpr), ``specificity`` (1 - fpr), ``fpr``, ``tpr``.

    Examples
    --------
    >>> roc = pd.DataFrame({"threshold": [1.0, 0.8, 0.3], "fpr": [0, 0.1, 0.5],
    ...                     "tpr": [0, 0.6, 1.0]})
    >>> operating_point(roc, 0.5)["sensitivity"]
    0.6
    """
    ordered = roc.sort_values("threshold", ascending=False, kind="stable")
    reached = ordered[ordered["threshold"] >= threshold]
    row = reached.iloc[-1] if len(reached) else ordered.iloc[0]
    return {
        "threshold": float(row["threshold"]),
        "sensitivity": float(row["tpr"]),
        "specificity": float(1.0 - row["fpr"]),
        "fpr": float(row["fpr"]),
        "tpr": float(row["tpr"]),
    }


def roc_figure(
    roc: pd.DataFrame, *, title: str = "ROC curve (test)", point: dict | None = None
) -> go.Figure:
    """ROC curve with the chance diagonal and an optional operating point."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": MUTED}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=roc["fpr"],
            y=roc["tpr"],
            mode="lines",
            name="model",
            line={"color": PRIMARY, "width": 3},
            customdata=roc["threshold"],
            hovertemplate=(
                "1 − specificity %{x:.3f}<br>sensitivity %{y:.3f}<br>p ≥ %{customdata:.3f}"
            ),
        )
    )
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point["fpr"]],
                y=[point["tpr"]],
                mode="markers",
                name=f"p ≥ {point['threshold']:.3f}",
                marker={"color": ALERT, "size": 12},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="1 − specificity (false-positive rate)",
        yaxis_title="Sensitivity",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        **_LAYOUT,
    )
    return fig


def pr_figure(
    pr: pd.DataFrame, *, prevalence: float | None = None, title: str = "Precision–recall (test)"
) -> go.Figure:
    """Precision–recall curve; a dashed line at the prevalence (a random model's precision)."""
    fig = go.Figure()
    if prevalence is not None:
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[prevalence, prevalence],
                mode="lines",
                name=f"prevalence {prevalence:.0%}",
                line={"dash": "dash", "color": MUTED},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=pr["recall"],
            y=pr["precision"],
            mode="lines",
            name="model",
            line={"color": PRIMARY, "width": 3},
            customdata=pr["threshold"],
            hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}<br>p ≥ %{customdata:.3f}",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="Recall (sensitivity)",
        yaxis_title="Precision (PPV)",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        **_LAYOUT,
    )
    return fig


def confusion_figure(confusion: dict[str, Any], *, title: str | None = None) -> go.Figure:
    """Confusion matrix heat map from ``confusion.json`` (rows: truth, columns: call)."""
    labels = list(confusion.get("labels", ["benign", "malignant"]))
    matrix = confusion["matrix"]
    threshold = confusion.get("threshold")
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=[f"called {lab}" for lab in labels],
            y=[f"truly {lab}" for lab in labels],
            text=[[str(v) for v in row] for row in matrix],
            texttemplate="%{text}",
            textfont={"size": 22},
            colorscale=[[0, "#F0F9FF"], [1, PRIMARY]],
            showscale=False,
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
    )
    if title is None:
        title = "Confusion matrix (test)" + (
            f" at p ≥ {threshold:.3f}" if isinstance(threshold, (int, float)) else ""
        )
    fig.update_layout(title=title, yaxis_autorange="reversed", **_LAYOUT)
    return fig


def history_figure(history: pd.DataFrame) -> go.Figure:
    """Training curves from ``history.csv``: losses on the left, other metrics on the right.

    Rows are numbered across training stages (e.g. head then fine-tuning) and, for an
    ensemble, across members; a dotted line marks where a new stage or member starts.
    """
    frame = history.reset_index(drop=True)
    x = pd.Series(range(1, len(frame) + 1), name="epoch")
    skip = {"epoch", "stage", "member", "learning_rate", "lr"}
    numeric = [
        c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
    ]
    losses = [c for c in numeric if "loss" in c]
    others = [c for c in numeric if c not in losses]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Metrics"))
    palette = [PRIMARY, SECONDARY, "#F59E0B", "#7C3AED", "#059669", ALERT]
    for col_index, columns in ((1, losses), (2, others)):
        for i, column in enumerate(columns):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=frame[column],
                    mode="lines+markers",
                    name=column,
                    line={
                        "color": palette[i % len(palette)],
                        "dash": "dot" if "val" in column else "solid",
                    },
                ),
                row=1,
                col=col_index,
            )
    parts = [c for c in ("member", "stage") if c in frame.columns]
    if parts:
        key = frame[parts].astype(str).agg("/".join, axis=1)
        changes = frame.index[key.ne(key.shift())][1:]
        for idx in changes:
            for col_index in (1, 2):
                fig.add_vline(
                    x=idx + 0.5, line={"dash": "dot", "color": MUTED}, row=1, col=col_index
                )
    fig.update_xaxes(title_text="epoch (all stages)")
    fig.update_layout(title="Training curves", **_LAYOUT)
    return fig


def reliability_figure(calibration: pd.DataFrame) -> go.Figure:
    """Reliability diagram from ``calibration.csv``: observed vs predicted, per probability
    kind (calibrated, uncalibrated); marker area grows with the bin's lesion count."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash", "color": MUTED}
        )
    )
    kinds = calibration["probability"].unique() if "probability" in calibration else [None]
    colours = {"calibrated": PRIMARY, "uncalibrated": "#F59E0B"}
    for kind in kinds:
        part = calibration if kind is None else calibration[calibration["probability"] == kind]
        size = 6 + 24 * (part["count"] / max(1, calibration["count"].max())) ** 0.5
        fig.add_trace(
            go.Scatter(
                x=part["p_mean"],
                y=part["frac_pos"],
                mode="lines+markers",
                name=kind or "model",
                marker={"size": size, "color": colours.get(kind, PRIMARY)},
                line={"color": colours.get(kind, PRIMARY)},
                customdata=part["count"],
                hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} lesions",
            )
        )
    fig.update_layout(
        title="Reliability diagram (test)",
        xaxis_title="Mean predicted probability of malignancy",
        yaxis_title="Observed share malignant",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        **_LAYOUT,
    )
    return fig


def grades_figure(grades: pd.DataFrame) -> go.Figure:
    """Lesions per risk grade (bars) and the malignancy rate in each grade (line)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    labels = [f"grade {g}" for g in grades["grade"]]
    fig.add_trace(
        go.Bar(x=labels, y=grades["n"], name="test lesions", marker_color="#BAE6FD"),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=grades["malignancy_rate"],
            mode="lines+markers+text",
            name="malignant share",
            text=[f"{v:.0%}" if pd.notna(v) else "" for v in grades["malignancy_rate"]],
            textposition="top center",
            line={"color": ALERT, "width": 3},
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="Lesions", secondary_y=False)
    fig.update_yaxes(
        title_text="Malignant share", range=[0, 1.1], dtick=0.2, tickformat=".0%", secondary_y=True
    )
    fig.update_layout(title="Risk grades (test)", **_LAYOUT)
    return fig


def threshold_figure(roc: pd.DataFrame, threshold: float | None = None) -> go.Figure:
    """Sensitivity and specificity as functions of the threshold, from the saved ROC."""
    ordered = roc.sort_values("threshold", kind="stable")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=ordered["threshold"],
            y=ordered["tpr"],
            name="sensitivity",
            line={"color": ALERT, "shape": "vh"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=ordered["threshold"],
            y=1 - ordered["fpr"],
            name="specificity",
            line={"color": PRIMARY, "shape": "vh"},
        )
    )
    if threshold is not None:
        fig.add_vline(x=threshold, line={"dash": "dash", "color": "#334155"})
    fig.update_layout(
        title="Sensitivity / specificity vs threshold (test)",
        xaxis_title="Threshold on the calibrated probability",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        **_LAYOUT,
    )
    return fig
