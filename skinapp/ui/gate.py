"""The one login gate in front of every page, the session's identity and the audit helper.

``app.py`` calls :func:`require_login` before ``st.navigation``: until it returns, the only
thing the app renders is the login form (mode ``accounts``), the provider's login button
(``oidc``) or a refusal (``proxy`` without the proxy's header, ``none`` on a network address).
No page, sample or model file is touched before that. Pages call it again through
``state.init_state()`` (a no-op once logged in) so a page run on its own is gated too.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from collections.abc import Mapping

import streamlit as st

from skinapp.auth import (
    ADMIN,
    CLINICIAN,
    Accounts,
    AuditLog,
    AuthConfig,
    AuthMode,
    Identity,
    LoginError,
    auth_config,
    check_exposure,
)
from skinapp.errors import SkinappError
from skinapp.ui import storage

__all__ = [
    "IDENTITY",
    "accounts",
    "audit",
    "audit_log",
    "audit_row",
    "client_address",
    "current_identity",
    "logout",
    "require_login",
    "require_role",
    "sidebar",
    "view_history",
]

logger = logging.getLogger(__name__)

# Session keys ("<page>.<name>").
IDENTITY = "auth.identity"
LAST_SEEN = "auth.last_seen"
NOTICE = "auth.notice"
LOGIN_FORM = "auth.login"
LOGIN_USER = "auth.username"
LOGIN_PASSWORD = "auth.password"
_VIEWED = "auth.viewed"
_LOCAL = Identity(username="local", role=CLINICIAN, mode=AuthMode.NONE.value)
_REPLICA_ENV = "SKINAPP_REPLICA"
#: The open-network warning is logged once per process, not on every rerun.
_WARNED: list[bool] = []


# === Who and from where ===


def _peer() -> str:
    """The TCP peer of this session's connection (loopback when Streamlit hides it)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "127.0.0.1"


def _headers() -> Mapping[str, str]:
    try:
        return st.context.headers
    except (AttributeError, RuntimeError):
        return {}


def _from_proxy(config: AuthConfig) -> bool:
    return _peer() in config.proxy_addresses


def client_address(config: AuthConfig | None = None) -> str:
    """The user's address for the audit trail: the proxy's ``X-Real-IP`` when the connection
    comes from a configured proxy (``SKINAPP_PROXY_ADDRESSES``), else the TCP peer."""
    config = config or auth_config()
    if _from_proxy(config):
        real = (_headers().get("X-Real-IP") or "").strip()
        try:
            return str(ipaddress.ip_address(real))
        except ValueError:
            pass
    return _peer()


def current_identity() -> Identity | None:
    return st.session_state.get(IDENTITY)


def accounts(config: AuthConfig | None = None) -> Accounts:
    return Accounts(storage.store().engine, config or auth_config())


def audit_log() -> AuditLog:
    return AuditLog(storage.store().engine)


def audit_row(action: str, **fields) -> dict[str, object]:
    """An audit row of ``action`` by this session's user, for the case store to append in the
    same transaction as the change."""
    identity = current_identity() or _LOCAL
    return AuditLog.row(identity.username, action, client=client_address(), **fields)


def audit(action: str, **fields) -> None:
    """Record ``action`` by this session's user (``local`` without logins) in the audit trail.

    Raises
    ------
    StoreError
        The row could not be written.
    """
    identity = current_identity() or _LOCAL
    audit_log().record(identity.username, action, client=client_address(), **fields)


def view_history(pseudonym: str, lesion_id: str) -> None:
    """Record that this session opened a patient's lesion history (once per lesion shown)."""
    if st.session_state.get(_VIEWED) == (pseudonym, lesion_id):
        return
    audit("view_history", pseudonym=pseudonym, lesion_id=lesion_id)
    st.session_state[_VIEWED] = (pseudonym, lesion_id)


# === The gate ===


def _stop_with(message: str, paths: tuple[str, ...] | None = None) -> None:
    """Show only ``message`` (a refusal) and stop the run (``paths``: as for the login)."""

    def refusal() -> None:
        st.title("skinapp")
        st.error(message, icon=":material/lock:")

    _render_only(refusal, "Refused", paths)


def _start_session(identity: Identity) -> None:
    for key in list(st.session_state.keys()):  # nothing of an earlier user survives
        del st.session_state[key]
    st.session_state[IDENTITY] = identity
    st.session_state[LAST_SEEN] = dt.datetime.now(dt.UTC)


def _end_session(action: str, notice: str | None = None) -> None:
    identity = current_identity()
    if identity is not None:
        try:
            audit(action)
        except SkinappError as err:
            logger.warning("Could not record %s: %s", action, err)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE] = notice


def logout() -> None:
    """End this session (a button callback): audited; OIDC also ends the provider's login."""
    identity = current_identity()
    _end_session("logout", "You are logged out.")
    if identity is not None and identity.mode == AuthMode.OIDC.value:
        st.logout()


def _idle_expired(config: AuthConfig) -> bool:
    last = st.session_state.get(LAST_SEEN)
    now = dt.datetime.now(dt.UTC)
    if last is not None and now - last > dt.timedelta(minutes=config.idle_minutes):
        return True
    st.session_state[LAST_SEEN] = now
    return False


