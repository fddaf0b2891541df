"""Batch triage page with AppTest and the shipped model.

Behaviours: with nothing uploaded it says what to do; photos and a zip are analysed into one
table sorted by grade then probability, with thumbnails; a bad file is listed with its
error while the rest are processed; the filters narrow the table without re-analysing; the
CSV download is offered.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.serving import default_model_dir
from skinapp.ui import batch

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "skinapp" / "samples").glob("*.jpg"))

needs_model = pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/triage.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _zip(paths) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for p in paths:
            archive.writestr(f"clinic/{p.name}", p.read_bytes())
        archive.writestr("clinic/readme.txt", "not a photo")
    return buffer.getvalue()


def test_empty_page_says_what_to_do():
    at = _page()
    assert at.title[0].value == "Batch triage"
    assert "Upload photos or zip files" in at.info[-1].value


@needs_model
def test_photos_and_a_zip_are_triaged_and_a_bad_file_is_listed():
    at = _page()
    files = [
        (SAMPLES[0].name, SAMPLES[0].read_bytes(), "image/jpeg"),
        ("photos.zip", _zip(SAMPLES[1:4]), "application/zip"),
        ("letter.jpg", b"Dear colleague, please find attached", "image/jpeg"),
    ]
    at.file_uploader(key=batch.TRIAGE_UPLOAD).set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]

    assert "1 file(s) could not be analysed" in at.warning[0].value
    problems = at.dataframe[0].value
    assert list(problems["File"]) == ["letter.jpg"]
    assert "not an image" in problems["Problem"].iloc[0]
    assert "1 zip entries were skipped" in "\n".join(c.value for c in at.caption)

    table = at.dataframe[1].value
    assert len(table) == 4
    assert set(table["file"]) == {SAMPLES[0].name} | {
        f"photos.zip/clinic/{p.name}" for p in SAMPLES[1:4]
    }
    keys = list(zip(-table["grade"], -table["p_malignant"], strict=True))
    assert keys == sorted(keys)
    assert table["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    assert any(b.label == "Download table (CSV)" for b in at.get("download_button"))
    if (default_model_dir() / "differential.json").is_file():
        # the differential beside the grade, plain names, the top call marked once per row
        assert table["differential"].str.count(r"\(top call\)").eq(1).all()
        assert table["dx"].isin(["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]).all()
        assert "label" not in table.columns  # no benign/malignant word beside the grade


@needs_model
def test_filters_narrow_the_table_without_reanalysing():
    at = _page()
    at.toggle(key=batch.TRIAGE_SAMPLES).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    full = at.dataframe[0].value
    assert len(full) == len(SAMPLES)
    _digest, result = at.session_state["triage.result"]

    top_grade = int(full["grade"].max())
    at.multiselect(key=batch.TRIAGE_GRADES).set_value([top_grade]).run()
    shown = at.dataframe[0].value
    assert set(shown["grade"]) == {top_grade}
    assert len(shown) == (full["grade"] == top_grade).sum()

    at.multiselect(key=batch.TRIAGE_GRADES).set_value([3, 2, 1]).run()
    at.slider(key=batch.TRIAGE_MIN_P).set_value(0.5).run()
    assert (at.dataframe[0].value["p_malignant"] >= 0.5).all()
    at.slider(key=batch.TRIAGE_MIN_P).set_value(0.0).run()
    at.text_input(key=batch.TRIAGE_SEARCH).input(SAMPLES[2].stem).run()
    assert list(at.dataframe[0].value["file"]) == [SAMPLES[2].name]
    assert at.session_state["triage.result"][1] is result  # filtering did not re-analyse


@needs_model
def test_every_row_is_shown_key_columns_first_and_a_click_opens_the_details():
    at = _page()
    at.toggle(key=batch.TRIAGE_SAMPLES).set_value(True).run()
    table = at.dataframe[0]
    assert list(table.proto.column_order)[:3] == ["thumbnail", "grade", "p_malignant"]
    assert not any(h.value.startswith("Details") for h in at.subheader)

    at.session_state[batch.TRIAGE_TABLE] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    name = at.dataframe[0].value["file"].iloc[1]
    assert f"Details · {name}" in [h.value for h in at.subheader]
    assert any(m.label == "Risk grade" for m in at.metric)
    assert any(c == "Original" for image in at.image for c in image.captions)


@needs_model
@pytest.mark.skipif(not (default_model_dir() / "ood.npz").is_file(), reason="no ood.npz")
def test_a_photo_that_is_not_a_lesion_is_listed_apart_not_ranked():
    skimage_data = pytest.importorskip("skimage.data")
    from skinapp.io import encode_png

    at = _page()
    files = [
        (SAMPLES[0].name, SAMPLES[0].read_bytes(), "image/jpeg"),
        ("cat.png", encode_png(skimage_data.chelsea()), "image/png"),
    ]
    at.file_uploader(key=batch.TRIAGE_UPLOAD).set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Not dermoscopic lesion photos" in h.value for h in at.subheader)
    apart, ranked = at.dataframe[0].value, at.dataframe[-1].value
    assert list(apart["File"]) == ["cat.png"]
    assert list(ranked["file"]) == [SAMPLES[0].name]  # the cat is not among the lesions
