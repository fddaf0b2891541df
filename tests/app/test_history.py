"""History page and the Diagnose save form, driven with AppTest on a throw-away store.

Behaviours: Diagnose stores nothing unless "Save to case history" is ticked (no database
file is even created); ticked, the form saves a visit and History opens on it; an invalid
pseudonym is refused with nothing saved; History with no visits explains how to save one;
one visit is listed without a comparison; two visits of a growing lesion show the review
badge with its reasons and the heuristic note, both photos side by side, the change table
and the trend charts; erasing the patient needs a confirmation, removes it and says so once;
notes are saved per visit and listed with the days between visits; two visits can be faded
or flickered; the trend axes do not zoom onto tiny changes; a visit report and a timeline
report are offered.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.report_pdf import CaseInfo
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
    # the PDF report of this analysis now carries the saved case (first visit: no days)
    assert at.session_state["case.saved"][1] == CaseInfo(
        "P-0042", "L1", "back", dt.date(2024, 3, 1), None
    )

    # History opens on the saved lesion (AppTest cannot click through the navigation, so
    # the session's hand-over key is carried to a History run).
    handed_over = {k: at.session_state[k] for k in ("case.open_patient", "case.open_lesion")}
    diagnose = at
    store = open_store()
    store.save_visit(make_visit("A-FIRST", "L9"))  # sorts first: the picker must not pick it
    at = _run("pages/history.py", **handed_over)
    assert at.selectbox(key=casebook.HISTORY_PATIENT).value == "P-0042"
    assert "One visit so far" in _text(at)
    if visit.differential is not None:  # the differential is saved with the visit and listed
        timeline = at.dataframe[0].value
        assert "(top call)" in timeline["Differential"].iloc[0]
        assert visit.differential["answer"] == "8-view TTA"

    # a second visit of the lesion: its report counts the days since the first
    diagnose.date_input(key=casebook.SAVE_DATE).set_value(dt.date(2024, 4, 10))
    next(b for b in diagnose.button if b.label == "Save visit").click().run()
    assert diagnose.session_state["case.saved"][1].days_since_previous == 40


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
    assert "Erased P-ERASE: 1 visit and their photos were deleted" in at.success[0].value
    at.run()  # said once, not on every later run
    assert not at.success


def test_notes_are_saved_per_visit_and_listed_with_the_days_between(data_dir):
    store = open_store()
    store.save_visit(make_visit("P-N", "L1", dt.date(2024, 1, 10)))
    store.save_visit(make_visit("P-N", "L1", dt.date(2024, 4, 9), radius=21))
    at = _run("pages/history.py")
    timeline = at.dataframe[0].value
    assert list(timeline["Days since previous"].fillna(-1)) == [-1, 90]

    latest = store.visits("P-N", "L1")[-1]
    assert at.selectbox(key="history.notes_visit").value == latest.id
    at.text_area(key=f"history.notes_text.{latest.id}").input("Itches since March.")
    next(b for b in at.button if b.label == "Save notes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert store.visits("P-N", "L1")[-1].notes == "Itches since March."
    assert list(at.dataframe[0].value["Notes"]) == ["", "Itches since March."]


def test_two_visits_can_be_faded_or_flickered_and_charts_do_not_zoom_on_tiny_changes(data_dir):
    store = open_store()
    store.save_visit(make_visit("P-F", "L1", dt.date(2024, 1, 10), p=0.076))
    store.save_visit(make_visit("P-F", "L1", dt.date(2024, 2, 10), p=0.079))
    at = _run("pages/history.py")
    assert "31 days between these visits" in _text(at)
    figure = at.get("plotly_chart")[0].proto.spec
    assert '"range":[0,1]' in figure.replace(" ", "")  # probability axis is 0-100 %
    assert "review: +20%" in figure

    at.segmented_control(key="history.compare_mode").set_value("Overlay (fade)").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="history.fade").value == 0.5
    at.segmented_control(key="history.compare_mode").set_value("Flicker").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "what moves has changed" in _text(at)


def test_history_offers_a_visit_report_and_a_timeline_report(data_dir):
    store = open_store()
    store.save_visit(make_visit("P-R", "L1", dt.date(2024, 1, 10)))
    store.save_visit(make_visit("P-R", "L1", dt.date(2024, 4, 9), radius=22))
    at = _run("pages/history.py")
    labels = [b.label for b in at.get("download_button")]
    assert "Visit report (PDF)" in labels and "Lesion timeline (PDF)" in labels
    visits = store.visits("P-R", "L1")
    from pypdf import PdfReader

    from skinapp.ui.visit_notes import timeline_pdf, visit_pdf

    text = PdfReader(io.BytesIO(visit_pdf(store, visits, visits[1].id))).pages[0].extract_text()
    assert "P-R" in text and "2024-04-09" in text
    pages = PdfReader(io.BytesIO(timeline_pdf(store, visits))).pages
    assert "2024-01-10" in pages[0].extract_text()
