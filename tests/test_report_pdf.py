"""Tests for skinapp.report_pdf: a printable report with the result, the case and a
signature line, and nothing that identifies the upload.

Behaviours: the report's text has the grade with its meaning (risk grade, not a stage), the
probability, the interval when there is one, quality checks, ABCD, model version and date;
a saved case adds pseudonym, lesion, site, visit date and days since the previous visit;
notes are printed, else lines are left to write on; a differential is listed when the
prediction has one; the heat-map scale and a blank-map note appear; no file name; text
outside Latin-1 does not break it; a saved visit and a lesion's timeline print too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from skinapp.analysis import AnalysisSettings, analyze
from skinapp.heatmap import is_blank, legend_bar
from skinapp.io import read_image
from skinapp.model.grading import GRADE_TEXT
from skinapp.report_pdf import (
    CaseInfo,
    days_between,
    differential_rows,
    pdf_text,
    render_pdf,
    render_timeline_pdf,
    render_visit_pdf,
)
from skinapp.store.records import Visit
from tests.fakes import FakeClassifier
from tests.store.helpers import lesion_photo

SAMPLE = Path(__file__).resolve().parent.parent / "skinapp" / "samples" / "ISIC_0000401.jpg"
WHEN = dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.UTC)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def analysis():
    return analyze(read_image(SAMPLE), AnalysisSettings(), FakeClassifier(p=0.83, grade=3))


def test_report_has_grade_meaning_probability_model_and_date(analysis):
    pdf = render_pdf(
        analysis,
        model_version="abc123def456",
        created_at=WHEN,
        performance={"sensitivity": 0.91, "specificity": 0.72, "n": 512},
    )
    assert pdf.startswith(b"%PDF-")
    text = _flat(_text(pdf))
    assert "Risk grade 3 of 3" in text
    assert "not a cancer stage" in text
    assert GRADE_TEXT[3].split(":")[0] in text
    assert "Decision support, not a diagnosis" in text
    assert "83.0%" in text
    assert "abc123def456" in text and "2026-03-04 15:30 UTC" in text
    assert "sensitivity 91%" in text and "512 held-out test lesions" in text
    assert "single view" in text  # no TTA interval in this prediction
    assert "Photo quality checks" in text and "focus" in text
    assert "Asymmetry" in text and "Diameter" in text
    assert "evidence for malignancy" in text
    assert "Clinician (name and signature)" in text
    assert "Patient pseudonym" not in text  # not saved: no case block


def test_saved_case_notes_and_interval_are_printed(analysis):
    pred = dataclasses.replace(analysis.prediction, p_low=0.71, p_high=0.9, n_views=8)
    case = CaseInfo("P-0042", "back-left-3", "back", dt.date(2026, 3, 1), 91)
    pdf = render_pdf(
        dataclasses.replace(analysis, prediction=pred),
        model_version="v1",
        created_at=WHEN,
        case=case,
        notes="Follow up in 3 months – diameter ≥ 6 mm.",
    )
    text = _flat(_text(pdf))
    for expected in ("P-0042", "back-left-3", "Body site back", "2026-03-01", "91"):
        assert expected in text
    assert "Days since the previous visit 91" in text
    assert "71.0% - 90.0%" in text and "8 views" in text
    assert "Follow up in 3 months - diameter >= 6 mm." in text


def test_no_file_name_and_no_image_metadata(analysis):
    pdf = render_pdf(analysis, model_version="v1", created_at=WHEN)
    assert b"ISIC_0000401" not in pdf
    assert b"Exif" not in pdf and b"GPS" not in pdf


def test_differential_is_listed_when_the_prediction_has_one(analysis):
    from skinapp.model.differential import Differential

    class WithDifferential:
        def __init__(self, pred):
            self.__dict__.update(dataclasses.asdict(pred))
            self.differential = Differential(
                probs={
                    "akiec": 0.0,
                    "bcc": 0.09,
                    "bkl": 0.0,
                    "df": 0.0,
                    "mel": 0.61,
                    "nv": 0.3,
                    "vasc": 0.0,
                },
                top="mel",
                malignant=("akiec", "bcc", "mel"),
            )

    pdf = render_pdf(
        dataclasses.replace(analysis, prediction=WithDifferential(analysis.prediction)),
        model_version="v1",
        created_at=WHEN,
    )
    text = _flat(_text(pdf))
    assert "Differential" in text
    assert text.index("melanoma (top call) 61.0%") < text.index("melanocytic nevus (mole) 30.0%")
    assert "basal cell carcinoma 9.0%" in text
    assert differential_rows(None) == []
    assert differential_rows([("a", 0.2), ("b", 0.5)]) == [("b", "50.0%"), ("a", "20.0%")]


def test_a_blank_heat_map_is_explained(analysis):
    blank = dataclasses.replace(analysis.prediction, heatmap=np.zeros((7, 7), np.float32))
    text = _flat(
        _text(render_pdf(dataclasses.replace(analysis, prediction=blank), model_version="v"))
    )
    assert "heat map is blank" in text
    assert is_blank(np.zeros((7, 7))) and not is_blank(analysis.prediction.heatmap)
    bar = legend_bar(100, 5)
    assert bar.shape == (5, 100, 3) and bar[0, 0, 2] > bar[0, 0, 0]  # blue low, red high
    assert bar[0, -1, 0] > bar[0, -1, 2]


def test_pdf_text_spells_out_characters_outside_latin1():
    assert pdf_text("p ≥ 0.5 – ok “x” …") == 'p >= 0.5 - ok "x" ...'
    assert pdf_text("日本") == "??"
    assert days_between(dt.date(2024, 1, 1), dt.date(2024, 3, 1)) == 60
    assert days_between(None, dt.date(2024, 3, 1)) is None


def _visit(visit_id: int, date: dt.date, p: float, notes: str = "") -> tuple[Visit, np.ndarray]:
    image, contour = lesion_photo(18 + visit_id)
    return (
        Visit(
            id=visit_id,
            pseudonym="P-7",
            lesion_id="L2",
            body_site="chest",
            visit_date=date,
            created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            model_version="m1",
            p_malignant=p,
            grade=1 if p < 0.3 else 2,
            label="benign",
            mm_per_pixel=0.05,
            image_size=(image.shape[1], image.shape[0]),
            descriptors={"area_px": 1000, "area_mm2": 2.5, "diameter_px": 40, "diameter_mm": 2.0},
            settings={},
            contour=contour.tolist(),
            notes=notes,
        ),
        image,
    )


def test_a_saved_visit_prints_with_its_notes_and_days_since_the_previous():
    (first, _), (second, image) = (
        _visit(1, dt.date(2024, 1, 10), 0.2),
        _visit(2, dt.date(2024, 4, 9), 0.35, notes="Patient reports itching."),
    )
    text = _flat(_text(render_visit_pdf(second, image, previous=first, created_at=WHEN)))
    assert "P-7" in text and "L2" in text and "chest" in text and "2024-04-09" in text
    assert "Days since the previous visit 90" in text
    assert "Patient reports itching." in text
    assert "Risk grade 2 of 3" in text and "35.0%" in text


def test_a_lesion_timeline_lists_every_visit_with_the_days_between():
    pairs = [
        _visit(1, dt.date(2024, 1, 10), 0.2, notes="Baseline."),
        _visit(2, dt.date(2024, 4, 9), 0.35),
        _visit(3, dt.date(2024, 7, 8), 0.4, notes="Refer."),
    ]
    pdf = render_timeline_pdf([v for v, _ in pairs], [im for _, im in pairs], created_at=WHEN)
    text = _flat(_text(pdf))
    assert "lesion timeline" in text
    assert "2024-01-10" in text and "2024-07-08" in text
    assert "2024-04-09 90" in text and "2024-07-08 90" in text
    assert "Baseline." in text and "Refer." in text
    with pytest.raises(ValueError, match="One image per visit"):
        render_timeline_pdf([v for v, _ in pairs], [], created_at=WHEN)


def test_no_pdf_for_a_photo_that_is_not_a_lesion_and_unusual_says_so(analysis):
    from skinapp.errors import NotALesionError

    def with_prediction(**fields):
        pred = dataclasses.replace(analysis.prediction, **fields)
        return dataclasses.replace(analysis, prediction=pred)

    with pytest.raises(NotALesionError, match="not a dermoscopic image"):
        render_pdf(with_prediction(ood=True), model_version="m1", created_at=WHEN)
    text = _flat(_text(render_pdf(with_prediction(unusual=True), model_version="m1")))
    assert "widened because this lesion is unlike the training photos" in text