def _login_view() -> None:
    config = auth_config()
    st.title("skinapp · log in")
    st.caption(
        "Dermoscopy decision support, not a diagnosis. Log in with your personal account; "
        "your administrator creates it."
    )
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.info(notice, icon=":material/info:")
    if config.mode is AuthMode.OIDC:
        if st.button("Log in with your organisation's account", icon=":material/login:"):
            st.login(config.oidc_provider) if config.oidc_provider else st.login()
        return
    with st.form(LOGIN_FORM, clear_on_submit=True):
        username = st.text_input("User name", key=LOGIN_USER, autocomplete="username")
        password = st.text_input(
            "Password", key=LOGIN_PASSWORD, type="password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Log in", icon=":material/login:")
    if submitted:
        _attempt(config, username, password)


def _attempt(config: AuthConfig, username: str, password: str) -> None:
    try:
        identity = accounts(config).authenticate(username, password)
    except LoginError as err:
        try:
            audit_log().record(
                (username or "").strip().lower()[:128] or "?",
                "login_failed",
                client=client_address(config),
                detail=type(err).__name__,
            )
        except SkinappError as audit_err:
            logger.warning("Could not record a failed login: %s", audit_err)
        st.error(str(err), icon=":material/lock:")
        return
    except SkinappError as err:
        st.error(str(err))
        return
    _start_session(identity)
    audit("login")
    st.rerun()


def _render_only(view, title: str, paths: tuple[str, ...] | None) -> None:
    """Render only ``view`` and stop the run.

    With ``paths`` (from ``app.py``) the view is the only page of ``st.navigation``, under
    every path of the app's pages too: ``/history`` opens it (no "page not found", and no
    list of page files from Streamlit's legacy pages-folder mode), and after the login the
    same address opens the page itself.
    """
    if paths is not None:
        only = [st.Page(view, title=title, default=True)]
        only += [st.Page(view, title=title, url_path=path) for path in paths if path]
        st.navigation(only, position="hidden").run()
    else:
        view()
    st.stop()


def _show_login(paths: tuple[str, ...] | None) -> None:
    _render_only(_login_view, "Log in", paths)


def _external(config: AuthConfig, paths: tuple[str, ...] | None) -> Identity:
    """The identity of an OIDC or proxy session (a login row the first time)."""
    identity = current_identity()
    if config.mode is AuthMode.PROXY:
        name = (_headers().get(config.proxy_header) or "").strip()
        if not _from_proxy(config) or not name:
            _stop_with(
                "This app accepts users only through its login proxy. Open it at the "
                "clinic's address, not a replica's port.",
                paths,
            )
    else:
        name = str(st.user.get("email") or st.user.get("preferred_username") or "").strip()
    if identity is not None and identity.username == name.lower():
        return identity
    try:
        identity = accounts(config).external(name, config.mode.value)
    except SkinappError as err:
        _stop_with(str(err), paths)
    _start_session(identity)
    audit("login", detail=config.mode.value)
    return identity


def require_login(pages: dict[str, list] | None = None) -> Identity:
    """The identity of this session, or render the login view and stop the run.

    Parameters
    ----------
    pages : dict of section to list of st.Page, optional
        ``app.py``'s pages: the login view then becomes the only page of ``st.navigation``
        (under their paths), so no other page can be reached. None inside a page.
    """
    paths = None if pages is None else tuple(p.url_path for ps in pages.values() for p in ps)
    try:
        config = auth_config()
        warning = check_exposure(config, st.get_option("server.address"))
    except SkinappError as err:
        _stop_with(str(err), paths)
    if warning and not _WARNED:
        logger.warning(warning)
        _WARNED.append(True)
    if config.mode is AuthMode.NONE:
        return _LOCAL
    if config.mode is AuthMode.OIDC and not st.user.is_logged_in:
        _show_login(paths)
    if config.mode is not AuthMode.ACCOUNTS:
        identity = _external(config, paths)
    else:
        identity = current_identity()
        if identity is None:
            _show_login(paths)
    if config.mode is not AuthMode.PROXY and _idle_expired(config):
        minutes = f"{config.idle_minutes:g}"
        _end_session("timeout", f"You were logged out after {minutes} minutes without activity.")
        if config.mode is AuthMode.OIDC:
            st.logout()  # else the provider's cookie logs the user straight back in
        _show_login(paths)
    if config.mode is AuthMode.ACCOUNTS and not _still_active(config, identity):
        _end_session("logout", "Your account was disabled. Ask an administrator.")
        _show_login(paths)
    return identity


def _still_active(config: AuthConfig, identity: Identity) -> bool:
    try:
        return accounts(config).is_active(identity.username)
    except Exception as err:  # a database hiccup must not end every session
        logger.warning("Could not check the account of %s: %s", identity.username, err)
        return True


def require_role(role: str = ADMIN) -> Identity:
    """Stop the page unless this session's user has ``role`` (admin pages)."""
    identity = require_login()
    if identity.role != role:
        _stop_with(f"Only users with the {role} role can open this page.")
    return identity


def sidebar(identity: Identity) -> None:
    """Who is logged in, a log-out button, and which replica serves this session."""
    replica = os.environ.get(_REPLICA_ENV)
    if identity.mode != AuthMode.NONE.value:
        st.sidebar.caption(f"Logged in as **{identity.username}** · {identity.role}")
        st.sidebar.button("Log out", icon=":material/logout:", on_click=logout, key="auth.logout")
    if replica:
        st.sidebar.caption(f"Served by replica {replica}")
