"""advisory intelligence

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("advisory_id", sa.String(length=256), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.String(length=128), nullable=True),
        sa.Column("spec_version", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("git_only", sa.Boolean(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("cwes", sa.JSON(), nullable=True),
        sa.Column("reference_links", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("source", "key", name=op.f("uq_advisories_source_key")),
    )
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advisories_advisory_id"), ["advisory_id"], unique=False
        )

    op.create_table(
        "source_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_documents")),
    )
    op.create_table(
        "advisory_aliases",
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_advisory_aliases_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "advisory_pk", "alias", name=op.f("uq_advisory_aliases_advisory_pk_alias")
        ),
    )
    with op.batch_alter_table("advisory_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advisory_aliases_alias"), ["alias"], unique=False)

    op.create_table(
        "affected_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("purl_type", sa.String(length=64), nullable=True),
        sa.Column("purl_namespace", sa.String(length=256), nullable=True),
        sa.Column("purl_name", sa.String(length=256), nullable=True),
        sa.Column("cpe", sa.Text(), nullable=True),
        sa.Column("cpe_vendor", sa.String(length=256), nullable=True),
        sa.Column("cpe_product", sa.String(length=256), nullable=True),
        sa.Column("vendor", sa.Text(), nullable=True),
        sa.Column("product", sa.Text(), nullable=True),
        sa.Column("vendor_norm", sa.String(length=256), nullable=True),
        sa.Column("product_norm", sa.String(length=256), nullable=True),
        sa.Column("model_numbers", sa.JSON(), nullable=True),
        sa.Column("product_ref", sa.Text(), nullable=True),
        sa.Column("ecosystem", sa.Text(), nullable=True),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.Column("default_status", sa.String(length=24), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("fixed_versions", sa.JSON(), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_affected_products_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affected_products")),
    )
    with op.batch_alter_table("affected_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_affected_products_advisory_pk"), ["advisory_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_affected_products_cpe_vendor_cpe_product"),
            ["cpe_vendor", "cpe_product"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_affected_products_product_norm"), ["product_norm"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_affected_products_purl_type_purl_name"),
            ["purl_type", "purl_name"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_affected_products_vendor_norm_product_norm"),
            ["vendor_norm", "product_norm"],
            unique=False,
        )

    op.create_table(
        "epss_scores",
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("score_date", sa.Date(), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["source_documents.id"],
            name=op.f("fk_epss_scores_document_id_source_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("cve_id", "score_date", name=op.f("pk_epss_scores")),
    )
    with op.batch_alter_table("epss_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epss_scores_epss"), ["epss"], unique=False)

    op.create_table(
        "kev_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("date_added", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("vendor_project", sa.Text(), nullable=True),
        sa.Column("product", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("required_action", sa.Text(), nullable=True),
        sa.Column("ransomware", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("cwes", sa.JSON(), nullable=True),
        sa.Column("catalog_version", sa.String(length=32), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("advisory_pk", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_kev_entries_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["source_documents.id"],
            name=op.f("fk_kev_entries_document_id_source_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kev_entries")),
        sa.UniqueConstraint("cve_id", "source", name=op.f("uq_kev_entries_cve_id_source")),
    )
    with op.batch_alter_table("kev_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kev_entries_advisory_pk"), ["advisory_pk"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kev_entries_cve_id"), ["cve_id"], unique=False)

    op.create_table(
        "remediations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(length=256), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("product_refs", sa.JSON(), nullable=True),
        sa.Column("fixed_versions", sa.JSON(), nullable=True),
        sa.Column("date", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_remediations_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediations")),
    )
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remediations_advisory_pk"), ["advisory_pk"], unique=False
        )

    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(length=256), nullable=True),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("vector", sa.Text(), nullable=False),
        sa.Column("base_score", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("product_refs", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_scores_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scores_advisory_pk"), ["advisory_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_scores_base_score"), ["base_score"], unique=False)

    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(length=256), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("product_refs", sa.JSON(), nullable=True),
        sa.Column("date", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["advisory_pk"],
            ["advisories.id"],
            name=op.f("fk_statements_advisory_pk_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statements_advisory_pk"), ["advisory_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_advisory_pk"))

    op.drop_table("statements")
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scores_base_score"))
        batch_op.drop_index(batch_op.f("ix_scores_advisory_pk"))

    op.drop_table("scores")
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediations_advisory_pk"))

    op.drop_table("remediations")
    with op.batch_alter_table("kev_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kev_entries_cve_id"))
        batch_op.drop_index(batch_op.f("ix_kev_entries_advisory_pk"))

    op.drop_table("kev_entries")
    with op.batch_alter_table("epss_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epss_scores_epss"))

    op.drop_table("epss_scores")
    with op.batch_alter_table("affected_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_affected_products_vendor_norm_product_norm"))
        batch_op.drop_index(batch_op.f("ix_affected_products_purl_type_purl_name"))
        batch_op.drop_index(batch_op.f("ix_affected_products_product_norm"))
        batch_op.drop_index(batch_op.f("ix_affected_products_cpe_vendor_cpe_product"))
        batch_op.drop_index(batch_op.f("ix_affected_products_advisory_pk"))

    op.drop_table("affected_products")
    with op.batch_alter_table("advisory_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisory_aliases_alias"))

    op.drop_table("advisory_aliases")
    op.drop_table("source_documents")
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisories_advisory_id"))

    op.drop_table("advisories")
