"""The login gate, role-based navigation and the audited actions, driven with AppTest.

Behaviours (one test each): with SKINAPP_AUTH=accounts, app.py and every page run on its own
show only the login form (no navigation, no sidebar, no image, no other widget); a right
password opens Diagnose with the user in the sidebar; a wrong password shows one message and
writes a login_failed row; repeated failures lock the account; an idle session is logged
out at its next action (timeout row); log out ends the session (logout row); a clinician's
navigation has no Users or Audit page and the admin pages refuse a clinician; an admin's
navigation has both; opening a history, saving a visit, exporting a patient or the audit
trail and erasing write their rows; a disabled
account's open session ends; the default mode none keeps the app without a login; proxy and
OIDC modes trust only the proxy's header and a mocked ``st.user``; none on a network address
refuses to serve.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.auth import Accounts, AuditLog, auth_config
from skinapp.serving import default_model_dir
from skinapp.store import open_store
from skinapp.ui import admin, casebook, gate
from tests.store.helpers import make_visit

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
PAGES = [
    "pages/diagnose.py",
    "pages/history.py",
    "pages/triage.py",
    "pages/about.py",
    "pages/lab.py",
    "pages/dashboard.py",
    "pages/users.py",
    "pages/audit.py",
]
ADMIN_PW = "admin passphrase for tests"
CLIN_PW = "clinician passphrase here"


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    """A throw-away store with an admin (alice) and a clinician (bob), logins on."""
    monkeypatch.setenv("SKINAPP_DATA_DIR", str(tmp_path / "cases"))
    monkeypatch.delenv("SKINAPP_DATABASE_URL", raising=False)
    monkeypatch.setenv("SKINAPP_AUTH", "accounts")
    monkeypatch.setenv("SKINAPP_AUTH_MAX_FAILURES", "3")
    store = open_store()
    accounts = Accounts(store.engine, auth_config())
    accounts.add("alice", ADMIN_PW, "admin")
    accounts.add("bob", CLIN_PW, "clinician")
    yield store
    store.dispose()


def _app(path: str = "app.py") -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _login(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input(key=gate.LOGIN_USER).input(user)
    at.text_input(key=gate.LOGIN_PASSWORD).input(password)
    next(b for b in at.button if b.label == "Log in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _actions(store) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in reversed(AuditLog(store.engine).events())]


def _only_login_form(at: AppTest) -> None:
    assert [t.value for t in at.title] == ["skinapp · log in"]
    assert [t.key for t in at.text_input] == [gate.LOGIN_USER, gate.LOGIN_PASSWORD]
    assert [b.label for b in at.button] == ["Log in"]
    for kind in ("imgs", "dataframe", "selectbox", "radio", "checkbox", "file_uploader"):
        assert len(at.get(kind)) == 0, kind
    assert len(at.sidebar.children) == 0
    assert gate.IDENTITY not in at.session_state


@pytest.mark.parametrize("path", ["app.py", *PAGES])
def test_nothing_but_the_login_form_without_login(clinic, path):
    _only_login_form(_app(path))


def test_right_password_opens_diagnose_with_the_user_shown(clinic):
    at = _login(_app(), "bob", CLIN_PW)
    assert [t.value for t in at.title] == ["Diagnose"]
    assert any("bob" in c.value and "clinician" in c.value for c in at.sidebar.caption)
    assert _actions(clinic)[-1] == ("bob", "login")
    assert gate.LOGIN_PASSWORD not in at.session_state or not at.session_state[gate.LOGIN_PASSWORD]


def test_wrong_password_is_refused_and_recorded(clinic):
    at = _login(_app(), "bob", "not my password")
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    _only_login_form(at)
    assert _actions(clinic) == [("bob", "login_failed")]


def test_repeated_failures_lock_the_account(clinic):
    at = _app()
    for _ in range(3):
        _login(at, "bob", "not my password")
    assert "locked until" in at.error[0].value
    _login(at, "bob", CLIN_PW)  # the right password, too late
    assert "locked until" in at.error[0].value
    _only_login_form(at)
    assert [a for _, a in _actions(clinic)] == ["login_failed"] * 4


def test_idle_session_is_logged_out_at_its_next_action(clinic, monkeypatch):
    monkeypatch.setenv("SKINAPP_AUTH_IDLE_MINUTES", "5")
    at = _login(_app(), "bob", CLIN_PW)
    at.session_state[gate.LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    at.run()
    _only_login_form(at)
    assert "5 minutes without activity" in at.info[0].value
    assert _actions(clinic)[-1] == ("bob", "timeout")


def test_log_out_ends_the_session(clinic):
    at = _login(_app(), "bob", CLIN_PW)
    at.sidebar.button(key="auth.logout").click().run()
    _only_login_form(at)
    assert _actions(clinic)[-2:] == [("bob", "login"), ("bob", "logout")]


def test_clinician_navigation_has_no_admin_pages(clinic):
    at = _login(_app(), "bob", CLIN_PW)
    for page in ("pages/history.py", "pages/triage.py", "pages/lab.py", "pages/dashboard.py"):
        at.switch_page(page).run()
        assert not at.exception
    for page in ("pages/users.py", "pages/audit.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_admin_pages_refuse_a_clinician_run_directly(clinic):
    for page in ("pages/users.py", "pages/audit.py"):
        at = _login(_app(page), "bob", CLIN_PW)
        assert any("admin role" in e.value for e in at.error)
        assert len(at.dataframe) == 0


def test_admin_navigation_has_users_and_audit(clinic):
    at = _login(_app(), "alice", ADMIN_PW)
    at.switch_page("pages/users.py").run()
    assert [t.value for t in at.title] == ["Users"]
    users = at.dataframe[0].value
    assert list(users["User"]) == ["alice", "bob"]
    assert "Password" in users and "hash" not in " ".join(users.columns).lower()
    at.switch_page("pages/audit.py").run()
    assert [t.value for t in at.title] == ["Audit trail"]
    assert list(at.dataframe[0].value["Action"]) == ["login"]


def test_admin_adds_and_disables_an_account_with_audit(clinic):
    at = _login(_app("pages/users.py"), "alice", ADMIN_PW)  # forms: run the page itself
    at.text_input(key="users.name").input("carol")
    at.text_input(key="users.password").input("carol's long passphrase")
    next(b for b in at.button if b.label == "Add account").click().run()
    assert "Added carol" in at.success[0].value
    at.selectbox(key="users.pick").set_value("carol").run()
    next(b for b in at.button if b.label == "Disable").click().run()
    assert [u.disabled for u in Accounts(clinic.engine).list() if u.username == "carol"] == [True]
    assert [a for _, a in _actions(clinic)][-2:] == ["user_add", "user_disable"]


def test_history_view_export_and_erase_write_their_rows(clinic):
    clinic.save_visit(make_visit(pseudonym="P-0042"))
    at = _login(_app("pages/history.py"), "bob", CLIN_PW)
    assert not at.exception
    at.run()  # a rerun of the same lesion is not another view
    views = [e for e in AuditLog(clinic.engine).events() if e.action == "view_history"]
    assert [(e.actor, e.pseudonym, e.lesion_id) for e in views] == [("bob", "P-0042", "L1")]
    export = casebook.export_patient(clinic, "P-0042", actor="bob", client="10.0.0.9")
    assert export[:2] == b"PK"
    at.checkbox(key=casebook.HISTORY_ERASE_CONFIRM).check().run()
    next(b for b in at.button if b.label == "Erase patient").click().run()
    assert not at.exception
    assert clinic.count() == (0, 0)
    rows = AuditLog(clinic.engine).events(pseudonym="P-0042")
    assert [(e.actor, e.action) for e in rows] == [
        ("bob", "erase_patient"),
        ("bob", "export_patient"),
        ("bob", "view_history"),
    ]
    assert rows[1].client == "10.0.0.9"


@pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)
def test_saving_a_visit_writes_its_row_with_the_visit_id(clinic):
    at = _login(_app("pages/diagnose.py"), "bob", CLIN_PW)
    at.radio(key="diagnose.source").set_value("Sample").run()
    at.selectbox(key="diagnose.sample").set_value("ISIC_0000309").run()
    at.checkbox(key=casebook.SAVE_OPT_IN).check().run()
    at.text_input(key=casebook.SAVE_PSEUDONYM).input("P-0077")
    at.text_input(key=casebook.SAVE_LESION).input("L2")
    next(b for b in at.button if b.label == "Save visit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [visit] = clinic.visits("P-0077")
    [row] = AuditLog(clinic.engine).events(actions=("save_visit",))
    assert (row.actor, row.pseudonym, row.lesion_id, row.visit_id) == (
        "bob",
        "P-0077",
        "L2",
        visit.id,
    )


def test_exporting_the_audit_trail_writes_its_row(clinic):
    AuditLog(clinic.engine).record("bob", "login")
    events = AuditLog(clinic.engine).events()
    data = admin.audit_csv(events, "alice", "10.0.0.2")
    assert data.decode().splitlines()[1].split(",")[2:4] == ["bob", "login"]
    [row] = AuditLog(clinic.engine).events(actions=("export_audit",))
    assert (row.actor, row.client, row.detail) == ("alice", "10.0.0.2", "1 rows")


def test_disabling_an_account_ends_its_open_session(clinic):
    at = _login(_app(), "bob", CLIN_PW)
    Accounts(clinic.engine).set_disabled("bob", True)
    at.run()
    _only_login_form(at)
    assert "disabled" in at.info[0].value


def test_default_mode_none_has_no_login(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINAPP_DATA_DIR", str(tmp_path / "cases"))
    monkeypatch.delenv("SKINAPP_AUTH", raising=False)
    at = _app()
    assert [t.value for t in at.title] == ["Diagnose"]
    assert len(at.sidebar.button) == 0
    assert not (tmp_path / "cases").exists()  # the gate stores nothing either


def test_none_on_a_network_address_refuses_to_serve(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINAPP_DATA_DIR", str(tmp_path / "cases"))
    monkeypatch.delenv("SKINAPP_AUTH", raising=False)
    monkeypatch.setattr(gate.st, "get_option", lambda name: "0.0.0.0")
    at = _app()
    assert "Refusing to serve" in at.error[0].value
    assert [t.value for t in at.title] == ["skinapp"]


def test_proxy_header_is_trusted_only_from_the_proxy(clinic, monkeypatch):
    monkeypatch.setenv("SKINAPP_AUTH", "proxy")
    monkeypatch.setenv("SKINAPP_PROXY_ADDRESSES", "10.0.0.1")
    headers = {"X-Forwarded-User": "alice", "X-Real-IP": "192.168.5.5"}
    monkeypatch.setattr(gate, "_headers", lambda: headers)
    monkeypatch.setattr(gate, "_peer", lambda: "10.0.0.66")  # not the proxy
    at = _app()
    assert "only through its login proxy" in at.error[0].value
    assert gate.IDENTITY not in at.session_state
    monkeypatch.setattr(gate, "_peer", lambda: "10.0.0.1")
    at = _app()
    assert [t.value for t in at.title] == ["Diagnose"]
    assert at.session_state[gate.IDENTITY].role == "admin"  # alice's account
    assert [(e.actor, e.action, e.client) for e in AuditLog(clinic.engine).events()] == [
        ("alice", "login", "192.168.5.5")
    ]


def test_oidc_uses_st_user(clinic, monkeypatch):
    monkeypatch.setenv("SKINAPP_AUTH", "oidc")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Log in with your organisation's account"]
    assert len(at.text_input) == 0 and len(at.sidebar.children) == 0
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": "Dana@Clinic.org"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Diagnose"]
    assert at.session_state[gate.IDENTITY].username == "dana@clinic.org"
    assert _actions(clinic) == [("dana@clinic.org", "login")]
