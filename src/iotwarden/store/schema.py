"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them;
a test checks that the migrations and this module agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UTC_DATETIME = DateTime(timezone=True)


def _advisory_fk(*, index: bool = True) -> Column[int]:
    return Column(
        "advisory_pk",
        Integer,
        ForeignKey("advisories.id", ondelete="CASCADE"),
        nullable=False,
        index=index,
    )


source_documents = Table(
    "source_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("origin", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("ingested_at", UTC_DATETIME, nullable=False),
    Column("records", Integer, nullable=False, default=0),
    Column("meta", JSON, nullable=True),  # catalogVersion, EPSS model_version/score_date, ...
)

advisories = Table(
    "advisories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(16), nullable=False),
    Column("key", String(512), nullable=False),
    Column("advisory_id", String(256), nullable=False, index=True),
    Column("title", Text),
    Column("description", Text),
    Column("published", UTC_DATETIME),
    Column("modified", UTC_DATETIME),
    Column("revision", String(128)),
    Column("spec_version", String(32)),
    Column("status", String(16), nullable=False),
    Column("withdrawn_at", UTC_DATETIME),
    Column("git_only", Boolean, nullable=False, default=False),
    Column("publisher", Text),
    Column("content_hash", String(64), nullable=False),
    Column("origin", Text, nullable=False),
    Column("ingested_at", UTC_DATETIME, nullable=False),
    Column("raw", LargeBinary, nullable=False),  # zlib-compressed original record
    # Facts owned by the record and never searched on their own: kept on its row, which
    # saves a million rows (and their index entries) per few hundred thousand advisories.
    Column("cwes", JSON),  # [[cwe_id, vuln_id], ...]
    Column("reference_links", JSON),  # [[url, type], ...]
    UniqueConstraint("source", "key"),
)

advisory_aliases = Table(
    "advisory_aliases",
    metadata,
    _advisory_fk(index=False),  # the unique (advisory_pk, alias) index serves lookups by pk
    # 'id' (the record's own id; 'idvuln' when it is also the vulnerability it covers),
    # 'vuln' (a vulnerability it covers), 'alias' (another name), 'upstream' (OSV upstream)
    Column("alias", String(256), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    UniqueConstraint("advisory_pk", "alias"),
)

affected_products = Table(
    "affected_products",
    metadata,
    Column("id", Integer, primary_key=True),
    _advisory_fk(),
    Column("vuln_id", String(256)),
    Column("status", String(24), nullable=False),
    Column("purl", Text),
    Column("purl_type", String(64)),
    Column("purl_namespace", String(256)),
    Column("purl_name", String(256)),
    Column("cpe", Text),
    Column("cpe_vendor", String(256)),
    Column("cpe_product", String(256)),
    Column("vendor", Text),
    Column("product", Text),
    Column("vendor_norm", String(256)),
    Column("product_norm", String(256)),
    Column("model_numbers", JSON),
    Column("product_ref", Text),
    Column("ecosystem", Text),
    Column("ranges", JSON, nullable=False),
    Column("default_status", String(24)),
    Column("conditions", JSON),  # [[alternative, ...], ...]: all groups, any one of each
    Column("justification", Text),
    Column("fixed_versions", JSON),
    Column("source_path", Text),
    Index(None, "purl_type", "purl_name"),
    Index(None, "cpe_vendor", "cpe_product"),
    Index(None, "vendor_norm", "product_norm"),
    Index(None, "product_norm"),
)

remediations = Table(
    "remediations",
    metadata,
    Column("id", Integer, primary_key=True),
    _advisory_fk(),
    Column("vuln_id", String(256)),
    Column("category", String(32), nullable=False),
    Column("details", Text),
    Column("url", Text),
    Column("product_refs", JSON),
    Column("fixed_versions", JSON),
    Column("date", UTC_DATETIME),
)

scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True),
    _advisory_fk(),
    Column("vuln_id", String(256)),
    Column("version", String(16), nullable=False),
    Column("vector", Text, nullable=False),
    Column("base_score", Float, index=True),
    Column("severity", String(16)),
    Column("source", Text),
    Column("valid", Boolean, nullable=False),
    Column("product_refs", JSON),
)

