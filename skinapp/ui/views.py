"""Reusable page sections: the image row, the result card, descriptors, metric cards.

Only layout and formatting; every number comes from an :class:`~skinapp.analysis.Analysis`
or a saved metrics file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from skinapp.analysis import STEP_LABELS, Analysis
from skinapp.heatmap import BLANK_NOTE, HEATMAP_CAPTION, HEATMAP_HELP, is_blank, legend_bar
from skinapp.model.grading import GRADE_DISCLAIMER
from skinapp.model.verdict import Verdict, verdict
from skinapp.report_html import descriptor_rows
from skinapp.ui.display import display_jpeg

__all__ = [
    "DISCLAIMER_LINE",
    "descriptor_table",
    "differential_section",
    "disclaimer",
    "fmt",
    "heatmap_legend",
    "image_row",
    "markdown_table",
    "performance_at_operating",
    "phone_grid",
    "pipeline_strip",
    "preprocessed_caption",
    "probability_effect",
    "result_card",
    "step_gallery",
    "summary_frame",
]

#: The short line shown on every result page.
DISCLAIMER_LINE = (
    "**Decision support, not a diagnosis.** The 1–3 grade rates the risk of malignancy; "
    "it is not a cancer stage (staging needs histopathology)."
)

#: Badge colour of each risk grade (an error box would read as an app failure).
_GRADE_COLOR = {1: "blue", 2: "orange", 3: "red"}


def disclaimer() -> None:
    """The decision-support line, always visible near a result."""
    st.info(DISCLAIMER_LINE, icon=":material/medical_information:")


#: Columns inside a container with one of these keys stay two abreast on a phone (Streamlit
#: otherwise stacks every column full width below 640 px).
_PHONE_GRID_CSS = """<style>
@media (max-width: 640px) {
  [class*="st-key-grid-"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; gap: .5rem; }
  [class*="st-key-grid-"] [data-testid="stColumn"] {
    flex: 1 1 calc(50% - .5rem) !important; min-width: calc(50% - .5rem) !important;
  }
}
</style>"""


def phone_grid(name: str):
    """A container whose columns wrap two abreast on a phone: ``with phone_grid("x"):``."""
    st.html(_PHONE_GRID_CSS)
    return st.container(key=f"grid-{name}")


def image_row(analysis: Analysis, *, show_hair_mask: bool = False) -> None:
    """Original, hair removed (or the hair mask), segmentation and heat map: four abreast on
    a wide screen, a 2×2 grid on a phone; then the heat map's colour scale."""
    with phone_grid("diagnose-images"):
        cols = st.columns(4)
    cols[0].image(display_jpeg(analysis.image), caption="Original", width="stretch")
    if show_hair_mask:
        cols[1].image(
            display_jpeg(analysis.hair_overlay),
            caption=f"Detected hair ({analysis.hair_fraction:.1%} of pixels)",
            width="stretch",
        )
    else:
        cols[1].image(
            display_jpeg(analysis.preprocessed),
            caption=preprocessed_caption(analysis),
            width="stretch",
        )
    seg = analysis.segmentation
    seg_caption = (
        f"Segmentation ({seg.method}, {seg.area_fraction:.0%} of the image)"
        + (" · uncertain" if seg.uncertain else "")
        if seg.found
        else "No lesion found"
    )
    cols[2].image(display_jpeg(analysis.contour_overlay), caption=seg_caption, width="stretch")
    cols[3].image(display_jpeg(analysis.heatmap_overlay), caption=HEATMAP_CAPTION, width="stretch")
    heatmap_legend(analysis, key="diagnose")


@st.dialog("Heat map: evidence for malignancy", width="large")
def _enlarged_heatmap(image: np.ndarray, blank: bool) -> None:
    st.image(display_jpeg(image), width="stretch")
    st.image(legend_bar(512, 12), width="stretch")
    st.caption("Left end: no evidence · right end: strongest evidence for malignancy.")
    st.caption(BLANK_NOTE if blank else HEATMAP_HELP)


def heatmap_legend(analysis: Analysis, *, key: str) -> None:
    """The heat map's colour scale and what it means, a note when it is blank, and a
    button to see it large."""
    blank = is_blank(analysis.prediction.heatmap)
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left:
        st.image(legend_bar(256, 6), width="stretch")
        st.caption(BLANK_NOTE if blank else HEATMAP_HELP)
    if right.button("Enlarge heat map", key=f"{key}.enlarge_heatmap", icon=":material/zoom_in:"):
        _enlarged_heatmap(analysis.heatmap_overlay, blank)


def outline_comparison(comparison: tuple | None) -> None:
    """The Lab's learned-vs-classical overlay (:func:`skinapp.analysis.compare_outlines`)."""
    if comparison is None:
        st.caption("Only the classical outline is available (no learned segmenter installed).")
        return
    overlay, other, agreement = comparison
    st.image(
        overlay,
        caption=f"Green: the outline used above; magenta: the {other.method} method's "
        f"({'none found' if not other.found else f'overlap {agreement:.0%} (Jaccard)'}).",
        width=480,
    )


