"""Browser end to end for the case history: save two visits of one lesion on Diagnose, open
History and see them side by side with the change and the trend charts.

Runs its own ``streamlit run app.py`` with ``SKINAPP_DATA_DIR`` in a temporary folder (never
the user's data) on Debian's Chromium. CI sets ``SKINAPP_REQUIRE_E2E=1`` so a missing
browser fails instead of skipping. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_app import REPO, launch_chromium, require_browser, running_app

from skinapp.store import open_store
from skinapp.store.config import store_config

ARTIFACTS = REPO / "test-artifacts"
FIRST = REPO / "skinapp" / "samples" / "ISIC_0000411.jpg"
SECOND = REPO / "skinapp" / "samples" / "ISIC_0000452.jpg"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-cases")


@pytest.fixture(scope="module")
def app_url(data_dir):
    require_browser()
    env = {**os.environ, "SKINAPP_DATA_DIR": str(data_dir)}
    env.pop("SKINAPP_DATABASE_URL", None)
    with running_app(env) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()
        browser.close()


def _save_visit(page, app_url: str, photo: Path, visit_date: str) -> None:
    page.goto(app_url)
    page.get_by_role("heading", name="Diagnose").wait_for()
    page.get_by_text("Upload", exact=True).first.click()
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Risk grade", exact=False).first.wait_for()
    page.get_by_text("Save to case history", exact=True).click()
    page.get_by_label("Patient pseudonym").fill("E2E-0001")
    page.get_by_label("Lesion id").fill("L1")
    year, month, day = visit_date.split("-")
    for part, value in (("year", year), ("month", month), ("day", day)):
        segment = page.get_by_role("spinbutton", name=f"{part}, Visit date")
        segment.click()
        segment.press_sequentially(value)
    page.get_by_role("button", name="Save visit").click()
    page.get_by_text("Saved the", exact=False).first.wait_for()


def test_two_saved_visits_are_compared_on_history(app_url, page, data_dir):
    _save_visit(page, app_url, FIRST, "2024-01-10")
    _save_visit(page, app_url, SECOND, "2024-07-10")
    store = open_store(store_config({"SKINAPP_DATA_DIR": str(data_dir)}))
    visits = store.visits("E2E-0001", "L1")
    assert [v.visit_date.isoformat() for v in visits] == ["2024-01-10", "2024-07-10"]

    page.goto(f"{app_url}/history")
    page.get_by_role("heading", name="Lesion history").wait_for()
    page.get_by_role("heading", name="Compare two visits").wait_for()
    page.get_by_text("Earlier · 2024-01-10", exact=False).first.wait_for()
    page.get_by_text("Later · 2024-07-10", exact=False).first.wait_for()
    page.get_by_text("heuristic", exact=False).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    # The two visits are different photos: the learned outline covers ~28% of the first and
    # ~39% of the second (area +41%, well above the 20% rule), so the one verdict is "review".
    first, second = (v.descriptors["area_px"] / (v.image_size[0] * v.image_size[1]) for v in visits)
    assert second > 1.3 * first, (first, second)
    page.get_by_text("Review: change detected").first.wait_for(timeout=20_000)
    page.get_by_text("Area grew by", exact=False).first.wait_for(timeout=5_000)
    assert page.get_by_text("No change flagged").count() == 0
    page.set_viewport_size({"width": 1400, "height": 2600})  # the page scrolls inside
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "history-desktop.png"), full_page=True)
