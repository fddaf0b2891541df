"""Browser tests: shared fixtures (the app on a free port, one Chromium per module), and a
failed test shows the tail of the Streamlit server's log."""

from __future__ import annotations

import pytest
from browser_app import SERVER_LOGS, launch_chromium, log_tail, require_browser, running_app


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for path in SERVER_LOGS:
            report.sections.append((f"streamlit server log (tail of {path})", log_tail(path)))
    return report


@pytest.fixture(scope="module")
def app_url():
    """The app with the default settings (a module may override it, e.g. with its own data)."""
    require_browser()
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module's tests; each test opens its own context."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()
