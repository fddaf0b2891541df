"""Create the visits and visit_images tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("lesion_id", sa.String(32), nullable=False),
        sa.Column("body_site", sa.String(40), nullable=False, server_default=""),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("p_malignant", sa.Float, nullable=False),
        sa.Column("grade", sa.Integer, nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("mm_per_pixel", sa.Float, nullable=True),
        sa.Column("image_width", sa.Integer, nullable=False),
        sa.Column("image_height", sa.Integer, nullable=False),
        sa.Column("descriptors", sa.JSON, nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("contour", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_visits_patient_lesion_date", "visits", ["pseudonym", "lesion_id", "visit_date"]
    )
    op.create_table(
        "visit_images",
        sa.Column(
            "visit_id",
            sa.Integer,
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visit_images")
    op.drop_index("ix_visits_patient_lesion_date", table_name="visits")
    op.drop_table("visits")
