"""The audit trail (``audit_events``) on SQLite and PostgreSQL.

Behaviours: rows are appended and read back newest first with every field; filters by user,
action, pseudonym and dates; the database refuses UPDATE and DELETE of audit rows (and
TRUNCATE on PostgreSQL); a save and an erase append their row in the same transaction;
erasing a patient removes the visits and photos but keeps the audit rows; the CSV export
has the documented columns; an unknown action is a programming error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from skinapp.auth import AuditLog, events_csv
from skinapp.auth.audit import CSV_COLUMNS
from skinapp.store.schema import audit_events
from tests.store.helpers import make_visit


@pytest.fixture
def audit(store) -> AuditLog:
    return AuditLog(store.engine)


def test_rows_are_appended_and_read_back_newest_first(audit):
    audit.record("alice", "login", client="10.0.0.7")
    audit.record("alice", "view_history", pseudonym="P-1", lesion_id="L1", client="10.0.0.7")
    newest, oldest = audit.events()
    assert (newest.actor, newest.action, newest.pseudonym, newest.lesion_id) == (
        "alice",
        "view_history",
        "P-1",
        "L1",
    )
    assert (oldest.action, oldest.client) == ("login", "10.0.0.7")
    assert newest.at.tzinfo is not None
    assert abs(newest.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_filters(audit):
    audit.record("alice", "login")
    audit.record("bob", "save_visit", pseudonym="P-1", visit_id=3)
    audit.record("bob", "erase_patient", pseudonym="P-2")
    assert [e.action for e in audit.events(actor="BOB")] == ["erase_patient", "save_visit"]
    assert [e.actor for e in audit.events(actions=("login",))] == ["alice"]
    assert [e.action for e in audit.events(pseudonym="P-1")] == ["save_visit"]
    today = dt.datetime.now(dt.UTC).date()
    assert len(audit.events(since=today, until=today)) == 3
    assert audit.events(until=today - dt.timedelta(days=2)) == []


def test_database_refuses_to_change_or_delete_audit_rows(audit):
    audit.record("alice", "login")
    for statement in (
        update(audit_events).values(actor="mallory"),
        delete(audit_events),
    ):
        with pytest.raises(DBAPIError, match="append-only"), audit.engine.begin() as conn:
            conn.execute(statement)
    if audit.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), audit.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))
    [event] = audit.events()
    assert event.actor == "alice"


def test_save_and_erase_append_their_rows_and_erase_keeps_the_trail(store, audit):
    row = AuditLog.row("bob", "save_visit", pseudonym="P-0001", lesion_id="L1", client="c")
    visit_id = store.save_visit(make_visit(), audit=row)
    audit.record("bob", "view_history", pseudonym="P-0001", lesion_id="L1")
    erased = store.erase_patient(
        "P-0001", audit=AuditLog.row("bob", "erase_patient", pseudonym="P-0001")
    )
    assert erased == 1 and store.count() == (0, 0)
    erase, view, save = audit.events()
    assert (save.action, save.visit_id, save.client) == ("save_visit", visit_id, "c")
    assert view.action == "view_history"
    assert (erase.action, erase.pseudonym, erase.detail) == (
        "erase_patient",
        "P-0001",
        "1 visits erased",
    )


def test_csv_export_has_the_documented_columns(audit):
    audit.record("alice", "export_patient", pseudonym="P-9", client="10.1.1.1")
    rows = list(csv.DictReader(io.StringIO(events_csv(audit.events()).decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert (rows[0]["actor"], rows[0]["action"], rows[0]["pseudonym"]) == (
        "alice",
        "export_patient",
        "P-9",
    )


def test_unknown_action_is_refused(audit):
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record("alice", "bribe")
