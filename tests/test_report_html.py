"""Tests for skinapp.report_html: a self-contained report without metadata or patient data."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinapp.analysis import AnalysisSettings, analyze, analyze_bytes
from skinapp.io import read_image
from skinapp.model.grading import GRADE_TEXT
from skinapp.report_html import REPORT_MAX_SIDE, descriptor_rows, format_value, render_report
from tests.fakes import FakeClassifier, benign_differential

SAMPLE = Path(__file__).resolve().parent.parent / "skinapp" / "samples" / "ISIC_0000401.jpg"
WHEN = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)


def _png_chunks(data: bytes) -> list[str]:
    """Chunk types of a PNG file, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return chunks


def _embedded_pngs(page: str) -> list[bytes]:
    return [
        base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    ]


@pytest.fixture(scope="module")
def analysis():
    return analyze(read_image(SAMPLE), AnalysisSettings(), FakeClassifier(p=0.83, grade=3))


def test_report_shows_result_grade_model_version_date_and_disclaimer(analysis):
    page = render_report(analysis, model_version="abc123def456", created_at=WHEN)

    assert page.startswith("<!DOCTYPE html>")
    assert "abc123def456" in page
    assert "2026-03-04 15:30 UTC" in page
    assert "83.0%" in page
    assert "3 of 3" in page
    # one verdict: the grade, no benign/malignant word about the lesion
    assert "Model result" not in page and ">malignant<" not in page
    assert GRADE_TEXT[3].split(":")[0] in page
    assert "not a diagnosis" in page
    assert "not a cancer stage" in page


def test_report_is_self_contained(analysis):
    page = render_report(analysis, model_version="v", created_at=WHEN)

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page.lower()
    assert len(_embedded_pngs(page)) == 4


def test_embedded_images_carry_no_metadata_and_are_small(analysis):
    page = render_report(analysis, model_version="v", created_at=WHEN)

    for png in _embedded_pngs(page):
        assert set(_png_chunks(png)) <= {"IHDR", "IDAT", "IEND"}
        with Image.open(io.BytesIO(png)) as img:
            assert max(img.size) <= REPORT_MAX_SIDE
            assert not img.getexif()


def test_no_exif_or_patient_data_reaches_the_report():
    photo = Image.open(SAMPLE)
    exif = Image.Exif()
    exif[0x010E] = "PATIENT Jane Doe 1970-01-01"  # ImageDescription
    exif[0x013B] = "Dr Smith"  # Artist
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", exif=exif)
    result = analyze_bytes(buffer.getvalue(), AnalysisSettings(), FakeClassifier())

    page = render_report(result, model_version="v", created_at=WHEN)

    assert "Jane" not in page and "Smith" not in page
    for png in _embedded_pngs(page):
        assert b"Jane" not in png


def test_report_escapes_text(analysis):
    hostile = dataclasses.replace(analysis, notes=("<script>alert(1)</script>",))
    page = render_report(hostile, model_version="<b>v</b>", created_at=WHEN)

    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;v&lt;/b&gt;" in page


def test_report_includes_measured_performance_when_given(analysis):
    page = render_report(
        analysis,
        model_version="v",
        created_at=WHEN,
        performance={"sensitivity": 0.912, "specificity": 0.705, "n": 1660},
    )
    assert "sensitivity 91%" in page and "specificity 70%" in page and "1660" in page


def test_naive_dates_are_utc_and_default_is_now(analysis):
    naive = render_report(analysis, model_version="v", created_at=datetime(2026, 1, 2, 3, 4))
    assert "2026-01-02 03:04 UTC" in naive
    assert str(datetime.now(UTC).year) in render_report(analysis, model_version="v")


def test_report_without_a_lesion_says_so(analysis):
    page = render_report(dataclasses.replace(analysis, descriptors=None), model_version="v")
    assert "No lesion was segmented" in page


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (True, "yes"),
        (0.123456, "0.123"),
        (np.float32(2.5), "2.5"),
        (("blue-gray", "black"), "blue-gray, black"),
        ((), "none"),
        ({"a": 1.0}, "a: 1"),
        (7, "7"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_descriptor_rows_read_like_abcd():
    values = {
        "asymmetry": 0.31,
        "asymmetry_major": 0.2,
        "asymmetry_minor": 0.42,
        "compactness": 1.46,
        "fractal_dimension": None,
        "colors": ["light_brown", "blue_gray"],
        "color_count": 2,
        "diameter_px": 210.4,
        "diameter_mm": 6.31,
        "area_px": 30000,
        "area_mm2": 27.0,
        "future_measure": 3.0,
    }
    rows = descriptor_rows(values)

    assert [r[0] for r in rows] == ["A", "B", "B", "C", "D", "", ""]
    text = {measure: value for _, measure, value in rows}
    assert any("0.31" in v and "0.42" in v for v in text.values())
    assert "light brown, blue gray (2)" in text.values()
    assert "6.3 mm (210 px)" in text.values()
    assert text["future measure"] == "3"
    assert "—" in text.values()  # fractal dimension not measurable


def test_descriptor_rows_without_scale_say_so():
    rows = descriptor_rows({"diameter_px": 99.6})
    assert rows == [("D", "Diameter (largest distance across)", "100 px (no scale given)")]


def test_report_shows_the_differential_with_plain_names_and_the_answer():

    diff = benign_differential()
    fake = FakeClassifier(p=0.08, grade=2, differential=diff, n_views=8)
    page = render_report(
        analyze(read_image(SAMPLE), AnalysisSettings(), fake), model_version="v", created_at=WHEN
    )
    assert "Differential diagnosis" in page
    assert "melanocytic nevus (mole)</td><td>75.0%" in page
    assert "seborrheic keratosis / benign keratosis</td><td>12.0%" in page
    assert "8-view TTA" in page
    assert page.index("melanocytic nevus") < page.index("seborrheic keratosis")


def test_no_report_for_a_photo_that_is_not_a_lesion(analysis):
    from skinapp.errors import NotALesionError

    not_lesion = dataclasses.replace(
        analysis, prediction=dataclasses.replace(analysis.prediction, ood=True, ood_score=3.0)
    )
    with pytest.raises(NotALesionError, match="not a dermoscopic image"):
        render_report(not_lesion, model_version="m1", created_at=WHEN)


def test_an_unusual_lesion_report_keeps_the_grade_and_carries_the_caution():
    from skinapp.analysis import UNUSUAL_NOTE

    clf = FakeClassifier(p=0.83, grade=3)
    unusual = clf.predict(read_image(SAMPLE))
    clf.predict = lambda image, tta=False: dataclasses.replace(unusual, ood=False, unusual=True)
    page = render_report(
        analyze(read_image(SAMPLE), AnalysisSettings(), clf), model_version="m1", created_at=WHEN
    )
    assert "3 of 3" in page and UNUSUAL_NOTE.split(":")[0] in page
