"""exposure snapshots

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposure_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vulnerability", sa.String(length=256), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("possibly_affected", sa.Integer(), nullable=False),
        sa.Column("internet_exposed", sa.Integer(), nullable=False),
        sa.Column("critical", sa.Integer(), nullable=False),
        sa.Column("builds", sa.Integer(), nullable=False),
        sa.Column("vulnerabilities", sa.Integer(), nullable=False),
        sa.Column("on_kev", sa.Integer(), nullable=False),
        sa.Column("fix_available", sa.Integer(), nullable=True),
        sa.Column("owners", sa.Integer(), nullable=True),
        sa.Column("remediated_owners", sa.Integer(), nullable=True),
        sa.Column("by_sector", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_snapshots")),
    )
    with op.batch_alter_table("exposure_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exposure_snapshots_vulnerability_taken_at"),
            ["vulnerability", "taken_at"],
            unique=False,
        )

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_devices_build_exposed", ["build_id", "internet_exposed"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_build_exposed")

    with op.batch_alter_table("exposure_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposure_snapshots_vulnerability_taken_at"))

    op.drop_table("exposure_snapshots")
