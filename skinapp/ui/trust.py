"""Page sections for trust: quality warnings, the "not a lesion" message, the "unusual lesion"
caution, the TTA interval, the dashboard.

What to show follows :func:`skinapp.trust.decision.decide`, the one rule every page, the report
and ``predict`` read.

Only layout and formatting; every number comes from an :class:`~skinapp.analysis.Analysis`
or from ``models/trust.json`` (written by ``python -m skinapp.evaluate --trust``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from skinapp.analysis import Analysis
from skinapp.io import downscale_max_side
from skinapp.trust.decision import NOT_A_LESION_MESSAGE, UNUSUAL_MESSAGE, decide
from skinapp.trust.tta import N_VIEWS
from skinapp.ui import cache, views

__all__ = [
    "OOD_MESSAGE",
    "dashboard_section",
    "differential_metrics",
    "is_ood",
    "loso_frame",
    "loso_section",
    "not_a_lesion_only",
    "ood_warning",
    "performance_metrics",
    "quality_warnings",
    "result_or_warning",
    "summary_frame",
    "uncertainty_note",
    "unusual_caution",
]

#: The one message that replaces everything for a photo the model was not made for.
OOD_MESSAGE = NOT_A_LESION_MESSAGE

_CHECK_LABELS = {
    "focus": "focus",
    "exposure": "exposure",
    "border": "lesion inside the frame",
    "size": "lesion size in the frame",
    "color_cast": "colour balance",
}


def is_ood(analysis: Analysis) -> bool:
    """True when the photo is not a dermoscopic image of a skin lesion (no grade shown)."""
    return decide(analysis.prediction).not_a_lesion


def not_a_lesion_only(analysis: Analysis) -> bool:
    """For a photo that is not a dermoscopic lesion image: the one message (and the photo, small,
    so the user sees which one), then True: the page shows nothing else: no retake advice,
    grade, ABCD, save or report. False for a lesion photo."""
    if not is_ood(analysis):
        return False
    st.warning(OOD_MESSAGE, icon=":material/block:")
    st.image(downscale_max_side(analysis.image, 320), caption="The photo you gave")
    return True


def unusual_caution(analysis: Analysis) -> None:
    """The caution beside the grade of a lesion unlike the training photos."""
    if decide(analysis.prediction).unusual:
        st.warning(UNUSUAL_MESSAGE, icon=":material/help:")


def quality_warnings(analysis: Analysis) -> None:
    """One warning per failed image-quality check (or a one-line all-clear)."""
    report = analysis.quality
    if report is None:
        return
    for check in report.failed:
        st.warning(check.message, icon=":material/photo_camera:")
    if report.ok:
        st.caption(
            ":material/check_circle: Photo quality checks passed: "
            + ", ".join(_CHECK_LABELS[c.name] for c in report.checks)
            + "."
        )
    else:
        st.caption(
            "The result below may be less reliable than the measured performance suggests "
            "until the photo is retaken."
        )


def ood_warning(analysis: Analysis) -> None:
    """The out-of-distribution warning, shown instead of the result card."""
    pred = analysis.prediction
    st.warning(OOD_MESSAGE, icon=":material/block:")
    st.caption(
        f"Out-of-distribution score {pred.ood_score:.2f} (photos above the threshold look "
        "unlike the training lesions to the model's own features)."
    )


def result_or_warning(analysis: Analysis, metrics: Mapping[str, Any] | None) -> None:
    """The result card with its TTA interval, or the OOD warning instead of the grade."""
    if is_ood(analysis):
        ood_warning(analysis)
    else:
        unusual_caution(analysis)
        views.result_card(analysis, metrics, differential_metrics(analysis))
        uncertainty_note(analysis)


def differential_metrics(analysis: Analysis) -> Mapping[str, Any] | None:
    """The block of ``differential.json`` measured for this answer (TTA or single view)."""
    answer = "tta" if analysis.prediction.n_views > 1 else "single_view"
    return (cache.model_json("differential.json") or {}).get(answer)


def uncertainty_note(analysis: Analysis) -> None:
    """The probability interval over the TTA views, and a warning when the grade is unstable."""
    pred = analysis.prediction
    decision = decide(pred)
    if decision.p_low is None or decision.p_high is None:
        return
    if decision.unusual:
        st.caption(
            f"Probability {pred.p_malignant:.1%}, uncertainty range {decision.p_low:.1%}–"
            f"{decision.p_high:.1%}: the range over {N_VIEWS} orientations of the same photo, "
            "widened because the lesion is unlike the training photos."
        )
    else:
        st.caption(
            f"Probability {pred.p_malignant:.1%}, range {decision.p_low:.1%}–"
            f"{decision.p_high:.1%} over {N_VIEWS} orientations of the same photo (flips and "
            "quarter turns)."
        )
    if pred.unstable:
        st.warning(
            "The risk grade is unstable: rotating or flipping the photo moves the probability "
            "across a grade boundary. Treat the grade as borderline; a second photo may help.",
            icon=":material/balance:",
        )


def performance_metrics(
    analysis: Analysis, metrics: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """The measured performance that applies to this result, in ``metrics.json``'s layout.

    A TTA-averaged answer (``n_views > 1``) uses its own calibration and thresholds, so its
    test figures come from ``trust.json``; a single-view answer uses ``metrics.json``.
    """
    if analysis.prediction.n_views <= 1:
        return metrics
    tta = (cache.model_json("trust.json") or {}).get("tta") or {}
    if not tta.get("test"):
        return metrics
    return {"test": {**tta["test"], "grades": tta["test"].get("grades", [])}}


def summary_frame(results: list[tuple[str, Analysis]]) -> pd.DataFrame:
    """:func:`views.summary_frame` with the trust columns: no grade for OOD photos."""
    frame = views.summary_frame(results)
    ood = [is_ood(a) for _, a in results]
    frame["Risk grade"] = [
        "not shown" if o else str(g) for o, g in zip(ood, frame["Risk grade"], strict=True)
    ]
    frame.loc[ood, ["Most likely", "Probability of malignancy"]] = "not a dermoscopic lesion image"
    frame["Caution"] = [
        "unusual lesion" if decide(a.prediction).unusual else "" for _, a in results
    ]
    frame["Photo quality"] = [
        "ok" if a.quality is None or a.quality.ok else ", ".join(c.name for c in a.quality.failed)
        for _, a in results
    ]
    return frame


# === Dashboard ===


def _pct(value: Any) -> str:
    return views.fmt(value, ".1%")


def _quality_table(quality: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for family, block in quality.get("degradations", {}).items():
        check = block["check"]
        for row in block["levels"]:
            rows.append(
                {
                    "Degradation": family,
                    "Level": row["level"],
                    "Test AUC": views.fmt(row["auc"]),
                    "AUC drop": views.fmt(row["auc_drop"]),
                    "Caught by its check": _pct(row.get(check)),
                    "Check": check,
                    "Any check": _pct(row.get("any")),
                    "n": block["n"],
                }
            )
    return pd.DataFrame(rows)


def _auc_figure(quality: Mapping[str, Any]) -> go.Figure:
    fig = go.Figure()
    for family, block in quality.get("degradations", {}).items():
        levels = block["levels"]
        fig.add_scatter(
            x=[r["level"] for r in levels],
            y=[r["auc_drop"] for r in levels],
            mode="lines+markers",
            name=family,
        )
    fig.add_hline(y=quality.get("auc_drop_threshold", 0.03), line_dash="dot")
    fig.update_layout(
        title="Drop of the test ROC AUC per degradation level",
        xaxis_title="level (sigma, gamma, gain, share cut, zoom)",
        yaxis_title="AUC drop",
        height=360,
    )
    return fig


def _photometric_caption(quality: Mapping[str, Any]) -> str:
    """How exposure and colour cast are judged (learned detector or fixed rules), and how the
    checks fare when the degraded photos are re-saved as JPEG."""
    block = quality.get("photometric") or {}
    if not block.get("used"):
        return "Exposure and colour cast: fixed rules (no learned detector for this model)."
    trained = "; ".join(f"{k}: {', '.join(v)}" for k, v in block.get("trained_on", {}).items())
    oof = block.get("val_out_of_fold") or {}
    rates = ", ".join(
        f"{k} {_pct(v.get('false_alarms_out_of_fold'))} false alarms / "
        f"{_pct(min(v.get('detection_out_of_fold') or [float('nan')]))} caught"
        for k, v in oof.items()
    )
    resaved = ", ".join(
        f"{family} {_pct(value)}"
        for family, b in quality.get("degradations", {}).items()
        for key, value in b.items()
        if key.startswith("detection_at_auc_drop_level_jpeg")
    )
    return (
        f"Exposure and colour cast: {block.get('method', 'a learned detector')}. Trained on "
        f"val photos and copies degraded by {trained}. Out of fold on val: {rates}. "
        f"Caught at the first level that costs > 0.03 AUC when the degraded test photos are "
        f"re-saved as JPEG: {resaved or 'n/a'}."
    )


def loso_frame(loso: Mapping[str, Any]) -> pd.DataFrame:
    """One row per held-out source: flag rates on its val + test lesions, worst diagnosis."""
    rows = []
    for name, block in loso.get("leave_one_source_out", {}).items():
        vt = block["val_test"]
        worst = max(
            ((v["ood"], dx) for dx, v in vt["per_dx"].items() if v["n"] >= 20), default=None
        )
        rows.append(
            {
                "Held out": name,
                "Lesions": vt["n"],
                "Not a lesion": _pct(vt["ood"]),
                "Worst diagnosis (≥ 20 images)": "n/a"
                if worst is None
                else f"{worst[1]} {worst[0]:.1%}",
                "Unusual": _pct(vt["unusual"]),
                "Targets met": "yes" if vt["meets_targets"] else "no",
            }
        )
    return pd.DataFrame(rows)


def loso_section(loso: Mapping[str, Any] | None) -> None:
    """The not-a-lesion check measured leave-one-source-out (``ood_loso.json``)."""
    if not loso:
        st.caption(
            "No leave-one-source-out measurement: run `python -m skinapp.measure_loso --data "
            "../shared/data/derm --model-dir models`."
        )
        return
    shipped = loso.get("shipped", {})
    natural = shipped.get("against", {}).get("natural_photos_and_crops", {})
    st.markdown("**Would another clinic's lesions be called “not a lesion”?**")
    st.caption(
        "Each source held out in turn: the detector fitted on the other sources only, flag "
        "rates on the held-out source's val + test lesions. Targets: ≤ 2 % overall, ≤ 5 % in "
        "every diagnosis with ≥ 20 images. Shipped detector: test lesions called not a lesion "
        f"{_pct(shipped.get('test', {}).get('ood'))}, unusual "
        f"{_pct(shipped.get('test', {}).get('unusual'))}; natural photographs AUROC "
        f"{views.fmt(natural.get('auroc'), '.4f')}, flagged {_pct(natural.get('detected'))}."
    )
    st.dataframe(loso_frame(loso), hide_index=True, width="stretch")


def dashboard_section() -> None:
    """Photo quality, out-of-distribution and TTA results from ``trust.json``."""
    trust = cache.model_json("trust.json")
    st.subheader("Trust: photo quality, out-of-distribution warning, uncertainty")
    if trust is None:
        st.caption(
            "No trust.json next to the model: run `python -m skinapp.evaluate --data "
            "../shared/data/derm --model-dir models --trust`."
        )
        return
    quality, ood, tta = trust.get("quality", {}), trust.get("ood", {}), trust.get("tta", {})
    tabs = st.tabs(["Photo quality", "Out of distribution", "Uncertainty (TTA)"])
    with tabs[0]:
        fa = quality.get("false_alarms_test", {})
        st.caption(
            "False alarms on original test photos: "
            + ", ".join(
                f"{k} {_pct(fa.get(k))}"
                for k in ("focus", "exposure", "border", "size", "color_cast", "any")
            )
            + f". {fa.get('note', '')}"
        )
        st.caption(_photometric_caption(quality))
        st.plotly_chart(_auc_figure(quality), key="trust_auc")
        st.dataframe(_quality_table(quality), hide_index=True, width="stretch")
    with tabs[1]:
        rows = [
            {
                "Against": name,
                "Images": block["n"],
                "AUROC": views.fmt(block["auroc"], ".4f"),
                "Flagged": _pct(block["detected"]),
            }
            for name, block in ood.get("against", {}).items()
        ]
        st.caption(
            f"{ood.get('method', '')}; threshold {views.fmt(ood.get('threshold'))} "
            f"({ood.get('threshold_rule', '')}). Test lesions flagged: "
            f"{_pct(ood.get('test_flagged'))} of {ood.get('test_n', '?')}."
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        loso_section(cache.model_json("ood_loso.json"))
    with tabs[2]:
        single, both = tta.get("single_view_test") or {}, tta.get("test") or {}
        interval = tta.get("interval") or {}
        frame = pd.DataFrame(
            [
                {
                    "Answer": name,
                    "ROC AUC": views.fmt((block.get("roc_auc") or {}).get("auc")),
                    "ECE": views.fmt(block.get("ece")),
                    "Brier": views.fmt(block.get("brier")),
                    "Sensitivity": _pct((block.get("threshold_metrics") or {}).get("sensitivity")),
                    "Specificity": _pct((block.get("threshold_metrics") or {}).get("specificity")),
                }
                for name, block in (("single view", single), ("TTA, 8 views", both))
            ]
        )
        st.dataframe(frame, hide_index=True, width="stretch")
        latency = tta.get("latency_ms") or {}
        st.caption(
            f"Used in the app: {'yes' if tta.get('used_in_app') else 'no'}. Interval = "
            f"{interval.get('definition', '')}; median width {_pct(interval.get('median_width'))}; "
            f"unstable grade on {_pct(interval.get('share_unstable'))} of test lesions (error "
            f"rate {_pct(interval.get('error_rate_unstable'))} vs "
            f"{_pct(interval.get('error_rate_stable'))} when stable). Latency per photo: "
            f"{views.fmt(latency.get('single_view_median'), '.0f')} ms single view, "
            f"{views.fmt(latency.get('tta_median'), '.0f')} ms with TTA."
        )
