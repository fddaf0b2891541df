"""History page sections: the review badge, the visit timeline, two visits side by side,
the change table and the trends over time (plotly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from skinapp.case_info import days_between
from skinapp.io import read_image
from skinapp.store import CaseStore, Visit
from skinapp.store.change import (
    AREA_GROWTH,
    ASYMMETRY_RISE,
    DIAMETER_GROWTH,
    ChangeAssessment,
    LesionMeasures,
    assess_change,
    assess_lesion,
)
from skinapp.store.compare import align_on_lesion, align_pair, blend, flicker_gif
from skinapp.store.records import visit_differential_text
from skinapp.ui.charts import ALERT, PRIMARY

__all__ = [
    "COMPARE_MODES",
    "HEURISTIC_NOTE",
    "change_frame",
    "days_since_previous",
    "measures",
    "review_badge",
    "side_by_side",
    "timeline_frame",
    "trend_figure",
    "visit_label",
]

HEURISTIC_NOTE = (
    "The review flag is a **heuristic**: it fires on area growth over 20 %, diameter growth "
    "over 10 %, a new dermoscopic colour, an asymmetry rise over 0.10 or a higher risk grade "
    "between visits. It is meant to draw attention, is not validated, and does not replace "
    "comparing the photos yourself."
)


def measures(visit: Visit) -> LesionMeasures:
    """What the change rule needs from a stored visit."""
    return LesionMeasures.from_record(
        p_malignant=visit.p_malignant,
        grade=visit.grade,
        descriptors=visit.descriptors,
        image_size=visit.image_size,
    )


def visit_label(visit: Visit) -> str:
    """``"2024-05-01 · grade 2 · 41%"``."""
    return f"{visit.visit_date.isoformat()} · grade {visit.grade} · {visit.p_malignant:.0%}"


def review_badge(visits: Sequence[Visit]) -> ChangeAssessment | None:
    """A "Review" (or "No change flagged") badge for the lesion's follow-up, its reasons,
    and the heuristic note. Nothing with fewer than two visits."""
    result = assess_lesion([measures(v) for v in visits])
    if result is None:
        return None
    if result.flagged:
        st.badge("Review: change detected", icon=":material/flag:", color="red")
        st.markdown("\n".join(f"- {reason}" for reason in result.reasons))
    else:
        st.badge("No change flagged", icon=":material/check:", color="green")
    if result.not_assessed:
        st.caption(
            "Not assessed (no lesion outline in a visit): " + ", ".join(result.not_assessed) + "."
        )
    st.caption(HEURISTIC_NOTE)
    return result


def _sizes(visit: Visit, in_mm: bool) -> tuple[float | None, float | None]:
    d = visit.descriptors or {}
    if not d:
        return None, None
    if in_mm:
        return d.get("area_mm2"), d.get("diameter_mm")
    width, height = visit.image_size
    return (
        100.0 * d["area_px"] / (width * height),
        100.0 * d["diameter_px"] / max(width, height),
    )


def _in_mm(visits: Sequence[Visit]) -> bool:
    return all((v.descriptors or {}).get("area_mm2") is not None for v in visits)


def _units(in_mm: bool) -> tuple[str, str]:
    return ("mm²", "mm") if in_mm else ("% of photo", "% of long side")


def days_since_previous(visits: Sequence[Visit]) -> list[int | None]:
    """Days from each visit to the one before it (None for the first)."""
    return [None] + [days_between(a.visit_date, b.visit_date) for a, b in pairwise(visits)]


def timeline_frame(visits: Sequence[Visit]) -> pd.DataFrame:
    """One row per visit, oldest first: date, days since the previous visit, result, sizes,
    asymmetry, colours and notes."""
    in_mm = _in_mm(visits)
    area_unit, diameter_unit = _units(in_mm)
    rows = []
    for v, days in zip(visits, days_since_previous(visits), strict=True):
        d = v.descriptors or {}
        area, diameter = _sizes(v, in_mm)
        rows.append(
            {
                "Visit date": v.visit_date,
                "Days since previous": days,
                "Risk grade": v.grade,
                "Probability": v.p_malignant,
                "Differential": visit_differential_text(v) or "not stored",
                f"Area ({area_unit})": area,
                f"Diameter ({diameter_unit})": diameter,
                "Asymmetry": d.get("asymmetry"),
                "Colours": ", ".join(c.replace("_", " ") for c in d.get("colors", [])),
                "Notes": v.notes,
                "Body site": v.body_site,
                "Model": v.model_version,
            }
        )
    return pd.DataFrame(rows).round(
        {f"Area ({area_unit})": 2, f"Diameter ({diameter_unit})": 2, "Asymmetry": 2}
    )


def trend_figure(
    visits: Sequence[Visit], thresholds: Mapping[str, float] | None = None
) -> go.Figure:
    """Area, diameter, asymmetry, colour count, probability and grade against the date.

    The y-axes never zoom onto tiny changes: sizes start at zero, asymmetry and probability
    span 0-1, colours 0-6, grades 1-3; the review rule's thresholds (from the first visit)
    and, when given, the grade thresholds ``t1``/``t2`` are drawn as dashed lines, so a rise
    looks steep only when it crosses one.
    """
    in_mm = _in_mm(visits)
    area_unit, diameter_unit = _units(in_mm)
    dates = [v.visit_date for v in visits]
    area = [_sizes(v, in_mm)[0] for v in visits]
    diameter = [_sizes(v, in_mm)[1] for v in visits]
    asymmetry = [(v.descriptors or {}).get("asymmetry") for v in visits]
    series = {
        f"Area ({area_unit})": area,
        f"Diameter ({diameter_unit})": diameter,
        "Asymmetry (0-1)": asymmetry,
        "Colour count": [(v.descriptors or {}).get("color_count") for v in visits],
        "Probability of malignancy": [v.p_malignant for v in visits],
        "Risk grade (1-3)": [v.grade for v in visits],
    }
    fig = make_subplots(rows=2, cols=3, subplot_titles=list(series), vertical_spacing=0.18)
    for i, (name, values) in enumerate(series.items()):
        colour = ALERT if name.startswith(("Probability", "Risk")) else PRIMARY
        fig.add_trace(
            go.Scatter(x=dates, y=values, mode="lines+markers", name=name, line={"color": colour}),
            row=i // 3 + 1,
            col=i % 3 + 1,
        )

    def line(y: float | None, text: str, row: int, col: int) -> None:
        if y is not None:
            fig.add_hline(
                y=y,
                line_dash="dash",
                line_color="#94a3b8",
                annotation_text=text,
                annotation_font_size=10,
                annotation_position="top left",
                row=row,
                col=col,
            )

    def top(values: Sequence[float | None], floor: float) -> float:
        present = [v for v in values if v is not None]
        return max([floor, *present]) * 1.35 if present else floor

    first_area, first_diameter, first_asym = area[0], diameter[0], asymmetry[0]
    review_area = None if first_area is None else first_area * (1 + AREA_GROWTH)
    review_diam = None if first_diameter is None else first_diameter * (1 + DIAMETER_GROWTH)
    line(review_area, f"review: +{AREA_GROWTH:.0%}", 1, 1)
    line(review_diam, f"review: +{DIAMETER_GROWTH:.0%}", 1, 2)
    line(
        None if first_asym is None else min(1.0, first_asym + ASYMMETRY_RISE),
        f"review: +{ASYMMETRY_RISE:.2f}",
        1,
        3,
    )
    fig.update_yaxes(range=[0, top([*area, review_area], 1e-6)], row=1, col=1)
    fig.update_yaxes(range=[0, top([*diameter, review_diam], 1e-6)], row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=3)
    fig.update_yaxes(range=[0, 6.5], dtick=1, row=2, col=1)
    if thresholds:
        line(thresholds.get("t1"), "grade 2 from here", 2, 2)
        line(thresholds.get("t2"), "grade 3 from here", 2, 2)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=2, col=2)
    fig.update_yaxes(range=[0.5, 3.5], dtick=1, row=2, col=3)
    fig.update_layout(showlegend=False, height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def change_frame(first: Visit, second: Visit) -> tuple[pd.DataFrame, ChangeAssessment]:
    """The measures of two visits and their change, as a table, and the rule's verdict."""
    result = assess_change(measures(first), measures(second))
    in_mm = result.size_unit == "mm"
    area_unit, diameter_unit = _units(in_mm)
    (a1, d1), (a2, d2) = _sizes(first, in_mm), _sizes(second, in_mm)
    c1 = (first.descriptors or {}).get("colors", [])
    c2 = (second.descriptors or {}).get("colors", [])

    def pct(change: float | None) -> str:
        return "n/a" if change is None else f"{change:+.0%}"

    def num(value: float | None, spec: str = ".2f") -> str:
        return "n/a" if value is None else format(value, spec)

    rows = [
        (f"Area ({area_unit})", num(a1), num(a2), pct(result.area_change)),
        (f"Diameter ({diameter_unit})", num(d1), num(d2), pct(result.diameter_change)),
        (
            "Asymmetry",
            num((first.descriptors or {}).get("asymmetry")),
            num((second.descriptors or {}).get("asymmetry")),
            num(result.asymmetry_change, "+.2f"),
        ),
        (
            "Colours",
            f"{len(c1)} ({_names(c1)})",
            f"{len(c2)} ({_names(c2)})",
            f"new: {_names(result.new_colors)}" if result.new_colors else "no new colour",
        ),
        (
            "Probability",
            f"{first.p_malignant:.1%}",
            f"{second.p_malignant:.1%}",
            f"{result.p_change * 100:+.1f} points",
        ),
        ("Risk grade", str(first.grade), str(second.grade), f"{result.grade_change:+d}"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "Measure",
            first.visit_date.isoformat(),
            second.visit_date.isoformat() + " ",  # unique even on the same day
            "Change",
        ],
    )
    return frame, result


