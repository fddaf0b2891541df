"""Browser end to end for a clinic: ``make serve`` with two replicas behind nginx (TLS,
sticky sessions) sharing a throw-away PostgreSQL, personal accounts on.

Behaviours: an unauthenticated browser reaches nothing but the login page, whatever path it
opens; a clinician logged in through nginx saves a visit on one replica and a second
clinician, whose browser nginx keeps on the other replica, sees it on History; the audit
trail holds both logins, the save and the history view with the client's address, and the
admin's Audit page lists them; ``make serve`` stops cleanly (nothing left listening).

Needs Chromium, nginx, openssl and PostgreSQL's server binaries (``.ci/run`` installs them);
CI sets ``SKINAPP_REQUIRE_E2E=1`` so a missing one fails instead of skipping. Screenshots go
to ``test-artifacts/``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_app import CHROMIUM, CHROMIUM_ARGS, REPO, SERVER_LOGS, require_browser

from skinapp.auth import AuditLog
from skinapp.store import open_store
from skinapp.store.config import StoreConfig, postgres_url

ARTIFACTS = REPO / "test-artifacts"
PHOTO = REPO / "skinapp" / "samples" / "ISIC_0000411.jpg"
PASSWORDS = {
    "anna": "anna's clinic passphrase",
    "ben": "ben's clinic passphrase",
    "boss": "the administrator's passphrase",
}
PATIENT = "CLINIC-0001"
START_TIMEOUT = 240

pytestmark = pytest.mark.e2e


def _require(what: str, found: bool) -> None:
    if found:
        return
    message = f"{what} not found (.ci/run installs it: apt-get install -y nginx postgresql)"
    if os.environ.get("SKINAPP_REQUIRE_E2E"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Served:
    """A running ``make serve`` (started by the fixture, stopped by :meth:`stop`)."""

    def __init__(self, run_dir: Path, log: Path, port: int) -> None:
        self.run_dir, self.log, self.port = run_dir, log, port
        self.url = f"https://127.0.0.1:{port}"
        env = {**os.environ, "SKINAPP_SERVE_DIR": str(run_dir), "SKINAPP_AUTH": "accounts"}
        env.pop("SKINAPP_DATABASE_URL", None)  # make serve starts its own PostgreSQL
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [
            "make",
            "--no-print-directory",
            "-o",
            "install",  # the test's own environment is installed already
            "serve",
            "REPLICAS=2",
            "SERVE_ADDRESS=127.0.0.1",
            f"SERVE_PORT={port}",
            f"BIN={Path(sys.executable).parent}",
        ]
        with log.open("wb") as sink:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.time() + START_TIMEOUT
        while not (self.run_dir / "ready").exists():
            if self.proc.poll() is not None:
                pytest.fail(f"make serve exited with {self.proc.returncode}:\n{self.tail()}")
            if time.time() > deadline:
                pytest.fail(f"make serve not ready in {START_TIMEOUT} s:\n{self.tail()}")
            time.sleep(0.5)
        self.database_url = (self.run_dir / "database_url").read_text().strip()
        self.replica_ports = [int(p) for p in (self.run_dir / "replica_ports").read_text().split()]

    def tail(self) -> str:
        return self.log.read_bytes()[-4000:].decode(errors="replace")

    def add_user(self, name: str, role: str = "clinician") -> None:
        env = {**os.environ, "SKINAPP_DATABASE_URL": self.database_url}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "skinapp.users",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
            ],
            input=PASSWORDS[name] + "\n",
            text=True,
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> int | None:
        """SIGTERM to serve.sh (as ``make serve-stop`` does); make then exits with its code.
        Whatever is left after 60 s is killed."""
        if self.proc.poll() is None:
            pidfile = self.run_dir / "serve.pid"
            try:
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            except (OSError, ValueError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    require_browser()
    _require("nginx", bool(shutil.which("nginx") or Path("/usr/sbin/nginx").exists()))
    _require("openssl", bool(shutil.which("openssl")))
    _require("PostgreSQL", bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")))
    folder = tmp_path_factory.mktemp("clinic")
    server = Served(folder / "run", folder / "serve.log", _free_port())
    SERVER_LOGS.append(server.log)
    try:
        server.wait_ready()
        server.add_user("anna")
        server.add_user("ben")
        server.add_user("boss", "admin")
        yield server
    finally:
        server.stop()
        SERVER_LOGS.remove(server.log)


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _context(browser):
    context = browser.new_context(
        ignore_https_errors=True,  # make serve's self-signed certificate
        viewport={"width": 1400, "height": 1000},
    )
    context.set_default_timeout(60_000)
    return context


def _login(page, url: str, name: str):
    response = page.goto(url)
    page.get_by_role("heading", name="skinapp · log in").wait_for()
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {name}").wait_for()
    return response.headers["x-skinapp-upstream"]


def _replica(page) -> str:
    return page.get_by_text("Served by replica").inner_text().strip()


def test_unauthenticated_browser_reaches_only_the_login_page(served, browser):
    context = _context(browser)
    page = context.new_page()
    for path in ("", "history", "triage", "lab", "dashboard", "about", "users", "audit"):
        page.goto(f"{served.url}/{path}")
        page.get_by_role("heading", name="skinapp · log in").wait_for()
        page.wait_for_timeout(800)  # give any other element the time to appear
        headings = page.get_by_role("heading").all_inner_texts()
        assert [h.strip() for h in headings] == ["skinapp · log in"], (path, headings)
        assert page.locator('[data-testid="stSidebar"]').count() == 0, path
        assert page.locator("img").count() == 0, path
        assert page.locator("input[type=file]").count() == 0, path
        if path == "history":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "clinic-login-only.png"))
    context.close()


def test_visit_saved_on_one_replica_is_seen_on_the_other(served, browser):
    first = _context(browser)
    anna = first.new_page()
    upstream_a = _login(anna, served.url, "anna")
    replica_a = _replica(anna)
    anna.get_by_text("Upload", exact=True).first.click()
    anna.locator("input[type=file]").first.set_input_files(str(PHOTO))
    anna.get_by_text("Risk grade", exact=False).first.wait_for()
    anna.get_by_text("Save to case history", exact=True).click()
    anna.get_by_label("Patient pseudonym").fill(PATIENT)
    anna.get_by_label("Lesion id").fill("L1")
    anna.get_by_role("button", name="Save visit").click()
    anna.get_by_text("Saved the", exact=False).first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    anna.screenshot(path=str(ARTIFACTS / "clinic-saved-on-first-replica.png"))

    # A new browser gets a random route cookie: try until nginx places it on the other one.
    for _ in range(16):
        second = _context(browser)
        ben = second.new_page()
        if ben.goto(served.url).headers["x-skinapp-upstream"] != upstream_a:
            break
        second.close()
    else:
        pytest.fail("nginx sent 16 new browsers to the same replica")
    upstream_b = _login(ben, served.url, "ben")
    assert upstream_b != upstream_a
    assert _replica(ben) != replica_a
    ben.get_by_role("link", name="Lesion history").click()
    ben.get_by_role("heading", name="Lesion history").wait_for()
    ben.get_by_role("heading", name=f"{PATIENT} · lesion L1").wait_for()
    ben.wait_for_timeout(4000)  # the tables and charts fill in
    ben.screenshot(path=str(ARTIFACTS / "clinic-seen-on-second-replica.png"), full_page=True)

    store = open_store(StoreConfig(url=postgres_url(served.database_url)))
    try:
        events = AuditLog(store.engine).events()
    finally:
        store.dispose()
    rows = {(e.actor, e.action, e.pseudonym) for e in events}
    assert {
        ("anna", "login", None),
        ("anna", "save_visit", PATIENT),
        ("ben", "login", None),
        ("ben", "view_history", PATIENT),
    } <= rows
    save = next(e for e in events if e.action == "save_visit")
    assert save.visit_id is not None and save.lesion_id == "L1"
    assert {e.client for e in events if e.actor in ("anna", "ben")} == {"127.0.0.1"}

    third = _context(browser)
    boss = third.new_page()
    _login(boss, served.url, "boss")
    boss.get_by_role("link", name="Audit trail").click()
    boss.get_by_role("heading", name="Audit trail").wait_for()
    boss.get_by_text("rows", exact=False).first.wait_for()
    boss.wait_for_timeout(1500)
    boss.screenshot(path=str(ARTIFACTS / "clinic-audit-page.png"), full_page=True)
    for context in (first, second, third):
        context.close()


def test_make_serve_stops_cleanly(served):
    assert served.stop() == 0, served.tail()
    assert not (served.run_dir / "serve.pid").exists()
    for port in (served.port, *served.replica_ports):
        assert not _listening(port), port
