"""Printable PDF reports (fpdf2, pure Python): one analysis, one saved visit, one lesion's
timeline.

What goes in: the images (photo, outline, heat map with its colour scale), the risk grade
with its meaning (a risk grade, not a stage), the calibrated probability and its interval
over the TTA views, the differential when the analysis has one, the photo-quality checks,
the ABCD descriptors, the model version and the date; for a saved visit also the pseudonym,
lesion, body site, visit date and the days since the previous visit; then a notes field and
a signature line. What never goes in: a file name or any image metadata (the images are
re-encoded from their pixels). The document's own metadata names skinapp and the date only.

The layout (fonts, tables, images, signature line) is in :mod:`skinapp.pdf_layout`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from skinapp.errors import NotALesionError
from skinapp.heatmap import BLANK_NOTE, HEATMAP_CAPTION, is_blank
from skinapp.model.verdict import verdict
from skinapp.pdf_layout import (
    MUTED,
    CaseInfo,
    case_rows,
    days_between,
    descriptor_table,
    grade_block,
    new_doc,
    pdf_text,
    utc,
)
from skinapp.trust.decision import decide

if TYPE_CHECKING:
    from skinapp.analysis import Analysis
    from skinapp.store import Visit

__all__ = [
    "CaseInfo",
    "days_between",
    "pdf_text",
    "render_pdf",
    "render_timeline_pdf",
    "render_visit_pdf",
]


def _interval_text(pred: Any) -> str:
    decision = decide(pred)
    if decision.unusual:
        return (
            f"Calibrated; uncertainty range {decision.p_low:.1%} - {decision.p_high:.1%}, "
            "widened because this lesion is unlike the training photos (unusual lesion): "
            "rely on the grade less."
        )
    low, high = getattr(pred, "p_low", None), getattr(pred, "p_high", None)
    n_views = int(getattr(pred, "n_views", 1) or 1)
    if low is None or high is None:
        return "Calibrated; single view of the photo (no uncertainty interval computed)."
    text = (
        f"Calibrated; average of {n_views} views (flips and quarter turns of the photo), "
        f"range {low:.1%} - {high:.1%} over those views."
    )
    if getattr(pred, "unstable", False):
        text += " The views disagree on the grade: treat it as borderline."
    return text


def differential_rows(differential: Any) -> list[tuple[str, str]]:
    """``(diagnosis, probability)`` rows from a differential in any of the shapes the
    prediction may carry: a mapping name → p, pairs, or objects with ``name``/``label`` and
    ``p``/``probability``; sorted most likely first."""
    if not differential:
        return []
    if isinstance(differential, Mapping):
        pairs = list(differential.items())
    else:
        pairs = []
        for item in differential:
            if isinstance(item, (tuple, list)) and len(item) >= 2:
                pairs.append((item[0], item[1]))
            else:
                name = getattr(item, "name", None) or getattr(item, "label", None)
                p = getattr(item, "p", None)
                p = getattr(item, "probability", None) if p is None else p
                if name is not None and p is not None:
                    pairs.append((name, p))
    pairs = [(str(n), float(p)) for n, p in pairs if p is not None]
    pairs.sort(key=lambda np_: -np_[1])
    return [(name.replace("_", " "), f"{p:.1%}") for name, p in pairs]


def _quality_rows(analysis: Analysis) -> list[tuple[str, str]]:
    report = analysis.quality
    if report is None:
        return [("Photo quality", "not checked")]
    rows = []
    for check in report.checks:
        if check.passed:
            rows.append((check.name.replace("_", " "), "passed"))
        else:
            rows.append((check.name.replace("_", " "), f"FAILED: {check.message}"))
    return rows


def _performance_line(performance: Mapping[str, Any] | None, answer: str = "") -> str:
    if not performance or performance.get("sensitivity") is None:
        return ""
    n = performance.get("n")
    where = f" on {n} held-out test lesions" if n else ""
    spec = performance.get("specificity")
    what = f"this answer ({answer})" if answer else "the model"
    return (
        f"Measured performance of {what}{where}: sensitivity "
        f"{performance['sensitivity']:.0%}"
        + (f", specificity {spec:.0%}" if spec is not None else "")
        + "."
    )


def render_pdf(
    analysis: Analysis,
    *,
    model_version: str,
    created_at: dt.datetime | None = None,
    performance: Mapping[str, Any] | None = None,
    case: CaseInfo | None = None,
    notes: str = "",
) -> bytes:
    """One analysis as a printable PDF.

    Parameters
    ----------
    analysis : Analysis
        The result of :func:`skinapp.analysis.analyze`.
    model_version : str
        The model's version.
    created_at : datetime, optional
        Date of the report (default now, UTC; naive is taken as UTC).
    performance : mapping, optional
        ``sensitivity``, ``specificity``, ``n`` at the operating threshold.
    case : CaseInfo, optional
        The saved case this analysis belongs to (pseudonym, lesion, site, dates).
    notes : str
        The clinician's notes; empty leaves ruled lines to write on.

    Returns
    -------
    bytes
        The PDF document.

    Raises
    ------
    NotALesionError
        The photo is not a dermoscopic image of a skin lesion: there is nothing to report.
    """
    created_at = utc(created_at)
    pred = analysis.prediction
    if decide(pred).not_a_lesion:
        raise NotALesionError(
            "No report for this photo: it is not a dermoscopic image of a skin lesion."
        )
    doc = new_doc("skinapp lesion report", created_at, model_version)
    if case is not None:
        doc.heading("Case")
        doc.rows(case_rows(case), first=55)
    doc.heading("Result")
    grade_block(doc, int(pred.grade), float(pred.p_malignant), _interval_text(pred))
    line = _performance_line(performance, verdict(pred).answer)
    if line:
        doc.para(line, size=8.5)
    if analysis.model_input == "preprocessed":
        doc.para(
            "The model was given the Lab-preprocessed image, not the validated input: the "
            "measured performance may not apply.",
            size=8.5,
            style="B",
        )
    v = verdict(pred)
    differential = differential_rows(
        [
            (line.name + (" (top call)" if line.code == v.top else ""), line.probability)
            for line in v.differential
        ]
    )
    if differential:
        doc.heading(f"Differential (most likely first; calibrated, {v.answer})")
        doc.rows(differential, first=85)
    doc.heading("Images")
    doc.images(
        [
            (analysis.image, "Photo"),
            (analysis.contour_overlay, "Lesion outline (automatic)"),
            (analysis.heatmap_overlay, HEATMAP_CAPTION),
        ]
    )
    doc.legend()
    if is_blank(pred.heatmap):
        doc.para(BLANK_NOTE, size=8)
    doc.heading("Photo quality checks")
    doc.rows(_quality_rows(analysis), first=40)
    descriptor_table(doc, analysis.descriptors.to_dict() if analysis.descriptors else None)
    if analysis.notes:
        doc.heading("Notes from the analysis")
        for note in analysis.notes:
            doc.para(f"- {note}", size=8.5)
    doc.notes_and_signature(notes)
    return bytes(doc.output())


def render_visit_pdf(
    visit: Visit,
    image: np.ndarray,
    *,
    previous: Visit | None = None,
    created_at: dt.datetime | None = None,
) -> bytes:
    """One saved visit (photo and outline from the store; no heat map is stored) as a PDF,
    with its notes."""
    from skinapp.analysis import draw_contour  # the drawing helper; no import circle

    created_at = utc(created_at)
    doc = new_doc("skinapp visit report", created_at, visit.model_version)
    doc.heading("Case")
    doc.rows(
        case_rows(
            CaseInfo(
                visit.pseudonym,
                visit.lesion_id,
                visit.body_site,
                visit.visit_date,
                days_between(previous.visit_date if previous else None, visit.visit_date),
            )
        ),
        first=55,
    )
    doc.heading("Result saved with the visit")
    grade_block(
        doc,
        int(visit.grade),
        float(visit.p_malignant),
        f"Calibrated; analysed {visit.created_at.strftime('%Y-%m-%d')} by model "
        f"{visit.model_version}.",
    )
    doc.heading("Images")
    outline = draw_contour(image, visit.contour_array) if len(visit.contour) >= 3 else image
    doc.images([(image, "Photo"), (outline, "Lesion outline (automatic)")], per_row=3)
    doc.para(
        "The heat map and the photo-quality checks are not stored with a visit; re-analyse "
        "the photo on Diagnose to see them.",
        size=7.5,
        color=MUTED,
    )
    descriptor_table(doc, visit.descriptors)
    doc.notes_and_signature(getattr(visit, "notes", "") or "")
    return bytes(doc.output())


def render_timeline_pdf(
    visits: Sequence[Visit],
    images: Sequence[np.ndarray],
    *,
    created_at: dt.datetime | None = None,
) -> bytes:
    """One lesion's visits, oldest first: a table of the measures and their change, the
    photos with their outlines, the notes of each visit, and a signature line.

    Raises
    ------
    ValueError
        No visits, or not one image per visit.
    """
    from skinapp.analysis import draw_contour

    if not visits or len(images) != len(visits):
        raise ValueError(
            f"One image per visit is needed. Received: {len(visits)} visits, {len(images)} images"
        )
    created_at = utc(created_at)
    first = visits[0]
    doc = new_doc("skinapp lesion timeline", created_at, visits[-1].model_version)
    doc.heading("Case")
    doc.rows(
        [
            ("Patient pseudonym", first.pseudonym),
            ("Lesion", first.lesion_id),
            ("Body site", first.body_site or "not given"),
            ("Visits", f"{len(visits)}, {first.visit_date} to {visits[-1].visit_date}"),
        ],
        first=55,
    )
    doc.heading("Visits")
    header = ("Date", "Days since previous", "Grade", "Probability", "Area", "Diameter", "Asym.")
    widths = (22, 34, 14, 22, 32, 30, 18)
    doc.set_font("Helvetica", "B", 8)
    for text, width in zip(header, widths, strict=True):
        doc.cell(width, 5, text, border="B")
    doc.ln()
    doc.set_font("Helvetica", "", 8)
    previous = None
    for visit in visits:
        d = visit.descriptors or {}
        days = days_between(previous.visit_date if previous else None, visit.visit_date)
        cells = (
            visit.visit_date.isoformat(),
            "-" if days is None else str(days),
            str(visit.grade),
            f"{visit.p_malignant:.1%}",
            _size(d, "area_mm2", "area_px", "mm2"),
            _size(d, "diameter_mm", "diameter_px", "mm"),
            "-" if d.get("asymmetry") is None else f"{d['asymmetry']:.2f}",
        )
        for text, width in zip(cells, widths, strict=True):
            doc.cell(width, 5, pdf_text(text), border="B")
        doc.ln()
        previous = visit
    doc.para(
        "Sizes in millimetres when a scale was given, else in pixels of each stored photo "
        "(not comparable between photos taken at different distances).",
        size=7.5,
        color=MUTED,
    )
    notes = [(v.visit_date.isoformat(), getattr(v, "notes", "") or "") for v in visits]
    if any(text.strip() for _, text in notes):
        doc.heading("Notes per visit")
        doc.rows([(date, text) for date, text in notes if text.strip()], first=30)
    doc.heading("Photos with the automatic outline")
    doc.images(
        [
            (
                draw_contour(image, v.contour_array) if len(v.contour) >= 3 else image,
                f"{v.visit_date.isoformat()} - grade {v.grade} - {v.p_malignant:.0%}",
            )
            for v, image in zip(visits, images, strict=True)
        ],
        per_row=3,
    )
    doc.notes_and_signature("")
    return bytes(doc.output())


def _size(d: Mapping[str, Any], mm_key: str, px_key: str, unit: str) -> str:
    if d.get(mm_key) is not None:
        return f"{d[mm_key]:.1f} " + unit.replace("2", "\u00b2")
    if d.get(px_key) is not None:
        return f"{float(d[px_key]):,.0f} px" + ("\u00b2" if unit == "mm2" else "")
    return "-"
