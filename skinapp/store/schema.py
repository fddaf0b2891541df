"""The tables of the case store (SQLAlchemy Core; created and upgraded by Alembic).

Two tables, so that listing visits never loads image bytes:

- ``visits``: one row per saved analysis of one lesion on one day;
- ``visit_images``: the analysed photo of a visit, re-encoded from its pixels (no EXIF,
  GPS or file name), one row per visit, deleted with it.

Any change here needs a new revision in ``skinapp/store/migrations/versions/``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
)

__all__ = ["metadata", "visit_images", "visits"]

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