statements = Table(
    "statements",
    metadata,
    Column("id", Integer, primary_key=True),
    _advisory_fk(),
    Column("vuln_id", String(256)),
    Column("kind", String(32), nullable=False),
    Column("category", Text),
    Column("details", Text),
    Column("product_refs", JSON),
    Column("date", UTC_DATETIME),
)

kev_entries = Table(
    "kev_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cve_id", String(32), nullable=False, index=True),
    # 'cisa-kev' (the catalog), 'nvd' (NVD's cisaExploitAdd), 'cve5:CISA-ADP', ...
    Column("source", String(64), nullable=False),
    Column("date_added", Date),
    Column("due_date", Date),
    Column("vendor_project", Text),
    Column("product", Text),
    Column("name", Text),
    Column("description", Text),
    Column("required_action", Text),
    Column("ransomware", String(32)),
    Column("notes", Text),
    Column("cwes", JSON),
    Column("catalog_version", String(32)),
    Column("document_id", Integer, ForeignKey("source_documents.id", ondelete="SET NULL")),
    Column("advisory_pk", Integer, ForeignKey("advisories.id", ondelete="CASCADE"), index=True),
    UniqueConstraint("cve_id", "source"),
)

epss_scores = Table(
    "epss_scores",
    metadata,
    Column("cve_id", String(32), primary_key=True),
    # Undated legacy files are stored under UNDATED (see store.rows) and shown as unknown.
    Column("score_date", Date, primary_key=True),
    Column("epss", Float, nullable=False, index=True),
    Column("percentile", Float),
    Column("model_version", String(64)),
    Column("document_id", Integer, ForeignKey("source_documents.id", ondelete="SET NULL")),
)

# --- fleet inventory ----------------------------------------------------------------------

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("vendor_norm", String(256), nullable=False),
    Column("name_norm", String(256), nullable=False),
    Column("model_numbers", JSON),
    Column("device_class", Text),
    Column("sector", String(64)),
    Column("criticality", String(16)),
    UniqueConstraint("vendor_norm", "name_norm"),
    Index(None, "name_norm"),
)

firmware_builds = Table(
    "firmware_builds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(256), nullable=False),
    Column("release_date", Date),
    Column("end_of_support", Date),
    UniqueConstraint("product_id", "version"),
)

components = Table(
    "components",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "build_id",
        Integer,
        ForeignKey("firmware_builds.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", Text, nullable=False),
    Column("name_norm", String(256), nullable=False),
    Column("version", String(256)),
    Column("purl", Text),
    Column("purl_type", String(64)),
    Column("purl_namespace", String(256)),
    Column("purl_name", String(256)),
    Column("cpe", Text),
    Column("cpe_vendor", String(256)),
    Column("cpe_product", String(256)),
    Column("supplier", Text),
    Index(None, "purl_type", "purl_name"),
    Index(None, "cpe_vendor", "cpe_product"),
    Index(None, "name_norm"),
)

owners = Table(
    "owners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation", Text, nullable=False),
    Column("organisation_norm", String(256), nullable=False, unique=True),
    Column("contact", Text),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(256), nullable=False, unique=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("build_id", Integer, ForeignKey("firmware_builds.id"), index=True),
    Column("owner_id", Integer, ForeignKey("owners.id"), index=True),
    Column("sector", String(64)),
    Column("site", Text),
    Column("criticality", String(16)),
    Column("internet_exposed", Boolean, nullable=False, default=False),
    Column("address", String(256)),
    Column("last_seen", UTC_DATETIME),
    Index(None, "product_id"),
    # Covers the per-build device and internet-exposed counts of an exposure (index only).
    Index("ix_devices_build_exposed", "build_id", "internet_exposed"),
)

# --- outreach -------------------------------------------------------------------------------

