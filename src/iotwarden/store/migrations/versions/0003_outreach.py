"""outreach

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vulnerability", sa.String(length=256), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("recipient_norm", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach")),
        sa.UniqueConstraint(
            "vulnerability",
            "audience",
            "recipient_norm",
            name=op.f("uq_outreach_vulnerability_audience_recipient_norm"),
        ),
    )
    op.create_table(
        "outreach_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outreach_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outreach_id"],
            ["outreach.id"],
            name=op.f("fk_outreach_events_outreach_id_outreach"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_events")),
    )
    with op.batch_alter_table("outreach_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outreach_events_outreach_id"), ["outreach_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_events_outreach_id"))

    op.drop_table("outreach_events")
    op.drop_table("outreach")
