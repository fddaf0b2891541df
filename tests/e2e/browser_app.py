"""Helpers shared by the browser tests: Debian's Chromium and a real ``streamlit run app.py``.

CI sets ``SKINAPP_REQUIRE_E2E=1`` so a missing browser fails the run instead of skipping it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SKINAPP_CHROMIUM", "/usr/bin/chromium")
#: No sandbox (containers), no GPU, and no requests of the browser's own (updates, sync).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Log files of the servers running now (``conftest.py`` adds their tails to failed tests).
SERVER_LOGS: list[Path] = []
LOG_TAIL_CHARS = 3000


def require_browser() -> None:
    """Skip (or, in CI, fail) when Chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("SKINAPP_REQUIRE_E2E"):
        pytest.fail(message)
    pytest.skip(message)


def launch_chromium(playwright):
    """Debian's Chromium (headless) from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port; yields its URL once it is healthy."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    # The server's output goes to a temporary file, never to an unread pipe (a full pipe,
    # ~64 KiB of log, would block the server); its tail is shown when a test fails.
    fd, name = tempfile.mkstemp(prefix="skinapp-e2e-", suffix=".log")
    os.close(fd)
    log = Path(name)
    child_env = dict(env) if env is not None else dict(os.environ)
    child_env["PYTHONUNBUFFERED"] = "1"  # so the tail is current when it is read
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=REPO, env=child_env, stdout=sink, stderr=subprocess.STDOUT)
    SERVER_LOGS.append(log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with code {proc.returncode}:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not become healthy within 60 s:\n{log_tail(log)}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        SERVER_LOGS.remove(log)
        log.unlink(missing_ok=True)


def log_tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    """The last ``chars`` characters of a server log (empty when it is gone)."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-chars:].decode(errors="replace")