outreach = Table(
    "outreach",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vulnerability", String(256), nullable=False),  # the id the alerts were made for
    Column("audience", String(16), nullable=False),  # 'owner' or 'vendor'
    Column("recipient", Text, nullable=False),
    Column("recipient_norm", String(256), nullable=False),
    Column("status", String(24), nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
    Column("updated_by", Text),
    UniqueConstraint("vulnerability", "audience", "recipient_norm"),
)

outreach_events = Table(
    "outreach_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "outreach_id",
        Integer,
        ForeignKey("outreach.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("status", String(24), nullable=False),
    Column("at", UTC_DATETIME, nullable=False),
    Column("by", Text),
    Column("note", Text),
)

# --- firmware analysis ---------------------------------------------------------------------

#: What the content-only analyses (signatures, ELF facts, key material) found in one file,
#: keyed by the file's SHA-256 and the analysers' versions: a file seen in an earlier image
#: (or an earlier run) is not analysed again until a signature or check changes.
firmware_file_results = Table(
    "firmware_file_results",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("analysers_version", String(128), primary_key=True),
    Column("result", JSON, nullable=False),
    Column("analysed_at", UTC_DATETIME, nullable=False),
)

#: What an image's analysis derived from the image alone (extraction summary, root file
#: systems, file counts, components, check findings, hardening, evidence files), keyed by the
#: image file's SHA-256 and a key naming everything that produced it (code, data, options,
#: extraction tools): analysing the same image again reuses it without extracting, and only
#: redoes what depends on the store (known vulnerabilities, the inventory).
firmware_image_results = Table(
    "firmware_image_results",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("analysis_version", String(128), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("result", JSON, nullable=False),
    Column("analysed_at", UTC_DATETIME, nullable=False),
)

#: The situation of one vulnerability (or '*' for all of them) each time it was computed, so
#: that it can be followed over time: how many devices were exposed, and how that changed.
exposure_snapshots = Table(
    "exposure_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vulnerability", String(256), nullable=False),
    Column("taken_at", UTC_DATETIME, nullable=False),
    Column("devices", Integer, nullable=False),
    Column("affected", Integer, nullable=False),
    Column("possibly_affected", Integer, nullable=False),
    Column("internet_exposed", Integer, nullable=False),
    Column("critical", Integer, nullable=False),
    Column("builds", Integer, nullable=False),
    Column("vulnerabilities", Integer, nullable=False),  # 1, or how many expose the fleet
    Column("on_kev", Integer, nullable=False),  # of those, how many are on CISA KEV
    # Counted for one vulnerability only (None in the all-vulnerabilities picture):
    Column("fix_available", Integer),
    Column("owners", Integer),
    Column("remediated_owners", Integer),
    Column("by_sector", JSON),  # {sector: devices}
    Index(None, "vulnerability", "taken_at"),
)

#: The latest firmware analysis of each build, written with the build by `iotwarden firmware
#: analyze`: its findings (known vulnerabilities included), check records, hardening summary
#: and identified components, so that an assessment or report of a stored build has the whole
#: firmware evidence and can say which analysis (image, date) it comes from.
firmware_build_analyses = Table(
    "firmware_build_analyses",
    metadata,
    Column(
        "build_id",
        Integer,
        ForeignKey("firmware_builds.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Names this analysis, so that completing it (known vulnerabilities are matched after the
    # build is written) never overwrites a newer analysis of the same build.
    Column("analysis_id", String(32), nullable=False),
    Column("image_name", Text, nullable=False),
    Column("image_sha256", String(64)),  # None for a folder (no single digest)
    Column("analysed_at", UTC_DATETIME, nullable=False),
    Column("result", JSON, nullable=False),
)

ADVISORY_CHILD_TABLES = (
    advisory_aliases,
    affected_products,
    remediations,
    scores,
    statements,
)

__all__ = [
    "ADVISORY_CHILD_TABLES",
    "advisories",
    "advisory_aliases",
    "affected_products",
    "components",
    "devices",
    "epss_scores",
    "exposure_snapshots",
    "firmware_build_analyses",
    "firmware_builds",
    "firmware_file_results",
    "firmware_image_results",
    "kev_entries",
    "metadata",
    "outreach",
    "outreach_events",
    "owners",
    "products",
    "remediations",
    "scores",
    "source_documents",
    "statements",
]
