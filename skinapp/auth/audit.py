"""The audit trail: who did what to which patient record, when and from where.

Rows are only ever inserted (:meth:`AuditLog.record`); the database refuses UPDATE and DELETE
on ``audit_events`` (revision 0003's triggers) and this module has no code path for either.
Rows name the pseudonym, lesion and visit, never an image, so they outlive an erased patient.

Core code: no Streamlit here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from skinapp.store.db import IMMEDIATE
from skinapp.store.errors import StoreUnavailableError
from skinapp.store.schema import audit_events

__all__ = ["ACTIONS", "CSV_COLUMNS", "AuditEvent", "AuditLog", "events_csv"]

logger = logging.getLogger(__name__)

#: Every action the app records, with what it means (the Audit page's legend).
ACTIONS: dict[str, str] = {
    "login": "logged in",
    "login_failed": "failed to log in (wrong password, locked or disabled account)",
    "logout": "logged out",
    "timeout": "logged out after the idle timeout",
    "view_history": "opened a patient's lesion history",
    "save_visit": "saved a visit to the case history",
    "export_patient": "exported a patient's records",
    "erase_patient": "erased a patient's visits and photos",
    "user_add": "created an account",
    "user_reset": "reset a password",
    "user_disable": "disabled an account",
    "user_enable": "enabled an account",
    "user_role": "changed a role",
    "export_audit": "exported the audit trail",
}
CSV_COLUMNS = (
    "id",
    "at_utc",
    "actor",
    "action",
    "pseudonym",
    "lesion_id",
    "visit_id",
    "client",
    "detail",
)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: dt.datetime
    actor: str
    action: str
    pseudonym: str | None
    lesion_id: str | None
    visit_id: int | None
    client: str
    detail: str


class AuditLog:
    """The ``audit_events`` table of an opened case store (``CaseStore.engine``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    def record(
        self,
        actor: str,
        action: str,
        *,
        pseudonym: str | None = None,
        lesion_id: str | None = None,
        visit_id: int | None = None,
        client: str | None = None,
        detail: str = "",
    ) -> None:
        """Append one row.

        Raises
        ------
        ValueError
            An action not in :data:`ACTIONS` (a programming error).
        StoreUnavailableError
            The row could not be written.
        """
        row = self.row(
            actor,
            action,
            pseudonym=pseudonym,
            lesion_id=lesion_id,
            visit_id=visit_id,
            client=client,
            detail=detail,
        )
        try:
            with self._writer.begin() as conn:
                conn.execute(insert(audit_events), row)
        except SQLAlchemyError as err:
            raise StoreUnavailableError(
                f"The audit trail could not be written: {getattr(err, 'orig', err)}. The action "
                "was not recorded; try again."
            ) from err
        logger.info("audit: %s %s", row["actor"], action)

    @staticmethod
    def row(
        actor: str,
        action: str,
        *,
        pseudonym: str | None = None,
        lesion_id: str | None = None,
        visit_id: int | None = None,
        client: str | None = None,
        detail: str = "",
    ) -> dict[str, object]:
        """One ``audit_events`` row, stamped now (for :meth:`record`, or for the case store
        to append in the same transaction as the change it records)."""
        if action not in ACTIONS:
            raise ValueError(f"Unknown audit action {action!r}; add it to ACTIONS.")
        return {
            "at": dt.datetime.now(dt.UTC),
            "actor": (actor or "?")[:128],
            "action": action,
            "pseudonym": pseudonym,
            "lesion_id": lesion_id,
            "visit_id": visit_id,
            "client": (client or "")[:64],
            "detail": (detail or "")[:256],
        }

    def events(
        self,
        *,
        actor: str = "",
        actions: tuple[str, ...] = (),
        pseudonym: str = "",
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Rows matching every given filter, newest first (dates inclusive, UTC)."""
        query = select(audit_events).order_by(audit_events.c.id.desc())
        if actor.strip():
            query = query.where(audit_events.c.actor == actor.strip().lower())
        if actions:
            query = query.where(audit_events.c.action.in_(actions))
        if pseudonym.strip():
            query = query.where(audit_events.c.pseudonym == pseudonym.strip())
        if since is not None:
            start = dt.datetime.combine(since, dt.time(), dt.UTC)
            query = query.where(audit_events.c.at >= start)
        if until is not None:
            end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
            query = query.where(audit_events.c.at < end)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AuditEvent(
                id=r["id"],
                at=r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=dt.UTC),
                actor=r["actor"],
                action=r["action"],
                pseudonym=r["pseudonym"],
                lesion_id=r["lesion_id"],
                visit_id=r["visit_id"],
                client=r["client"],
                detail=r["detail"],
            )
            for r in rows
        ]


def events_csv(events: list[AuditEvent]) -> bytes:
    """The events as CSV (:data:`CSV_COLUMNS`), UTF-8."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.id,
                e.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                e.actor,
                e.action,
                e.pseudonym or "",
                e.lesion_id or "",
                "" if e.visit_id is None else e.visit_id,
                e.client,
                e.detail,
            ]
        )
    return table.getvalue().encode("utf-8")
