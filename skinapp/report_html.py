"""A self-contained HTML report of one analysis, for download or printing.

Everything is inside one file: the images are base64 PNGs written by
:func:`skinapp.io.encode_png` (no EXIF, GPS, text or colour-profile chunks), the style is
inline, and nothing is fetched from the network. The report holds no patient data and no
file name: only the images, the result, the descriptors, the model version and the date.
Every text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from skinapp.analysis import Analysis
from skinapp.errors import NotALesionError
from skinapp.io import downscale_max_side, encode_png
from skinapp.model.grading import GRADE_DISCLAIMER
from skinapp.model.verdict import Verdict, verdict
from skinapp.trust.decision import decide

__all__ = ["REPORT_MAX_SIDE", "descriptor_rows", "format_value", "render_report"]

#: Long side (px) of the images embedded in the report (keeps the file near 1 MB).
REPORT_MAX_SIDE = 512

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;
max-width:960px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{color:#0e7490;font-size:1.6em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #e2e8f0;padding-bottom:4px}.meta{color:#64748b;font-size:.9em}
.disclaimer{background:#fff7ed;border:1px solid #fdba74;border-radius:8px;padding:10px 14px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
figure{margin:0}figure img{width:100%;border-radius:6px;border:1px solid #e2e8f0}
figcaption{font-size:.85em;color:#475569;text-align:center}
.result{display:flex;gap:24px;flex-wrap:wrap}.card{border:1px solid #e2e8f0;border-radius:8px;
padding:10px 16px;min-width:160px}.card b{display:block;font-size:1.4em}
.g1{border-left:6px solid #0e7490}.g2{border-left:6px solid #d97706}
.g3{border-left:6px solid #b91c1c}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e2e8f0;padding:4px 8px;
text-align:left}ul{padding-left:1.2em}
@media print{body{margin:0}.disclaimer{break-inside:avoid}}
"""


def _img(image: np.ndarray, caption: str) -> str:
    small = downscale_max_side(image, REPORT_MAX_SIDE)
    data = base64.b64encode(encode_png(small)).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def format_value(value: Any) -> str:
    """A descriptor value as short text: 3 significant digits, lists joined, None as "—"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(format_value(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def _num(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _color_name(name: str) -> str:
    return str(name).replace("_", " ")


def descriptor_rows(values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The ABCD descriptors as ``(letter, measure, value)`` rows for people to read.

    Parameters
    ----------
    values : mapping
        ``Descriptors.to_dict()``. Lengths in pixels are of the analysed (working) image;
        millimetres appear when the scale was given.

    Returns
    -------
    list of (str, str, str)
        Asymmetry, border compactness and fractal dimension, colours, diameter, area;
        entries the mapping does not have are listed as they are, after these.
    """
    d = dict(values)
    rows: list[tuple[str, str, str]] = []
    used: set[str] = set()

    def add(letter: str, measure: str, text: str, *keys: str) -> None:
        if all(k in d for k in keys):
            rows.append((letter, measure, text))
            used.update(keys)

    if "asymmetry" in d:
        axes = (
            f" (major axis {_num(d.get('asymmetry_major'), '.2f')}, "
            f"minor axis {_num(d.get('asymmetry_minor'), '.2f')})"
            if "asymmetry_major" in d
            else ""
        )
        add(
            "A",
            "Asymmetry (0 = symmetric, 1 = maximal)",
            _num(d["asymmetry"], ".2f") + axes,
            "asymmetry",
        )
        used.update({"asymmetry_major", "asymmetry_minor", "orientation_deg"})
    if "compactness" in d:
        add(
            "B",
            "Border compactness (1 = disc, higher = irregular)",
            _num(d["compactness"], ".2f"),
            "compactness",
        )
    if "fractal_dimension" in d:
        add(
            "B",
            "Border fractal dimension (~1 = smooth)",
            _num(d["fractal_dimension"], ".2f"),
            "fractal_dimension",
        )
    if "colors" in d:
        names = [_color_name(c) for c in d["colors"]]
        add(
            "C",
            "Colours present (of white, red, light/dark brown, blue-gray, black)",
            f"{', '.join(names) or 'none'} ({len(names)})",
            "colors",
        )
        used.update({"color_count", "color_shares"})
    if "diameter_px" in d:
        mm = d.get("diameter_mm")
        text = f"{d['diameter_px']:.0f} px"
        text = f"{mm:.1f} mm ({text})" if mm is not None else f"{text} (no scale given)"
        add("D", "Diameter (largest distance across)", text, "diameter_px")
        used.update({"diameter_mm", "major_axis_px", "major_axis_mm", "mm_per_pixel"})
    if "area_px" in d:
        mm2 = d.get("area_mm2")
        text = f"{d['area_px']:,} px" + (f" · {mm2:.1f} mm²" if mm2 is not None else "")
        add("", "Area", text, "area_px")
        used.update({"area_mm2", "perimeter_px"})
    for key, value in d.items():
        if key not in used and not isinstance(value, np.ndarray):
            rows.append(("", key.replace("_", " "), format_value(value)))
    return rows


