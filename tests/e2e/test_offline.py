"""No request leaves the machine: every page loads with outside network blocked.

Each page of the real app is opened in Chromium with every request to a host other than
127.0.0.1/localhost aborted and recorded; the test fails on any such request (a font, an
icon, a script or a tracker from a CDN would be a request to a third party from a clinic
network). Diagnose is also driven through an upload so that the result's images, charts and
report button are loaded too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browser_app import REPO, launch_chromium, require_browser, running_app

pytestmark = pytest.mark.e2e

SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000411.jpg"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
#: (URL path, a text that shows the page has drawn).
PAGES = (
    ("", "Diagnose"),
    ("history", "Lesion history"),
    ("triage", "Batch triage"),
    ("about", "About"),
    ("lab", "Preprocessing Lab"),
    ("dashboard", "Model Dashboard"),
)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture(scope="module")
def offline_page():
    """A Chromium page on the running app whose outside requests are aborted and listed."""
    require_browser()
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def route(r):
        if _is_local(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    with running_app() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", route)
        page = context.new_page()
        page.on("request", lambda req: None if _is_local(req.url) else outside.append(req.url))
        page.set_default_timeout(60_000)
        yield page, url, outside
        context.close()
        browser.close()


@pytest.mark.parametrize(("path", "heading"), PAGES)
def test_page_makes_no_outside_request(offline_page, path, heading):
    page, url, outside = offline_page
    outside.clear()
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # late assets: favicon, icon font, charts
    assert not outside, f"requests to outside hosts from /{path}: {sorted(set(outside))}"


def test_diagnose_result_makes_no_outside_request(offline_page):
    page, url, outside = offline_page
    outside.clear()
    page.goto(url)
    page.get_by_role("heading", name="Diagnose").wait_for()
    page.get_by_text("Upload", exact=True).first.click()
    page.locator("input[type=file]").first.set_input_files(str(SAMPLE))
    page.get_by_text("Risk grade", exact=False).first.wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=stImage] img').length >= 4")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    favicon = page.eval_on_selector("link[rel='shortcut icon']", "e => e.href")
    assert _is_local(favicon), favicon
    assert not outside, f"requests to outside hosts after a result: {sorted(set(outside))}"
