"""The case store: save visits, list patients, lesions and visits, erase and export a patient.

One :class:`CaseStore` per process is enough; it is thread-safe (SQLAlchemy's pool gives each
call its own connection) and several processes may share the database (see
:mod:`skinapp.store.db`). Nothing is written unless :meth:`CaseStore.save_visit` is called,
which the app does only when the user ticks "Save to case history".
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from skinapp.store.config import StoreConfig, store_config
from skinapp.store.db import IMMEDIATE, create_store_engine, upgrade
from skinapp.store.errors import StoreError, StoreUnavailableError
from skinapp.store.records import (
    NewVisit,
    Visit,
    check_notes,
    check_pseudonym,
    visit_differential_text,
    visit_from_row,
)
from skinapp.store.schema import audit_events, visit_images, visits

__all__ = ["EXPORT_COLUMNS", "CaseStore", "open_store"]

logger = logging.getLogger(__name__)

#: Columns of ``visits.csv`` in a patient export, in order.
EXPORT_COLUMNS = (
    "visit_id",
    "pseudonym",
    "lesion_id",
    "body_site",
    "visit_date",
    "created_at_utc",
    "model_version",
    "p_malignant",
    "grade",
    "label",
    "mm_per_pixel",
    "image_width",
    "image_height",
    "area_px",
    "area_mm2",
    "diameter_px",
    "diameter_mm",
    "asymmetry",
    "color_count",
    "colors",
    "notes",
    "differential",
    "image_file",
)


class CaseStore:
    """Saved visits in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        From :func:`skinapp.store.db.create_store_engine`; the schema must be current
        (:func:`open_store` does both).
    config : StoreConfig, optional
        Where the store is, for messages.
    """

    def __init__(self, engine: Engine, config: StoreConfig | None = None) -> None:
        self.engine = engine
        self.config = config
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    # === Transactions ===

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise self._unavailable(err) from err

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise self._unavailable(err) from err

    def _unavailable(self, err: SQLAlchemyError) -> StoreUnavailableError:
        where = self.config.describe() if self.config else "the case store"
        return StoreUnavailableError(
            f"The case history ({where}) could not be read or written: "
            f"{getattr(err, 'orig', err)}. Try again; if it persists, check the disk or server."
        )

    # === Writing ===

    def save_visit(self, visit: NewVisit, *, audit: Mapping[str, object] | None = None) -> int:
        """Store a visit and its image in one transaction; returns the new visit id.

        ``audit`` (a row of ``audit_events`` from :meth:`skinapp.auth.AuditLog.row`, without
        ``visit_id``) is appended in the same transaction: no save goes unrecorded.
        """
        row = {
            "pseudonym": visit.pseudonym,
            "lesion_id": visit.lesion_id,
            "body_site": visit.body_site,
            "visit_date": visit.visit_date,
            "created_at": visit.created_at,
            "model_version": visit.model_version,
            "p_malignant": visit.p_malignant,
            "grade": visit.grade,
            "label": visit.label,
            "mm_per_pixel": visit.mm_per_pixel,
            "image_width": visit.image_size[0],
            "image_height": visit.image_size[1],
            "descriptors": visit.descriptors,
            "settings": visit.settings,
            "contour": visit.contour,
            "notes": visit.notes,
            "differential": visit.differential,
        }
        with self._write() as conn:
            visit_id = conn.execute(insert(visits).returning(visits.c.id), row).scalar_one()
            conn.execute(
                insert(visit_images),
                {
                    "visit_id": visit_id,
                    "media_type": visit.media_type,
                    "sha256": visit.sha256,
                    "data": visit.image,
                },
            )
            if audit is not None:
                conn.execute(insert(audit_events), {**audit, "visit_id": int(visit_id)})
        logger.info("Saved visit %d (%d image bytes)", visit_id, len(visit.image))
        return int(visit_id)

    def set_notes(self, visit_id: int, notes: str) -> str:
        """Replace the clinician's notes of a visit; returns the notes as stored.

        Raises
        ------
        CaseInputError
            Notes too long.
        StoreError
            No such visit (e.g. erased by another session).
        """
        text = check_notes(notes)
        with self._write() as conn:
            updated = conn.execute(
                update(visits).where(visits.c.id == visit_id).values(notes=text)
            ).rowcount
        if not updated:
            raise StoreError(f"Visit {visit_id} is not in the case history (erased?).")
        return text

    def erase_patient(self, pseudonym: str, *, audit: Mapping[str, object] | None = None) -> int:
        """Delete every visit and image of a patient; returns how many visits were erased.

        ``audit`` (as for :meth:`save_visit`) is appended in the same transaction; the audit
        trail itself is never erased (it names the pseudonym, never an image).

        On SQLite the deleted pages are zeroed (``secure_delete``) and the write-ahead log is
        checkpointed and truncated, so the photos do not linger in the files.
        """
        pseudonym = check_pseudonym(pseudonym)
        with self._write() as conn:
            ids = select(visits.c.id).where(visits.c.pseudonym == pseudonym)
            conn.execute(delete(visit_images).where(visit_images.c.visit_id.in_(ids)))
            erased = conn.execute(delete(visits).where(visits.c.pseudonym == pseudonym)).rowcount
            if audit is not None:
                row = {**audit, "detail": f"{erased} visits erased"}
                conn.execute(insert(audit_events), row)
        if self.engine.dialect.name == "sqlite":
            self._truncate_wal()
        logger.info("Erased %d visits of one patient", erased)
        return int(erased)

    def _truncate_wal(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except SQLAlchemyError as err:  # another session reading: its next write truncates
            logger.warning("WAL checkpoint after erase postponed: %s", err)

    # === Reading ===

    def patients(self, search: str = "") -> list[str]:
        """Pseudonyms (sorted), optionally those containing ``search`` (case-insensitive)."""
        query = select(visits.c.pseudonym).distinct().order_by(visits.c.pseudonym)
        if search.strip():
            pattern = "%" + _escape_like(search.strip().lower()) + "%"
            query = query.where(func.lower(visits.c.pseudonym).like(pattern, escape="\\"))
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def lesions(self, pseudonym: str) -> list[str]:
        """The lesion ids of a patient (sorted)."""
        query = (
            select(visits.c.lesion_id)
            .where(visits.c.pseudonym == pseudonym)
            .distinct()
            .order_by(visits.c.lesion_id)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def visits(self, pseudonym: str, lesion_id: str | None = None) -> list[Visit]:
        """The visits of a patient (or of one lesion), oldest first."""
        query = select(visits).where(visits.c.pseudonym == pseudonym)
        if lesion_id is not None:
            query = query.where(visits.c.lesion_id == lesion_id)
        query = query.order_by(visits.c.lesion_id, visits.c.visit_date, visits.c.id)
        with self._read() as conn:
            return [visit_from_row(row) for row in conn.execute(query).mappings()]

    def image(self, visit_id: int) -> bytes:
        """The stored (metadata-free JPEG) photo of a visit.

        Raises
        ------
        StoreError
            No such visit (e.g. erased by another session).
        """
        query = select(visit_images.c.data).where(visit_images.c.visit_id == visit_id)
        with self._read() as conn:
            data = conn.execute(query).scalar_one_or_none()
        if data is None:
            raise StoreError(f"Visit {visit_id} is not in the case history (erased?).")
        return bytes(data)

    def count(self) -> tuple[int, int]:
        """``(visits, images)`` rows in the store (for tests and the About text)."""
        with self._read() as conn:
            n_visits = conn.execute(select(func.count()).select_from(visits)).scalar_one()
            n_images = conn.execute(select(func.count()).select_from(visit_images)).scalar_one()
        return int(n_visits), int(n_images)

    # === Export ===

    def export_patient(self, pseudonym: str) -> bytes:
        """A zip with ``visits.csv`` (:data:`EXPORT_COLUMNS`) and ``images/<file>.jpg``.

        Raises
        ------
        StoreError
            The patient has no visits.
        """
        patient_visits = self.visits(check_pseudonym(pseudonym))
        if not patient_visits:
            raise StoreError(f"No visits are stored for {pseudonym!r}.")
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for visit in patient_visits:
                name = _image_name(visit)
                archive.writestr(f"images/{name}", self.image(visit.id))
                writer.writerow(_export_row(visit, name))
            archive.writestr("visits.csv", table.getvalue())
        return buffer.getvalue()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_store(config: StoreConfig | None = None) -> CaseStore:
    """Open (creating or upgrading on first use) the configured case store.

    Raises
    ------
    StoreConfigError, StoreUnavailableError
    """
    config = config or store_config()
    engine = create_store_engine(config)
    upgrade(engine)
    return CaseStore(engine, config)


def _escape_like(text_: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text_)


def _image_name(visit: Visit) -> str:
    lesion = re.sub(r"[^\w.-]+", "-", visit.lesion_id).strip("-") or "lesion"
    return f"{visit.id:06d}_{lesion}_{visit.visit_date.isoformat()}.jpg"


def _export_row(visit: Visit, image_name: str) -> dict[str, object]:
    d = visit.descriptors or {}
    return {
        "visit_id": visit.id,
        "pseudonym": visit.pseudonym,
        "lesion_id": visit.lesion_id,
        "body_site": visit.body_site,
        "visit_date": visit.visit_date.isoformat(),
        "created_at_utc": visit.created_at.isoformat(timespec="seconds"),
        "model_version": visit.model_version,
        "p_malignant": f"{visit.p_malignant:.4f}",
        "grade": visit.grade,
        "label": visit.label,
        "mm_per_pixel": "" if visit.mm_per_pixel is None else f"{visit.mm_per_pixel:.5f}",
        "image_width": visit.image_size[0],
        "image_height": visit.image_size[1],
        "area_px": d.get("area_px", ""),
        "area_mm2": _num(d.get("area_mm2")),
        "diameter_px": _num(d.get("diameter_px")),
        "diameter_mm": _num(d.get("diameter_mm")),
        "asymmetry": _num(d.get("asymmetry")),
        "color_count": d.get("color_count", ""),
        "colors": " ".join(d.get("colors", [])),
        "notes": visit.notes,
        "differential": visit_differential_text(visit),
        "image_file": f"images/{image_name}",
    }


def _num(value: object) -> str:
    return "" if value is None else f"{float(value):.3f}"
