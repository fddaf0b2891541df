"""Browser tests: a failed test shows the tail of the Streamlit server's log."""

from __future__ import annotations

import pytest
from browser_app import SERVER_LOGS, log_tail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for path in SERVER_LOGS:
            report.sections.append((f"streamlit server log (tail of {path})", log_tail(path)))
    return report
