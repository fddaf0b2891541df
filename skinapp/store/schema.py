"""The tables of the case store (SQLAlchemy Core; created and upgraded by Alembic).

Two tables, so that listing visits never loads image bytes:

- ``visits``: one row per saved analysis of one lesion on one day;
- ``visit_images``: the analysed photo of a visit, re-encoded from its pixels (no EXIF,
  GPS or file name), one row per visit, deleted with it.

And two for the clinic deployment (:mod:`skinapp.auth`):

- ``users``: personal accounts (argon2 hashes only, never a password), role, lockout;
- ``audit_events``: who did what to which patient record, when, from where. Append-only:
  a database trigger refuses UPDATE and DELETE (revision 0003), and no code path of the app
  issues either. No foreign key to ``visits``: the rows outlive an erased patient.

Any change here needs a new revision in ``skinapp/store/migrations/versions/``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

__all__ = ["audit_events", "metadata", "users", "visit_images", "visits"]

metadata = MetaData()

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudonym", String(64), nullable=False),
    Column("lesion_id", String(32), nullable=False),
    Column("body_site", String(40), nullable=False, server_default=""),
    Column("visit_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("p_malignant", Float, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("label", String(16), nullable=False),
    Column("mm_per_pixel", Float, nullable=True),
    Column("image_width", Integer, nullable=False),
    Column("image_height", Integer, nullable=False),
    Column("descriptors", JSON, nullable=True),
    Column("settings", JSON, nullable=False),
    Column("contour", JSON, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    # {"top": code, "probs": {code: p}, "answer": "8-view TTA"}; None before revision 0004
    Column("differential", JSON, nullable=True),
    Index("ix_visits_patient_lesion_date", "pseudonym", "lesion_id", "visit_date"),
)

visit_images = Table(
    "visit_images",
    metadata,
    Column(
        "visit_id",
        Integer,
        ForeignKey("visits.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("media_type", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=True),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("pseudonym", String(64), nullable=True),
    Column("lesion_id", String(32), nullable=True),
    Column("visit_id", Integer, nullable=True),
    Column("client", String(64), nullable=False, server_default=""),
    Column("detail", String(256), nullable=False, server_default=""),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_pseudonym", "pseudonym"),
)
