"""Browser end to end for the two kinds of "do not trust this", on the real app and model.

A natural photo on Diagnose gets one message and nothing else (no grade, ABCD, save or
report); a lesion photo made unusual (colour channels swapped) keeps its grade with a caution;
in Batch triage the natural photo is listed apart, never ranked among the lesions. Inputs are
generated here (scikit-image's cat, a bundled sample), so ``../shared`` is not needed.
Screenshots at 1400 px and 390 px go to ``test-artifacts/``.
"""

from __future__ import annotations

import numpy as np
import pytest
from browser_app import REPO

from skinapp.io import encode_png, read_image

ARTIFACTS = REPO / "test-artifacts"
SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000411.jpg"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (REPO / "models" / "ood.npz").is_file(), reason="no models/ood.npz"),
]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def _png(name: str, image: np.ndarray) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": encode_png(image)}


def _cat() -> dict:
    skimage_data = pytest.importorskip("skimage.data")
    return _png("cat.png", skimage_data.chelsea())


def _shots(page, name: str, height: int = 1400) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, label in ((1400, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": height if width > 400 else 2400})
        page.wait_for_timeout(1200)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_natural_photo_gets_one_message_and_nothing_else(app_url, page):
    page.goto(app_url)
    page.get_by_role("heading", name="Diagnose").wait_for()
    page.get_by_text("Upload", exact=True).first.click()
    page.locator("input[type=file]").first.set_input_files(_cat())
    page.get_by_text("does not look like a dermoscopic image", exact=False).first.wait_for()
    page.wait_for_timeout(1500)
    body = page.locator("section.main, [data-testid=stMain]").first.inner_text()
    for absent in ("Risk grade", "Lesion descriptors", "Save to case history", "Download report"):
        assert absent not in body, absent
    assert "too dark" not in body and "Retake" not in body
    _shots(page, "trust-not-a-lesion")


def test_an_unusual_lesion_keeps_its_grade_with_a_caution(app_url, page):
    swapped = np.ascontiguousarray(read_image(SAMPLE)[:, :, ::-1])
    page.goto(app_url)
    page.get_by_role("heading", name="Diagnose").wait_for()
    page.get_by_text("Upload", exact=True).first.click()
    page.locator("input[type=file]").first.set_input_files(_png("unusual.png", swapped))
    page.get_by_text("Unusual lesion", exact=False).first.wait_for()
    page.get_by_text("Risk grade", exact=False).first.wait_for()
    page.get_by_text("widened because the lesion is unlike", exact=False).first.wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=stImage] img').length >= 4")
    _shots(page, "trust-unusual", height=1800)


def test_batch_lists_a_natural_photo_apart(app_url, page):
    page.goto(f"{app_url}/triage")
    page.get_by_role("heading", name="Batch triage").wait_for()
    sample = {"name": SAMPLE.name, "mimeType": "image/jpeg", "buffer": SAMPLE.read_bytes()}
    page.locator("input[type=file]").first.set_input_files([sample, _cat()])
    page.get_by_text("Not dermoscopic lesion photos", exact=False).first.wait_for()
    page.get_by_text("Lesions, riskiest first", exact=False).first.wait_for()
    page.wait_for_timeout(2000)
    _shots(page, "trust-batch")
