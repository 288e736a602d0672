"""Shared domain types for advisory intelligence: frozen dataclasses with string enums.

Every parser in :mod:`iotwarden.intel` produces these; the store persists them; the engines
read them. Values that came from a document keep enough of the original to explain a verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class AdvisoryFormat(StrEnum):
    """The document format a record was read from."""

    OSV = "osv"
    CSAF = "csaf"
    CVE5 = "cve5"
    NVD = "nvd"
    KEV = "kev"
    EPSS = "epss"
    OPENVEX = "openvex"
    CYCLONEDX_VEX = "cdx-vex"


class AdvisoryStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # OSV `withdrawn`, CSAF 2.1 withdrawn profile
    REJECTED = "rejected"  # CVE state REJECTED, NVD vulnStatus Rejected


class AffectedStatus(StrEnum):
    AFFECTED = "affected"
    FIXED = "fixed"
    NOT_AFFECTED = "not_affected"
    UNDER_INVESTIGATION = "under_investigation"
    UNKNOWN = "unknown"


class RangeKind(StrEnum):
    ALL = "all"  # every version (`*`, "All versions", `vers:x/*`)
    CONSTRAINTS = "constraints"  # a `vers` constraint list
    NONE = "none"  # the product has no version (NVD/CPE `-`): applies to the product as such
    UNPARSED = "unparsed"  # free text we could not read: kept verbatim, never treated as "all"
    GIT = "git"  # OSV GIT range: commits, not versions


class RemediationCategory(StrEnum):
    VENDOR_FIX = "vendor_fix"
    MITIGATION = "mitigation"
    WORKAROUND = "workaround"
    NONE_AVAILABLE = "none_available"
    NO_FIX_PLANNED = "no_fix_planned"
    FIX_PLANNED = "fix_planned"
    OPTIONAL_PATCH = "optional_patch"
    UPGRADE = "upgrade"  # OSV `fixed` event / CVE 5 unaffected-from: upgrade to a fixed version


@dataclass(frozen=True, slots=True)
class Constraint:
    """One `vers` constraint: comparator in {'=', '!=', '<', '<=', '>', '>='} and a version."""

    comparator: str
    version: str

    def __str__(self) -> str:
        return self.version if self.comparator == "=" else f"{self.comparator}{self.version}"


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A set of versions in one versioning scheme.

    ``raw`` keeps the text (or events) the range was read from, so a reader can always see
    what the source said; for UNPARSED and GIT ranges it is the only content.
    """

    kind: RangeKind
    scheme: str = "generic"
    constraints: tuple[Constraint, ...] = ()
    raw: str | None = None

    @property
    def vers(self) -> str | None:
        """The range as a `vers` URI, or None when it cannot be expressed as one."""
        if self.kind is RangeKind.ALL:
            return f"vers:{self.scheme}/*"
        if self.kind is RangeKind.CONSTRAINTS and self.constraints:
            return f"vers:{self.scheme}/" + "|".join(str(c) for c in self.constraints)
        return None

    def __str__(self) -> str:
        return self.vers or (self.raw or self.kind.value)


@dataclass(frozen=True, slots=True)
class ProductIdentity:
    """Who/what is affected. Any of purl, CPE, or vendor + product (+ model numbers) may be set."""

    purl: str | None = None
    cpe: str | None = None
    vendor: str | None = None
    product: str | None = None
    model_numbers: tuple[str, ...] = ()
    product_ref: str | None = None  # the source's own id for it (CSAF product_id, OSV package)
    ecosystem: str | None = None  # OSV ecosystem, CVE 5 collectionURL, ...


