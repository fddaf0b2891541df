"""Personal accounts (``users`` table) on SQLite and PostgreSQL.

Behaviours: passwords are stored as argon2id hashes only (read back from the table); the
minimum length is enforced; a right password logs in, a wrong one or an unknown user gives
one message; repeated failures lock the account (even the right password is refused until
the lock ends) and a reset unlocks it; a disabled account cannot log in, enabling restores
it; names are case-insensitive and unique; external (OIDC/proxy) users take their account's
role; the users command line adds, resets, disables and lists, and audits each change.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from skinapp import users as users_cli
from skinapp.auth import (
    AccountLockedError,
    Accounts,
    AuditLog,
    AuthConfig,
    AuthError,
    LoginError,
    PasswordPolicyError,
)
from skinapp.store.schema import users

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(store) -> Accounts:
    return Accounts(store.engine, AuthConfig(max_failures=3, lockout_minutes=15))


def _stored(accounts: Accounts) -> dict[str, str | None]:
    with accounts.engine.connect() as conn:
        return dict(conn.execute(select(users.c.username, users.c.password_hash)).all())


def test_passwords_are_stored_as_argon2id_hashes_only(accounts):
    accounts.add("alice", PASSWORD, "admin")
    accounts.add("bob", "another long passphrase", "clinician")
    stored = _stored(accounts)
    assert set(stored) == {"alice", "bob"}
    for value in stored.values():
        assert value.startswith("$argon2id$")
        assert PASSWORD not in value and "passphrase" not in value
    assert stored["alice"] != stored["bob"]
    with accounts.engine.connect() as conn:  # nowhere else in the row either
        row = conn.execute(select(users).where(users.c.username == "alice")).one()
    assert not any(PASSWORD in str(v) for v in row)


def test_same_password_gets_different_salted_hashes(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    accounts.add("bob", PASSWORD, "clinician")
    stored = _stored(accounts)
    assert stored["alice"] != stored["bob"]


def test_short_password_is_refused(accounts):
    with pytest.raises(PasswordPolicyError, match="at least 12 characters"):
        accounts.add("alice", "short", "clinician")
    assert _stored(accounts) == {}


def test_right_password_logs_in_with_the_role(accounts):
    accounts.add("Alice", PASSWORD, "admin")
    identity = accounts.authenticate("ALICE", PASSWORD)
    assert (identity.username, identity.role, identity.is_admin) == ("alice", "admin", True)
    [user] = accounts.list()
    assert user.last_login_at is not None and user.failed_logins == 0


def test_wrong_password_and_unknown_user_get_the_same_message(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    with pytest.raises(LoginError) as wrong:
        accounts.authenticate("alice", "not the password")
    with pytest.raises(LoginError) as unknown:
        accounts.authenticate("mallory", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "Wrong user name or password."
    assert accounts.list()[0].failed_logins == 1


def test_repeated_failures_lock_the_account_and_reset_unlocks(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    for _ in range(2):
        with pytest.raises(LoginError) as err:
            accounts.authenticate("alice", "wrong password!")
        assert not isinstance(err.value, AccountLockedError)
    with pytest.raises(AccountLockedError, match="locked until"):
        accounts.authenticate("alice", "wrong password!")
    with pytest.raises(AccountLockedError):  # even the right password, while locked
        accounts.authenticate("alice", PASSWORD)
    [user] = accounts.list()
    assert user.locked_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=14)
    accounts.reset("alice", "a brand new passphrase")
    assert accounts.authenticate("alice", "a brand new passphrase").username == "alice"


def test_lock_ends_after_the_lockout_time(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    for _ in range(3):
        with pytest.raises(LoginError):
            accounts.authenticate("alice", "wrong password!")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with accounts.engine.begin() as conn:
        conn.execute(update(users).values(locked_until=past))
    assert accounts.authenticate("alice", PASSWORD).username == "alice"


def test_disabled_account_cannot_log_in_and_enable_restores_it(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    accounts.set_disabled("alice", True)
    with pytest.raises(LoginError, match="disabled"):
        accounts.authenticate("alice", PASSWORD)
    assert not accounts.is_active("alice")
    accounts.set_disabled("alice", False)
    assert accounts.authenticate("alice", PASSWORD).username == "alice"


def test_names_are_unique_case_insensitively_and_checked(accounts):
    accounts.add("alice", PASSWORD, "clinician")
    with pytest.raises(AuthError, match="already an account"):
        accounts.add("ALICE", PASSWORD, "clinician")
    with pytest.raises(AuthError, match="user name"):
        accounts.add("a b", PASSWORD, "clinician")
    with pytest.raises(AuthError, match="role"):
        accounts.add("carol", PASSWORD, "superuser")


def test_external_users_take_their_accounts_role(accounts):
    accounts.add("boss@clinic.org", None, "admin")
    assert accounts.external("Boss@clinic.org", "oidc").role == "admin"
    assert accounts.external("someone@clinic.org", "oidc").role == "clinician"
    with pytest.raises(LoginError):  # no password: cannot log in with one
        accounts.authenticate("boss@clinic.org", "")
    accounts.set_disabled("boss@clinic.org", True)
    with pytest.raises(LoginError, match="disabled"):
        accounts.external("boss@clinic.org", "proxy")


def test_users_cli_adds_resets_disables_and_lists_with_audit(store, monkeypatch, capsys):
    monkeypatch.setenv("SKINAPP_AUTH", "accounts")
    if not store.config.is_sqlite:  # the command line opens the store of the environment
        url = store.config.url.render_as_string(hide_password=False)
        monkeypatch.setenv("SKINAPP_DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert users_cli.main(["add", "Alice", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert users_cli.main(["reset", "alice", "--password-stdin"]) == 2
    assert "at least 12" in capsys.readouterr().err
    assert users_cli.main(["disable", "alice"]) == 0
    assert users_cli.main(["disable", "nobody"]) == 2
    assert users_cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "admin" in out and "disabled" in out
    accounts = Accounts(store.engine)
    with pytest.raises(LoginError, match="disabled"):
        accounts.authenticate("alice", PASSWORD)
    actions = [e.action for e in AuditLog(store.engine).events()]
    assert actions == ["user_disable", "user_add"]
