"""Widgets of the admin pages: the account list and forms (Users), the audit filter (Audit).

Every change made here is recorded in the audit trail under the administrator's name.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from skinapp.auth import ACTIONS, ROLES, AuditEvent, events_csv
from skinapp.errors import SkinappError
from skinapp.ui import gate

__all__ = ["audit_csv", "audit_filters", "audit_frame", "flash", "user_forms", "users_frame"]

# Session keys ("<page>.<name>").
USERS_ADD = "users.add"
USERS_NAME = "users.name"
USERS_PASSWORD = "users.password"
USERS_ROLE = "users.role"
USERS_PICK = "users.pick"
USERS_RESET_PASSWORD = "users.reset_password"
USERS_FLASH = "users.flash"
AUDIT_ACTOR = "audit.actor"
AUDIT_ACTIONS = "audit.actions"
AUDIT_PSEUDONYM = "audit.pseudonym"
AUDIT_DATES = "audit.dates"


def _when(value: dt.datetime | None) -> str:
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if value else ""


def users_frame() -> pd.DataFrame:
    rows = [
        {
            "User": u.username,
            "Role": u.role,
            "State": "disabled" if u.disabled else "active",
            "Locked until (UTC)": _when(u.locked_until),
            "Password": "set" if u.has_password else "none (OIDC/proxy)",
            "Last login (UTC)": _when(u.last_login_at),
            "Created (UTC)": _when(u.created_at),
        }
        for u in gate.accounts().list()
    ]
    return pd.DataFrame(rows)


def _done(action: str, detail: str, message: str) -> None:
    """Record the change, then rerun so that the table shows it (the message survives)."""
    gate.audit(action, detail=detail)
    st.session_state[USERS_FLASH] = message
    st.rerun()


def flash() -> None:
    """The message of the last change (after its rerun)."""
    message = st.session_state.pop(USERS_FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def user_forms(usernames: list[str]) -> None:
    """Add an account; reset, disable, enable or change the role of one."""
    accounts = gate.accounts()
    with st.form(USERS_ADD, clear_on_submit=True):
        st.markdown("**Add an account**")
        left, middle, right = st.columns(3)
        name = left.text_input("User name", key=USERS_NAME)
        password = middle.text_input(
            f"Password (at least {accounts.config.min_password} characters)",
            key=USERS_PASSWORD,
            type="password",
            autocomplete="new-password",
        )
        role = right.selectbox("Role", ROLES, key=USERS_ROLE)
        if st.form_submit_button("Add account", icon=":material/person_add:"):
            try:
                added = accounts.add(name, password, role)
                _done("user_add", f"{added} ({role})", f"Added {added} ({role}).")
            except SkinappError as err:
                st.error(str(err))
    if not usernames:
        return
    st.markdown("**Change an account**")
    who = st.selectbox("Account", usernames, key=USERS_PICK)
    new_password = st.text_input(
        "New password (for Reset)",
        key=USERS_RESET_PASSWORD,
        type="password",
        autocomplete="new-password",
    )
    reset, disable, enable, promote = st.columns(4)
    try:
        if reset.button("Reset password and unlock", icon=":material/lock_reset:"):
            accounts.reset(who, new_password)
            _done("user_reset", who, f"New password set for {who}; unlocked.")
        if disable.button("Disable", icon=":material/block:"):
            if who == gate.current_identity().username:
                st.error("You cannot disable your own account.")
            else:
                accounts.set_disabled(who, True)
                _done("user_disable", who, f"{who} is disabled.")
        if enable.button("Enable and unlock", icon=":material/check:"):
            accounts.set_disabled(who, False)
            _done("user_enable", who, f"{who} is enabled.")
        other = "clinician" if who in _admins(accounts) else "admin"
        if promote.button(f"Make {other}", icon=":material/manage_accounts:"):
            accounts.set_role(who, other)
            _done("user_role", f"{who} -> {other}", f"{who} is now {other}.")
    except SkinappError as err:
        st.error(str(err))


def _admins(accounts) -> set[str]:
    return {u.username for u in accounts.list() if u.role == "admin"}


def audit_filters() -> dict:
    """The filter widgets; keyword arguments for :meth:`AuditLog.events`."""
    left, middle, right, last = st.columns(4)
    actor = left.text_input("User", key=AUDIT_ACTOR, placeholder="user name")
    actions = middle.multiselect(
        "Actions", list(ACTIONS), key=AUDIT_ACTIONS, format_func=lambda a: a.replace("_", " ")
    )
    pseudonym = right.text_input("Patient pseudonym", key=AUDIT_PSEUDONYM)
    today = dt.datetime.now(dt.UTC).date()
    dates = last.date_input(
        "Dates (UTC)", value=(today - dt.timedelta(days=30), today), key=AUDIT_DATES
    )
    since, until = (dates[0], dates[-1]) if isinstance(dates, tuple) and dates else (None, None)
    return {
        "actor": actor,
        "actions": tuple(actions),
        "pseudonym": pseudonym,
        "since": since,
        "until": until,
    }


def audit_frame(events: list[AuditEvent]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "When (UTC)": e.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "User": e.actor,
                "Action": e.action,
                "Pseudonym": e.pseudonym or "",
                "Lesion": e.lesion_id or "",
                "Visit": "" if e.visit_id is None else str(e.visit_id),
                "From": e.client,
                "Detail": e.detail,
            }
            for e in events
        ],
        columns=["When (UTC)", "User", "Action", "Pseudonym", "Lesion", "Visit", "From", "Detail"],
    )


def audit_csv(events: list[AuditEvent], actor: str, client: str) -> bytes:
    """The filtered rows as CSV; the export itself is recorded (called on download)."""
    data = events_csv(events)
    gate_log = gate.audit_log()
    gate_log.record(actor, "export_audit", client=client, detail=f"{len(events)} rows")
    return data