_DONE = {
    "color_constancy": "colour corrected",
    "denoise": "denoised",
    "contrast": "contrast enhanced",
    "hair_removal": "hair removed",
}


def preprocessed_caption(analysis: Analysis) -> str:
    """What was done to the preprocessed image, e.g. "Hair removed · colour corrected"."""
    done = [_DONE[s] for s in analysis.steps if s in _DONE]
    if not done:
        return "Not preprocessed (every step is off)"
    if "hair removed" in done:
        done.remove("hair removed")
        return "Hair removed" + (f" · {', '.join(done)}" if done else "")
    return "Preprocessed: " + ", ".join(done)


def step_gallery(analysis: Analysis, step: str) -> None:
    """Before/after of one pipeline step: its input next to its output."""
    names = list(analysis.steps)
    index = names.index(step)
    before, after = analysis.steps[names[max(0, index - 1)]], analysis.steps[step]
    left, right = st.columns(2)
    left.image(
        display_jpeg(before),
        caption=f"Before: {STEP_LABELS.get(names[max(0, index - 1)], step)}",
        width="stretch",
    )
    right.image(
        display_jpeg(after), caption=f"After: {STEP_LABELS.get(step, step)}", width="stretch"
    )


def performance_at_operating(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Test sensitivity/specificity at the operating threshold from ``metrics.json``."""
    if not metrics or "test" not in metrics:
        return None
    test = metrics["test"]
    tm = test.get("threshold_metrics") or {}
    return {
        "sensitivity": tm.get("sensitivity"),
        "specificity": tm.get("specificity"),
        "threshold": tm.get("threshold"),
        "n": test.get("n"),
        "n_malignant": test.get("n_malignant"),
        "grades": {int(g["grade"]): g for g in test.get("grades", [])},
    }


def fmt(value: float | None, spec: str = ".3f") -> str:
    """``format(value, spec)``, or "n/a" when the saved file has no value."""
    return "n/a" if value is None else format(value, spec)


def _pct(value: float | None) -> str:
    return fmt(value, ".0%")


def result_card(
    analysis: Analysis,
    metrics: Mapping[str, Any] | None,
    differential_metrics: Mapping[str, Any] | None = None,
) -> None:
    """The verdict (:func:`skinapp.model.verdict.verdict`): the risk grade with its meaning and
    the calibrated probability, the differential diagnosis beside it, and the measured
    performance of this answer (TTA or single view, said so)."""
    pred = analysis.prediction
    v = verdict(pred)
    grade = v.grade
    with st.container(border=True):
        c1, c2 = st.columns(2)
        c1.metric("Risk grade", f"{grade} of 3", help="A risk grade, not a cancer stage.")
        c2.metric(
            "Malignancy probability",
            f"{v.p_malignant:.1%}",
            help="Calibrated on held-out validation data: among lesions given this value, "
            f"about this share were malignant. Answer: {v.answer}.",
        )
        st.markdown(f":{_GRADE_COLOR[grade]}-badge[Risk grade {grade}] **{v.advice}**")
        differential_section(v, differential_metrics)
        perf = performance_at_operating(metrics)
        if perf is None:
            st.caption("Measured performance unavailable: no metrics.json next to the model.")
        else:
            rate = (perf["grades"].get(grade) or {}).get("malignancy_rate")
            grade_line = (
                f" In that test set, {rate:.0%} of grade-{grade} lesions were malignant."
                if rate is not None
                else ""
            )
            st.caption(
                f"This answer ({v.answer}) measured on {perf['n']} held-out test lesions at "
                f"its operating threshold (p ≥ {perf['threshold']:.3f}): sensitivity "
                f"{_pct(perf['sensitivity'])}, specificity {_pct(perf['specificity'])}."
                f"{grade_line}"
                + (
                    " These figures were measured on original photos, not on Lab-preprocessed ones."
                    if analysis.model_input == "preprocessed"
                    else ""
                )
            )
        st.caption(GRADE_DISCLAIMER)


def differential_section(v: Verdict, measured: Mapping[str, Any] | None = None) -> None:
    """The top diagnoses with plain names and calibrated probabilities (or why there are none).

    ``measured`` is the answer's block of ``differential.json`` (its ``test`` metrics).
    """
    if not v.differential:
        st.caption(
            "No differential diagnosis: the model folder has no differential.json for this "
            "model (`python -m skinapp.model.differential_report` makes it)."
        )
        return
    st.markdown(f"**Differential diagnosis** · top call: **{v.top_name}**")
    for line in v.differential:  # a bar per diagnosis, the number in its text (wraps on a phone)
        st.progress(
            min(max(line.probability, 0.0), 1.0),
            text=f"{line.name} · {line.probability:.1%}"
            + (" · top call" if line.code == v.top else ""),
        )
    test = (measured or {}).get("test") or {}
    quality = (
        f" Top call on the test split ({v.answer}): balanced accuracy "
        f"{test['balanced_accuracy']:.0%} over the seven diagnoses."
        if test.get("balanced_accuracy") is not None
        else ""
    )
    st.caption(
        f"Calibrated probabilities ({v.answer}). Melanoma, basal cell carcinoma and actinic "
        f"keratosis together: {v.p_malignant:.1%}, the probability the risk grade is read "
        f"from. The top call is chosen to be fair to rare diagnoses, so it can differ from "
        f"the likeliest line.{quality}"
    )


def descriptor_table(analysis: Analysis) -> None:
    """The ABCD descriptors as a table (or why there are none)."""
    if analysis.descriptors is None:
        st.caption("No lesion was segmented, so no descriptors were computed.")
        return
    rows = [
        (f"{letter} · {measure}" if letter else measure, value)
        for letter, measure, value in descriptor_rows(analysis.descriptors.to_dict())
    ]
    # A Markdown table, not st.table: the browser then needs no Arrow decoding for it (about
    # 0.15 s less of Chromium's CPU per result) and the server no DataFrame.
    st.markdown(markdown_table(("Measure", "Value"), rows))
    st.caption(
        "Measurements of the automatic outline, for discussion; none is a diagnosis. "
        "Pixels are those of the analysed image."
    )


def markdown_table(header: tuple[str, ...], rows: list[tuple]) -> str:
    """A Markdown table of ``rows`` (cells as text; a ``|`` inside a cell is escaped).

    Examples
    --------
    >>> print(markdown_table(("A", "B"), [(1, "x|y")]))
    | A | B |
    | --- | --- |
    | 1 | x\\|y |
    """

    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def summary_frame(results: list[tuple[str, Analysis]]) -> pd.DataFrame:
    """One row per analysed image: name, result, probability, grade, lesion found."""
    return pd.DataFrame(
        [
            {
                "Image": name,
                "Most likely": _top_name(a.prediction),
                "Probability of malignancy": f"{a.prediction.p_malignant:.1%}",
                "Risk grade": int(a.prediction.grade),
                "Lesion found": "yes" if a.segmentation.found else "no",
            }
            for name, a in results
        ]
    )


def same_aspect(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` centred on a white canvas of aspect ``width/height`` (display only), so that
    a row of images of different shapes keeps one height.

    Examples
    --------
    >>> same_aspect(np.zeros((224, 224, 3), np.uint8), 300, 400).shape
    (224, 299, 3)
    """
    h, w = image.shape[:2]
    target = width / height
    if abs(w / h - target) < 0.01:
        return image
    if w / h < target:
        new_h, new_w = h, round(h * target)
    else:
        new_h, new_w = round(w / target), w
    canvas = np.full((new_h, new_w, 3), 255, np.uint8)
    top, left = (new_h - h) // 2, (new_w - w) // 2
    canvas[top : top + h, left : left + w] = image[..., :3] if image.ndim == 3 else image[..., None]
    return canvas


def _top_name(prediction: Any) -> str:
    return verdict(prediction, k=1).top_name or "n/a"


def pipeline_strip(analysis: Analysis) -> None:
    """Every intermediate image of the pipeline in one row, in order, at one height (the
    square model input is shown on a white band, not stretched)."""
    cols = st.columns(len(analysis.steps))
    height, width = analysis.image.shape[:2]
    for col, (name, image) in zip(cols, analysis.steps.items(), strict=True):
        col.image(
            same_aspect(image, height, width),
            caption=STEP_LABELS.get(name, name),
            width="stretch",
        )


def probability_effect(analysis: Analysis) -> None:
    """The model's probability on the original photo and on the Lab's pipeline output."""
    validated = analysis.validated_prediction
    other = analysis.preprocessed_prediction
    cols = st.columns(2)
    cols[0].metric(
        "Original photo (validated input)",
        f"{validated.p_malignant:.1%}",
        help="What Diagnose reports with default settings.",
    )
    cols[0].caption(f"risk grade {validated.grade} · {_top_name(validated)}")
    if other is None:
        cols[1].caption("The preprocessed image was not classified.")
        return
    delta = round((other.p_malignant - validated.p_malignant) * 100, 1)
    cols[1].metric(
        "Lab-preprocessed image",
        f"{other.p_malignant:.1%}",
        delta=f"{delta:+.1f} points" if delta else "no change",
        delta_color="off",
        help="The same model given the pipeline output above (not how it was validated).",
    )
    cols[1].caption(f"risk grade {other.grade} · {_top_name(other)}")
