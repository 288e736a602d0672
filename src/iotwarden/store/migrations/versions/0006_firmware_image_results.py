"""firmware image results

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firmware_image_results",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("analysis_version", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "sha256", "analysis_version", name=op.f("pk_firmware_image_results")
        ),
    )


def downgrade() -> None:
    op.drop_table("firmware_image_results")
