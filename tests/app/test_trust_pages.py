"""AppTest: the Diagnose page shows quality and OOD warnings and the TTA interval; the
Dashboard shows the trust measurements."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from skinapp.analysis import OOD_NOTE
from skinapp.io import encode_png, read_image
from skinapp.serving import default_model_dir
from skinapp.ui import state
from skinapp.ui.trust import OOD_MESSAGE

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000180.jpg"  # passes every check
TIMEOUT = 60
MODELS = default_model_dir()

pytestmark = pytest.mark.skipif(
    not (MODELS / "model.tflite").is_file(), reason=f"no model in {MODELS}"
)


def _diagnose(image: np.ndarray) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/diagnose.py"), default_timeout=TIMEOUT)
    at.run()
    at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(
        ("photo.png", encode_png(image), "image/png")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def test_blurred_photo_gets_the_focus_warning_before_the_result():
    blurred = cv2.GaussianBlur(read_image(SAMPLE), (0, 0), 1.5)  # heavier blur is also OOD
    at = _diagnose(blurred)
    assert "out of focus" in _warnings(at)
    assert at.metric  # the result is still shown, after the warning


def test_black_photo_gets_the_exposure_warning():
    at = _diagnose(np.zeros((200, 260, 3), np.uint8))
    assert "too dark" in _warnings(at)


def test_good_sample_shows_the_interval_and_passes_the_checks():
    at = _diagnose(read_image(SAMPLE))
    captions = "\n".join(c.value for c in at.caption)
    assert "Photo quality checks passed" in captions
    assert "orientations of the same photo" in captions
    assert OOD_MESSAGE not in _warnings(at)


@pytest.mark.skipif(not (MODELS / "ood.npz").is_file(), reason="no ood.npz (evaluate --trust)")
def test_natural_photo_gets_the_ood_warning_instead_of_the_grade():
    skimage_data = pytest.importorskip("skimage.data")
    at = _diagnose(skimage_data.chelsea())
    assert OOD_MESSAGE in _warnings(at)
    assert "Risk grade" not in {m.label for m in at.metric}
    assert any(OOD_NOTE in c.value for c in at.caption)  # the note also goes into the report


@pytest.mark.skipif(not (MODELS / "trust.json").is_file(), reason="no trust.json")
def test_dashboard_shows_the_trust_section():
    at = AppTest.from_file(str(REPO / "pages/dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["dashboard.tab"] = "Trust"  # tabs run lazily: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Trust" in h.value for h in at.subheader)
    text = "\n".join(c.value for c in at.caption)
    assert "Test lesions flagged" in text and "False alarms on original test photos" in text