@dataclass(frozen=True, slots=True)
class AffectedProduct:
    """One product's status for one vulnerability in one advisory."""

    identity: ProductIdentity
    status: AffectedStatus
    ranges: tuple[VersionRange, ...] = ()
    vuln_id: str | None = None  # for multi-vulnerability documents (CSAF): which one
    default_status: AffectedStatus | None = None  # CVE 5 `defaultStatus` for unlisted versions
    #: What it must run on or with to be affected (NVD AND configurations, CSAF relationships):
    #: every group must hold (AND); within a group any one will do (OR).
    conditions: tuple[tuple[str, ...], ...] = ()
    justification: str | None = None  # not_affected: why (VEX)
    fixed_versions: tuple[str, ...] = ()
    source_path: str | None = None  # JSON path in the source document


@dataclass(frozen=True, slots=True)
class Remediation:
    category: RemediationCategory
    details: str | None = None
    url: str | None = None
    product_refs: tuple[str, ...] = ()
    fixed_versions: tuple[str, ...] = ()
    vuln_id: str | None = None
    date: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """A CVSS score. ``base_score`` is computed from the vector with a CVSS library when valid;
    ``valid`` is False when the vector could not be parsed (then the source's own score stays)."""

    version: str  # '2.0', '3.0', '3.1', '4.0'
    vector: str
    base_score: float | None
    severity: str | None
    source: str | None = None  # who scored it (NVD, CNA, vendor)
    vuln_id: str | None = None
    valid: bool = True
    product_refs: tuple[str, ...] = ()  # the products it applies to (CSAF); empty: all


@dataclass(frozen=True, slots=True)
class Weakness:
    cwe_id: str  # 'CWE-119'
    vuln_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    url: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """Any other fact the source states: CSAF flags/threats/notes, CVE 5 SSVC, ..."""

    kind: str  # 'flag', 'threat', 'ssvc', 'note', 'exploit'
    category: str | None = None
    details: str | None = None
    product_refs: tuple[str, ...] = ()
    vuln_id: str | None = None
    date: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class KevEntry:
    """A CISA Known Exploited Vulnerabilities entry (from the catalog or CISA's CVE 5 ADP)."""

    cve_id: str
    date_added: dt.date | None
    vendor_project: str | None = None
    product: str | None = None
    name: str | None = None
    description: str | None = None
    required_action: str | None = None
    due_date: dt.date | None = None
    ransomware: str | None = None  # 'Known' / 'Unknown'
    notes: str | None = None
    cwes: tuple[str, ...] = ()
    source: str = "cisa-kev"
    catalog_version: str | None = None


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve_id: str
    epss: float
    percentile: float | None
    score_date: dt.date | None
    model_version: str | None = None


@dataclass(frozen=True, slots=True)
class Advisory:
    """One advisory record from one source, normalised.

    ``key`` identifies the record within its format (for CSAF: publisher namespace and tracking
    id) so that a newer revision replaces the older one. ``vuln_ids`` are the vulnerabilities it
    covers (one for OSV/CVE/NVD, several for a CSAF document). ``raw`` is the original record.
    """

    source: AdvisoryFormat
    key: str
    id: str
    aliases: tuple[str, ...] = ()
    vuln_ids: tuple[str, ...] = ()
    #: Ids of the upstream vulnerabilities a downstream record (a distribution's) derives from:
    #: it speaks of them, but they are not other names of it (OSV `upstream`).
    upstream: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    published: dt.datetime | None = None
    modified: dt.datetime | None = None
    revision: str | None = None  # CSAF tracking.version, CVE dataVersion, ...
    spec_version: str | None = None
    status: AdvisoryStatus = AdvisoryStatus.ACTIVE
    withdrawn_at: dt.datetime | None = None
    git_only: bool = False  # OSV record whose only ranges are GIT commits
    publisher: str | None = None
    affected: tuple[AffectedProduct, ...] = ()
    remediations: tuple[Remediation, ...] = ()
    scores: tuple[Score, ...] = ()
    weaknesses: tuple[Weakness, ...] = ()
    references: tuple[Reference, ...] = ()
    statements: tuple[Statement, ...] = ()
    kev: tuple[KevEntry, ...] = ()  # KEV facts stated inside the record (CVE 5 CISA ADP)
    raw: bytes = field(default=b"", repr=False, compare=False)