#: How two visits can be compared.
COMPARE_MODES = ("Side by side", "Overlay (fade)", "Flicker")


def side_by_side(
    case_store: CaseStore, first: Visit, second: Visit, *, mode: str = COMPARE_MODES[0]
) -> None:
    """The two photos at one scale with their outlines (side by side, faded into each other
    or flickering, lesions aligned on their outline's centre), and the change table."""
    photos = (read_image(case_store.image(first.id)), read_image(case_store.image(second.id)))
    args = (
        photos[0],
        first.contour_array,
        first.mm_per_pixel,
        photos[1],
        second.contour_array,
        second.mm_per_pixel,
    )
    if mode == COMPARE_MODES[0]:
        pair = align_pair(*args)
        left, right = st.columns(2)
        left.image(pair.first, caption=f"Earlier · {visit_label(first)}", width="stretch")
        right.image(pair.second, caption=f"Later · {visit_label(second)}", width="stretch")
    else:
        pair = align_on_lesion(*args)
        _, middle, _ = st.columns([1, 3, 1])
        with middle:
            if mode == COMPARE_MODES[1]:
                weight = st.slider(
                    "Earlier ← fade → later", 0.0, 1.0, 0.5, 0.05, key="history.fade"
                )
                st.image(blend(pair.first, pair.second, weight), width="stretch")
            else:
                st.image(flicker_gif(pair.first, pair.second), width="stretch")
                st.caption(
                    f"Flips every 0.7 s between {first.visit_date} and {second.visit_date}: "
                    "what moves has changed."
                )
    st.caption(pair.note + " Green: the automatic lesion outline of each visit.")
    frame, result = change_frame(first, second)
    st.dataframe(frame, hide_index=True, width="stretch")
    if result.flagged:
        st.badge("Review: change between these visits", icon=":material/flag:", color="red")


def _names(colors: Sequence[str]) -> str:
    return ", ".join(c.replace("_", " ") for c in colors) or "none"