def _descriptor_rows(analysis: Analysis) -> str:
    if analysis.descriptors is None:
        return "<p>No lesion was segmented, so no descriptors were computed.</p>"
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(letter)}</td><th>{esc(measure)}</th><td>{esc(value)}</td></tr>"
        for letter, measure, value in descriptor_rows(analysis.descriptors.to_dict())
    )
    return f"<table>{rows}</table>"


def _differential(v: Verdict) -> str:
    if not v.differential:
        return '<p class="meta">No differential diagnosis for this model.</p>'
    rows = "".join(
        f"<tr><td>{html.escape(line.name)}</td><td>{line.probability:.1%}</td>"
        f"<td>{'top call' if line.code == v.top else ''}</td></tr>"
        for line in v.differential
    )
    return (
        "<h3>Differential diagnosis (most likely first)</h3>"
        "<table><tr><th>Diagnosis</th><th>Probability (calibrated)</th><th></th></tr>"
        f"{rows}</table>"
        f'<p class="meta">Answer: {html.escape(v.answer)}. Melanoma, basal cell carcinoma '
        f"and actinic keratosis together: {v.p_malignant:.1%}, the probability the risk grade "
        "is read from.</p>"
    )


def _performance(performance: Mapping[str, Any] | None, answer: str = "") -> str:
    if not performance:
        return ""
    parts = []
    if performance.get("sensitivity") is not None:
        parts.append(f"sensitivity {performance['sensitivity']:.0%}")
    if performance.get("specificity") is not None:
        parts.append(f"specificity {performance['specificity']:.0%}")
    if not parts:
        return ""
    n = performance.get("n")
    where = f" on {n} held-out test lesions" if n else ""
    what = f"this answer ({answer})" if answer else "the model"
    return (
        f"<p>Measured performance of {html.escape(what)}{where} at its operating threshold: "
        f"{html.escape(', '.join(parts))}.</p>"
    )


def render_report(
    analysis: Analysis,
    *,
    model_version: str,
    created_at: datetime | None = None,
    performance: Mapping[str, Any] | None = None,
) -> str:
    """Render one analysis as a self-contained HTML page.

    Parameters
    ----------
    analysis : Analysis
        The result of :func:`skinapp.analysis.analyze`.
    model_version : str
        The model's version (e.g. ``Classifier.version``).
    created_at : datetime, optional
        When the analysis was made (default: now, UTC). Naive datetimes are taken as UTC.
    performance : mapping, optional
        ``sensitivity``, ``specificity``, ``n`` of the model at its operating threshold
        (from ``metrics.json``), shown with the result.

    Returns
    -------
    str
        A complete HTML document (UTF-8) with the images embedded as PNG data URIs.

    Raises
    ------
    NotALesionError
        The photo is not a dermoscopic image of a skin lesion: there is nothing to report.
    """
    if decide(analysis.prediction).not_a_lesion:
        raise NotALesionError(
            "No report for this photo: it is not a dermoscopic image of a skin lesion."
        )
    created_at = created_at or datetime.now(UTC)
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    v = verdict(analysis.prediction)
    grade = v.grade
    esc = html.escape
    notes = "".join(f"<li>{esc(n)}</li>" for n in analysis.notes)
    images = "".join(
        (
            _img(analysis.image, "Photo"),
            _img(analysis.preprocessed, "Hair removed"),
            _img(analysis.contour_overlay, "Lesion outline"),
            _img(analysis.heatmap_overlay, "Heat map: where the model looked"),
        )
    )
    input_note = (
        "the Lab-preprocessed image (not the validated input)"
        if analysis.model_input == "preprocessed"
        else "the original photo (validated input preparation)"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>skinapp lesion report</title><style>{_STYLE}</style></head>
<body>
<h1>skinapp lesion report</h1>
<p class="meta">Created {esc(created_at.strftime("%Y-%m-%d %H:%M %Z"))} ·
model version {esc(model_version)}</p>
<p class="disclaimer"><b>Decision support, not a diagnosis.</b> {esc(GRADE_DISCLAIMER)}</p>
<h2>Result</h2>
<div class="result">
<div class="card g{grade}"><span>Risk grade (not a stage)</span><b>{grade} of 3</b></div>
<div class="card"><span>Probability of malignancy (calibrated)</span>
<b>{v.p_malignant:.1%}</b></div>
</div>
<p><b>Grade {grade}:</b> {esc(v.advice)}</p>
{_differential(v)}
{_performance(performance, v.answer)}
<p class="meta">The model was given {esc(input_note)}.</p>
<h2>Images</h2>
<div class="grid">{images}</div>
<h2>Lesion descriptors (ABCD)</h2>
<p class="meta">Measurements of the segmented lesion, for discussion; none of them is a
diagnosis.</p>
{_descriptor_rows(analysis)}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<p class="meta">Generated by skinapp. This report contains no patient identifiers and no
image metadata.</p>
</body></html>
"""
