"""AppTest: the Diagnose page shows quality warnings and the TTA interval, one message alone for
a photo that is not a lesion, a caution beside the grade of an unusual lesion; the Dashboard
shows the trust measurements."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from skinapp.analysis import OOD_NOTE
from skinapp.io import encode_png, read_image
from skinapp.serving import default_model_dir
from skinapp.trust.decision import UNUSUAL_MESSAGE
from skinapp.ui import state
from skinapp.ui.trust import OOD_MESSAGE

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000180.jpg"  # passes every check
TIMEOUT = 60
MODELS = default_model_dir()

needs_ood = pytest.mark.skipif(
    not (MODELS / "ood.npz").is_file(), reason="no ood.npz (python -m skinapp.measure_loso)"
)
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


def test_dark_lesion_photo_gets_the_exposure_warning():
    from skinapp.trust.degrade import gamma

    at = _diagnose(gamma(read_image(SAMPLE), 3.0))  # under-exposed, still a lesion
    assert "too dark" in _warnings(at)
    assert at.metric  # the result is still shown, after the warning


@needs_ood
def test_black_frame_is_not_a_lesion_and_gets_no_retake_advice():
    at = _diagnose(np.zeros((200, 260, 3), np.uint8))  # a flat image: nothing to retake
    assert [w.value for w in at.warning] == [OOD_MESSAGE]


def test_good_sample_shows_the_interval_and_passes_the_checks():
    at = _diagnose(read_image(SAMPLE))
    captions = "\n".join(c.value for c in at.caption)
    assert "Photo quality checks passed" in captions
    assert "orientations of the same photo" in captions
    assert OOD_MESSAGE not in _warnings(at)


#: A bundled lesion with its red and blue channels swapped (a camera colour error): still a
#: lesion, but unlike the training photos. Generated here, so no ../shared is needed.
UNUSUAL_SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000411.jpg"


def unusual_lesion() -> np.ndarray:
    return np.ascontiguousarray(read_image(UNUSUAL_SAMPLE)[:, :, ::-1])


@needs_ood
def test_natural_photo_gets_one_message_and_nothing_else():
    skimage_data = pytest.importorskip("skimage.data")
    at = _diagnose(skimage_data.chelsea())
    assert [w.value for w in at.warning] == [OOD_MESSAGE]  # one message, no retake advice
    assert not at.metric  # no grade, no probability
    assert not [h for h in at.subheader if "ABCD" in h.value]
    assert not [c for c in at.checkbox if "case history" in c.label]  # no save
    assert not at.get("download_button")  # no report
    assert OOD_NOTE not in "\n".join(c.value for c in at.caption)


@needs_ood
def test_unusual_lesion_keeps_the_grade_with_a_caution_and_a_wider_range():
    at = _diagnose(unusual_lesion())
    assert UNUSUAL_MESSAGE in _warnings(at)
    assert OOD_MESSAGE not in _warnings(at)
    assert "Risk grade" in {m.label for m in at.metric}
    captions = "\n".join(c.value for c in at.caption)
    assert "widened because the lesion is unlike the training photos" in captions
    assert [c for c in at.checkbox if "case history" in c.label]  # may still be saved
    assert at.get("download_button")  # and reported


@pytest.mark.skipif(not (MODELS / "trust.json").is_file(), reason="no trust.json")
def test_dashboard_shows_the_trust_section():
    at = AppTest.from_file(str(REPO / "pages/dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["dashboard.tab"] = "Trust"  # tabs run lazily: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Trust" in h.value for h in at.subheader)
    text = "\n".join(c.value for c in at.caption)
    assert "Test lesions flagged" in text and "False alarms on original test photos" in text
    if (MODELS / "ood_loso.json").is_file():  # the leave-one-source-out table
        assert "Each source held out in turn" in text
        assert any("Held out" in d.value.columns for d in at.dataframe)
