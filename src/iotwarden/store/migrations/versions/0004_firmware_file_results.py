"""firmware file results

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firmware_file_results",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("analysers_version", sa.String(length=128), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "sha256", "analysers_version", name=op.f("pk_firmware_file_results")
        ),
    )


def downgrade() -> None:
    op.drop_table("firmware_file_results")
