"""firmware build analyses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firmware_build_analyses",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.String(length=32), nullable=False),
        sa.Column("image_name", sa.Text(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["firmware_builds.id"],
            name=op.f("fk_firmware_build_analyses_build_id_firmware_builds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("build_id", name=op.f("pk_firmware_build_analyses")),
    )


def downgrade() -> None:
    op.drop_table("firmware_build_analyses")
