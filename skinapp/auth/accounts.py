"""Personal accounts in the case store's database: add, reset, disable, log in.

Passwords are stored as argon2id hashes only (:mod:`skinapp.auth.passwords`). After
``max_failures`` wrong passwords in a row an account is locked for ``lockout_minutes``; a
reset by an administrator unlocks it. User names are case-insensitive (kept in lower case).

Core code: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from skinapp.auth.config import AuthConfig
from skinapp.auth.errors import AccountLockedError, AuthError, LoginError, UnknownUserError
from skinapp.auth.passwords import check_policy, hash_password, needs_rehash, verify_password
from skinapp.auth.roles import ROLES, Identity
from skinapp.store.db import IMMEDIATE
from skinapp.store.errors import StoreUnavailableError
from skinapp.store.schema import users

__all__ = ["WRONG_CREDENTIALS", "Accounts", "User", "check_username"]

WRONG_CREDENTIALS = "Wrong user name or password."
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,127}$")


@dataclass(frozen=True)
class User:
    """An account as listed to administrators (never the hash)."""

    username: str
    role: str
    disabled: bool
    locked_until: dt.datetime | None
    failed_logins: int
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    has_password: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def check_username(username: str) -> str:
    """The user name in lower case, or a clear error (2-128 of letters, digits, ``._@+-``)."""
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise AuthError(
            "A user name has 2 to 128 characters: letters, digits and . _ @ + - (an e-mail "
            f"address works). Received: {username!r}."
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(f"The role must be one of {', '.join(ROLES)}. Received: {role!r}.")
    return role


class Accounts:
    """The ``users`` table of an opened case store (``CaseStore.engine``)."""

    def __init__(self, engine: Engine, config: AuthConfig | None = None) -> None:
        self.engine = engine
        self.config = config or AuthConfig()
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as err:
            raise StoreUnavailableError(
                f"The accounts could not be read or written: {getattr(err, 'orig', err)}. "
                "Try again; if it persists, check the database."
            ) from err

    def _row(self, conn: Connection, username: str):
        return conn.execute(select(users).where(users.c.username == username)).mappings().first()

    # === Administration (command line and the Users page) ===

    def add(self, username: str, password: str | None, role: str) -> str:
        """Create an account; ``password=None`` for one that logs in through OIDC or a proxy.

        Raises
        ------
        AuthError
            Bad name or role, or the name is taken. PasswordPolicyError: too short.
        """
        name = check_username(username)
        row = {
            "username": name,
            "role": _check_role(role),
            "password_hash": None,
            "created_at": _now(),
        }
        if password is not None:
            row["password_hash"] = hash_password(check_policy(password, self.config.min_password))
            row["password_changed_at"] = row["created_at"]
        try:
            with self._write() as conn:
                conn.execute(insert(users), row)
        except IntegrityError:
            raise AuthError(f"There is already an account {name!r}.") from None
        return name

    def _change(self, username: str, **values) -> None:
        name = check_username(username)
        with self._write() as conn:
            query = update(users).where(users.c.username == name).values(**values)
            if conn.execute(query).rowcount:
                return
        raise UnknownUserError(f"There is no account {name!r} (python -m skinapp.users list).")

    def reset(self, username: str, password: str) -> None:
        """Set a new password and unlock the account."""
        encoded = hash_password(check_policy(password, self.config.min_password))
        self._change(
            username,
            password_hash=encoded,
            password_changed_at=_now(),
            failed_logins=0,
            locked_until=None,
        )

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (no login, sessions end at their next action) or enable (and unlock)."""
        values = {"disabled": disabled}
        if not disabled:
            values.update(failed_logins=0, locked_until=None)
        self._change(username, **values)

    def set_role(self, username: str, role: str) -> None:
        self._change(username, role=_check_role(role))

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.username)).mappings().all()
        return [
            User(
                username=r["username"],
                role=r["role"],
                disabled=bool(r["disabled"]),
                locked_until=_aware(r["locked_until"]),
                failed_logins=int(r["failed_logins"]),
                created_at=_aware(r["created_at"]),
                last_login_at=_aware(r["last_login_at"]),
                has_password=r["password_hash"] is not None,
            )
            for r in rows
        ]

    # === Logging in ===

    def authenticate(self, username: str, password: str) -> Identity:
        """Check a user name and password; counts failures and locks as configured.

        Raises
        ------
        LoginError
            Wrong user name or password (one message for both), or a disabled account.
        AccountLockedError
            Locked after too many failures (until the message's time).
        """
        try:
            name = check_username(username)
        except AuthError:
            verify_password(None, password or "")
            raise LoginError(WRONG_CREDENTIALS) from None
        now = _now()
        with self._write() as conn:
            row = self._row(conn, name)
            if row is None:
                verify_password(None, password or "")
                raise LoginError(WRONG_CREDENTIALS)
            locked_until = _aware(row["locked_until"])
            if locked_until is not None and locked_until > now:
                raise AccountLockedError(_locked_message(locked_until))
            if verify_password(row["password_hash"], password or ""):
                failure = None
            else:
                failure = self._count_failure(conn, row, now)
        if failure is not None:
            raise failure
        if row["disabled"]:
            raise LoginError("This account is disabled. Ask an administrator to enable it.")
        values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if needs_rehash(row["password_hash"]):
            values["password_hash"] = hash_password(password)
        with self._write() as conn:
            conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        return Identity(username=name, role=row["role"], mode="accounts")

    def _count_failure(self, conn: Connection, row, now: dt.datetime) -> LoginError:
        """Record a wrong password (committed with the caller's transaction); the error."""
        failures = int(row["failed_logins"]) + 1
        if failures >= self.config.max_failures:
            until = now + dt.timedelta(minutes=self.config.lockout_minutes)
            values = {"failed_logins": 0, "locked_until": until}
            error: LoginError = AccountLockedError(_locked_message(until))
        else:
            values = {"failed_logins": failures}
            error = LoginError(WRONG_CREDENTIALS)
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        return error

    def external(self, username: str, mode: str) -> Identity:
        """The identity of a user authenticated elsewhere (OIDC provider, proxy): the role of
        the matching account if there is one, else clinician.

        Raises
        ------
        LoginError
            The matching account is disabled.
        """
        name = check_username(username)
        with self.engine.connect() as conn:
            row = self._row(conn, name)
        if row is None:
            return Identity(username=name, role="clinician", mode=mode)
        if row["disabled"]:
            raise LoginError("This account is disabled. Ask an administrator to enable it.")
        return Identity(username=name, role=row["role"], mode=mode)

    def is_active(self, username: str) -> bool:
        """False once the account is disabled or deleted (ends its open sessions)."""
        with self.engine.connect() as conn:
            row = self._row(conn, username)
        return row is not None and not row["disabled"]


def _locked_message(until: dt.datetime) -> str:
    return (
        "Too many wrong passwords: this account is locked until "
        f"{until.astimezone(dt.UTC):%H:%M} UTC. Try again then, or ask an administrator to "
        "reset the password."
    )
