"""History page and the Diagnose save form, driven with AppTest on a throw-away store.

Behaviours: Diagnose stores nothing unless "Save to case history" is ticked (no database
file is even created); ticked, the form saves a visit and History opens on it; an invalid
pseudonym is refused with nothing saved; History with no visits explains how to save one;
one visit is listed without a comparison; two visits of a growing lesion show the review
badge with its reasons and the heuristic note, both photos side by side, the change table
and the trend charts; erasing the patient needs a confirmation and removes it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.serving import default_model_dir
from skinapp.store import open_store
from skinapp.store.config import SQLITE_FILE
from skinapp.ui import casebook
from tests.store.helpers import make_visit

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60

needs_model = pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cases"
    monkeypatch.setenv("SKINAPP_DATA_DIR", str(folder))
    monkeypatch.delenv("SKINAPP_DATABASE_URL", raising=False)
    return folder


def _run(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


def _diagnose_with_sample() -> AppTest:
    at = _run("pages/diagnose.py")
    at.radio(key="diagnose.source").set_value("Sample").run()
    at.selectbox(key="diagnose.sample").set_value("ISIC_0000309").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@needs_model
def test_diagnose_stores_nothing_unless_asked(data_dir):
    at = _diagnose_with_sample()
    assert at.checkbox(key=casebook.SAVE_OPT_IN).value is False
    assert not (data_dir / SQLITE_FILE).exists()
    assert not any(b.label == "Save visit" for b in at.button)


@needs_model
def test_diagnose_saves_a_visit_when_ticked_and_history_opens_on_it(data_dir):
    at = _diagnose_with_sample()
    at.checkbox(key=casebook.SAVE_OPT_IN).check().run()
    at.text_input(key=casebook.SAVE_PSEUDONYM).input("P-0042")
    at.text_input(key=casebook.SAVE_LESION).input("L1")
    at.selectbox(key=casebook.SAVE_SITE).set_value("back")
    at.date_input(key=casebook.SAVE_DATE).set_value(dt.date(2024, 3, 1))
    next(b for b in at.button if b.label == "Save visit").click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert "Saved the 2024-03-01 visit of lesion L1 for P-0042" in _text(at)
    [visit] = open_store().visits("P-0042", "L1")
    assert (visit.body_site, visit.visit_date) == ("back", dt.date(2024, 3, 1))

    # History opens on the saved lesion (AppTest cannot click through the navigation, so
    # the session's hand-over key is carried to a History run).
    handed_over = {k: at.session_state[k] for k in ("case.open_patient", "case.open_lesion")}
    store = open_store()
    store.save_visit(make_visit("A-FIRST", "L9"))  # sorts first: the picker must not pick it
    at = _run("pages/history.py", **handed_over)
    assert at.selectbox(key=casebook.HISTORY_PATIENT).value == "P-0042"
    assert "One visit so far" in _text(at)


@needs_model
def test_diagnose_refuses_a_bad_pseudonym_and_saves_nothing(data_dir):
    at = _diagnose_with_sample()
    at.checkbox(key=casebook.SAVE_OPT_IN).check().run()
    at.text_input(key=casebook.SAVE_PSEUDONYM).input("<b>Jane</b>")
    at.text_input(key=casebook.SAVE_LESION).input("L1")
    next(b for b in at.button if b.label == "Save visit").click().run()
    assert "Enter a patient pseudonym" in at.error[0].value
    assert open_store().count() == (0, 0)


def test_history_without_visits_explains_how_to_save(data_dir):
    at = _run("pages/history.py")
    assert at.title[0].value == "Lesion history"
    assert "Save to case history" in at.info[-1].value


def test_history_compares_two_visits_of_a_growing_lesion(data_dir):
    store = open_store()
    store.save_visit(make_visit("P-7", "L1", dt.date(2024, 1, 10), radius=20))
    store.save_visit(make_visit("P-7", "L1", dt.date(2024, 7, 10), radius=25, grade=2, p=0.45))
    store.save_visit(make_visit("P-7", "L2", dt.date(2024, 1, 10)))

    at = _run("pages/history.py")
    text = _text(at)
    assert "Review: change detected" in text
    assert "Area grew by 56%" in text
    assert "Risk grade rose from 1 to 2" in text
    assert "heuristic" in text
    captions = [c for image in at.image for c in image.captions]  # the two visits side by side
    assert [c.split(" · ")[:2] for c in captions] == [
        ["Earlier", "2024-01-10"],
        ["Later", "2024-07-10"],
    ]
    assert "mm per pixel" in text
    changes = at.dataframe[1].value
    assert list(changes["Measure"])[:2] == ["Area (mm²)", "Diameter (mm)"]
    assert changes["Change"].iloc[0] == "+56%"
    assert len(at.get("plotly_chart")) == 1
    timeline = at.dataframe[0].value
    assert len(timeline) == 2

    at.selectbox(key=casebook.HISTORY_LESION).set_value("L2").run()
    assert not at.exception
    assert "One visit so far" in _text(at)


def test_erasing_a_patient_needs_confirmation(data_dir):
    store = open_store()
    store.save_visit(make_visit("P-ERASE", "L1"))
    store.save_visit(make_visit("P-KEEP", "L1"))
    at = _run("pages/history.py")
    assert at.selectbox(key=casebook.HISTORY_PATIENT).value == "P-ERASE"
    erase = next(b for b in at.button if b.label == "Erase patient")
    assert erase.disabled
    at.checkbox(key=casebook.HISTORY_ERASE_CONFIRM).check().run()
    next(b for b in at.button if b.label == "Erase patient").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert store.patients() == ["P-KEEP"]
    assert at.selectbox(key=casebook.HISTORY_PATIENT).value == "P-KEEP"
