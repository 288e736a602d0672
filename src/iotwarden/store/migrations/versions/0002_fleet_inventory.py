"""fleet inventory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("organisation_norm", sa.String(length=256), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owners")),
        sa.UniqueConstraint("organisation_norm", name=op.f("uq_owners_organisation_norm")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("vendor_norm", sa.String(length=256), nullable=False),
        sa.Column("name_norm", sa.String(length=256), nullable=False),
        sa.Column("model_numbers", sa.JSON(), nullable=True),
        sa.Column("device_class", sa.Text(), nullable=True),
        sa.Column("sector", sa.String(length=64), nullable=True),
        sa.Column("criticality", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint(
            "vendor_norm", "name_norm", name=op.f("uq_products_vendor_norm_name_norm")
        ),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_name_norm"), ["name_norm"], unique=False)

    op.create_table(
        "firmware_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("end_of_support", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_firmware_builds_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firmware_builds")),
        sa.UniqueConstraint(
            "product_id", "version", name=op.f("uq_firmware_builds_product_id_version")
        ),
    )
    op.create_table(
        "components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_norm", sa.String(length=256), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=True),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("purl_type", sa.String(length=64), nullable=True),
        sa.Column("purl_namespace", sa.String(length=256), nullable=True),
        sa.Column("purl_name", sa.String(length=256), nullable=True),
        sa.Column("cpe", sa.Text(), nullable=True),
        sa.Column("cpe_vendor", sa.String(length=256), nullable=True),
        sa.Column("cpe_product", sa.String(length=256), nullable=True),
        sa.Column("supplier", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["firmware_builds.id"],
            name=op.f("fk_components_build_id_firmware_builds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_components_build_id"), ["build_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_components_cpe_vendor_cpe_product"),
            ["cpe_vendor", "cpe_product"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_components_name_norm"), ["name_norm"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_components_purl_type_purl_name"),
            ["purl_type", "purl_name"],
            unique=False,
        )

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=256), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=64), nullable=True),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("criticality", sa.String(length=16), nullable=True),
        sa.Column("internet_exposed", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["build_id"], ["firmware_builds.id"], name=op.f("fk_devices_build_id_firmware_builds")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_devices_owner_id_owners")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_devices_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_devices_device_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_build_id"), ["build_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_product_id"))
        batch_op.drop_index(batch_op.f("ix_devices_owner_id"))
        batch_op.drop_index(batch_op.f("ix_devices_build_id"))

    op.drop_table("devices")
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_components_purl_type_purl_name"))
        batch_op.drop_index(batch_op.f("ix_components_name_norm"))
        batch_op.drop_index(batch_op.f("ix_components_cpe_vendor_cpe_product"))
        batch_op.drop_index(batch_op.f("ix_components_build_id"))

    op.drop_table("components")
    op.drop_table("firmware_builds")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_name_norm"))

    op.drop_table("products")
    op.drop_table("owners")
