"""Advisories as table rows and back: the column layout of each table, the preparation of a
normalised advisory into rows (pure, so that it can run in a parsing worker), revision
ordering, and decoding stored rows into domain objects."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import zlib
from typing import Any, NamedTuple

import orjson

from iotwarden.core.ecosystems import purl_parts_for
from iotwarden.core.identifiers import IdentifierError, parse_cpe, split_purl
from iotwarden.core.identifiers import normalise_name as norm
from iotwarden.core.models import (
    Advisory,
    AffectedProduct,
    AffectedStatus,
    Constraint,
    EpssScore,
    KevEntry,
    ProductIdentity,
    RangeKind,
    Remediation,
    RemediationCategory,
    Score,
    Statement,
    VersionRange,
)
from iotwarden.core.versions import compare_versions

#: Stored in place of a missing EPSS score date (legacy files without one); shown as unknown.
UNDATED = dt.date(1, 1, 1)


def range_to_json(r: VersionRange) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": r.kind.value, "scheme": r.scheme}
    if r.constraints:
        out["constraints"] = [[c.comparator, c.version] for c in r.constraints]
    if r.raw is not None:
        out["raw"] = r.raw
    return out


def range_from_json(data: dict[str, Any]) -> VersionRange:
    return VersionRange(
        kind=RangeKind(data["kind"]),
        scheme=data.get("scheme", "generic"),
        constraints=tuple(Constraint(op, v) for op, v in data.get("constraints", ())),
        raw=data.get("raw"),
    )


def revision_key(
    modified: dt.datetime | None, revision: str | None, spec: str | None
) -> tuple[Any, ...]:
    return (modified, revision, spec)


def is_newer(candidate: tuple[Any, ...], stored: tuple[Any, ...]) -> bool:
    """Does a record with revision key ``candidate`` supersede ``stored``?
    Compared by modification time, then revision number, then spec version."""
    for mine, theirs, scheme in zip(candidate, stored, ("date", "generic", "generic"), strict=True):
        if mine == theirs:
            continue
        if mine is None:
            return False
        if theirs is None:
            return True
        if scheme == "date":
            return bool(utc(mine) > utc(theirs))  # type: ignore[operator]
        try:
            return compare_versions("generic", str(mine), str(theirs)) > 0
        except Exception:  # noqa: BLE001 - incomparable revision strings: fall back to text
            return str(mine) > str(theirs)
    return False


@functools.lru_cache(maxsize=65536)
def purl_parts(purl: str | None) -> tuple[str | None, str | None, str | None]:
    if not purl:
        return None, None, None
    try:
        return split_purl(purl)
    except IdentifierError:
        return None, None, None


@functools.lru_cache(maxsize=65536)
def cpe_parts(cpe: str | None) -> tuple[str | None, str | None]:
    if not cpe:
        return None, None
    try:
        parsed = parse_cpe(cpe)
    except IdentifierError:
        return None, None
    return parsed.vendor.lower(), parsed.product.lower()


# --- repository -------------------------------------------------------------------------------


ADVISORY_COLUMNS = (
    "source",
    "key",
    "advisory_id",
    "title",
    "description",
    "published",
    "modified",
    "revision",
    "spec_version",
    "status",
    "withdrawn_at",
    "git_only",
    "publisher",
    "content_hash",
    "raw",
    "cwes",
    "reference_links",
)
#: Column order of each child table's prepared rows (the advisory's pk comes first on write).
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "advisory_aliases": ("alias", "kind"),
    "affected_products": (
        "vuln_id",
        "status",
        "purl",
        "purl_type",
        "purl_namespace",
        "purl_name",
        "cpe",
        "cpe_vendor",
        "cpe_product",
        "vendor",
        "product",
        "vendor_norm",
        "product_norm",
        "model_numbers",
        "product_ref",
        "ecosystem",
        "ranges",
        "default_status",
        "conditions",
        "justification",
        "fixed_versions",
        "source_path",
    ),
    "remediations": (
        "vuln_id",
        "category",
        "details",
        "url",
        "product_refs",
        "fixed_versions",
        "date",
    ),
    "scores": (
        "vuln_id",
        "version",
        "vector",
        "base_score",
        "severity",
        "source",
        "valid",
        "product_refs",
    ),
    "statements": ("vuln_id", "kind", "category", "details", "product_refs", "date"),
}


class PreparedAdvisory(NamedTuple):
    """An advisory already turned into table rows (JSON columns serialised, raw compressed).

    A NamedTuple of plain values rather than a dataclass because it crosses process
    boundaries by the hundred thousand when parsing runs in worker processes: it pickles
    several times faster than the nested frozen dataclasses it is made from."""

    source: str
    key: str
    id: str
    revision_key: tuple[Any, ...]
    content_hash: str
    row: tuple[Any, ...]  # ADVISORY_COLUMNS
    children: dict[str, list[tuple[Any, ...]]]  # CHILD_COLUMNS, without the advisory pk
    kev: list[dict[str, Any]]


def _json_text(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value else None


def prepare(adv: Advisory) -> PreparedAdvisory:
    """Turn an advisory into rows ready for the store; pure, so it can run in any process."""
    digest = hashlib.sha256(adv.raw).hexdigest()
    row = (
        adv.source.value,
        adv.key,
        adv.id,
        adv.title,
        adv.description,
        adv.published,
        adv.modified,
        adv.revision,
        adv.spec_version,
        adv.status.value,
        adv.withdrawn_at,
        adv.git_only,
        adv.publisher,
        digest,
        zlib.compress(adv.raw, 1),
        _json_text([[w.cwe_id, w.vuln_id] for w in adv.weaknesses]),
        _json_text([[ref.url, ref.type] for ref in adv.references]),
    )
    # One row per name; the record's own id is 'idvuln' when it is also a vulnerability id
    # it covers (a CVE record), so that both facts survive the round trip.
    names: dict[str, str] = {adv.id: "idvuln" if adv.id in adv.vuln_ids else "id"}
    for vuln in adv.vuln_ids:
        names.setdefault(vuln, "vuln")
    for alias in adv.aliases:
        names.setdefault(alias, "alias")
    for upstream in adv.upstream:
        names.setdefault(upstream, "upstream")
    children: dict[str, list[tuple[Any, ...]]] = {
        "advisory_aliases": [(alias, kind) for alias, kind in names.items() if alias]
    }
    affected = []
    for ap in adv.affected:
        ident = ap.identity
        ptype, pns, pname = purl_parts(ident.purl)
        if ptype is None:
            # No purl given (most OSV records): index the one its ecosystem implies.
            ptype, pns, pname = purl_parts_for(ident.ecosystem, ident.product) or (None, None, None)
        cvendor, cproduct = cpe_parts(ident.cpe)
        affected.append(
            (
                ap.vuln_id,
                ap.status.value,
                ident.purl,
                ptype,
                pns,
                pname,
                ident.cpe,
                cvendor,
                cproduct,
                ident.vendor,
                ident.product,
                norm(ident.vendor),
                norm(ident.product),
                _json_text(list(ident.model_numbers)),
                ident.product_ref,
                ident.ecosystem,
                orjson.dumps([range_to_json(r) for r in ap.ranges]).decode(),
                ap.default_status.value if ap.default_status else None,
                _json_text([list(group) for group in ap.conditions]),
                ap.justification,
                _json_text(list(ap.fixed_versions)),
                ap.source_path,
            )
        )
    if affected:
        children["affected_products"] = affected
    if adv.remediations:
        children["remediations"] = [
            (
                rem.vuln_id,
                rem.category.value,
                rem.details,
                rem.url,
                _json_text(list(rem.product_refs)),
                _json_text(list(rem.fixed_versions)),
                rem.date,
            )
            for rem in adv.remediations
        ]
    if adv.scores:
        children["scores"] = [
            (
                sc.vuln_id,
                sc.version,
                sc.vector,
                sc.base_score,
                sc.severity,
                sc.source,
                sc.valid,
                _json_text(list(sc.product_refs)),
            )
            for sc in adv.scores
        ]
    if adv.statements:
        children["statements"] = [
            (
                st.vuln_id,
                st.kind,
                st.category,
                st.details,
                _json_text(list(st.product_refs)),
                st.date,
            )
            for st in adv.statements
        ]
    return PreparedAdvisory(
        source=adv.source.value,
        key=adv.key,
        id=adv.id,
        revision_key=revision_key(adv.modified, adv.revision, adv.spec_version),
        content_hash=digest,
        row=row,
        children=children,
        kev=[kev_row(kev, None) for kev in adv.kev],
    )


def kev_row(kev: KevEntry, document_id: int | None) -> dict[str, Any]:
    return {
        "cve_id": kev.cve_id,
        "source": kev.source,
        "date_added": kev.date_added,
        "due_date": kev.due_date,
        "vendor_project": kev.vendor_project,
        "product": kev.product,
        "name": kev.name,
        "description": kev.description,
        "required_action": kev.required_action,
        "ransomware": kev.ransomware,
        "notes": kev.notes,
        "cwes": list(kev.cwes) or None,
        "catalog_version": kev.catalog_version,
        "document_id": document_id,
        "advisory_pk": None,
    }


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def affected_from_row(r: Any) -> AffectedProduct:
    return AffectedProduct(
        identity=ProductIdentity(
            purl=r.purl,
            cpe=r.cpe,
            vendor=r.vendor,
            product=r.product,
            model_numbers=tuple(r.model_numbers or ()),
            product_ref=r.product_ref,
            ecosystem=r.ecosystem,
        ),
        status=AffectedStatus(r.status),
        ranges=tuple(range_from_json(x) for x in r.ranges),
        vuln_id=r.vuln_id,
        default_status=AffectedStatus(r.default_status) if r.default_status else None,
        conditions=tuple(tuple(group) for group in r.conditions or ()),
        justification=r.justification,
        fixed_versions=tuple(r.fixed_versions or ()),
        source_path=r.source_path,
    )


def remediation_from_row(r: Any) -> Remediation:
    return Remediation(
        category=RemediationCategory(r.category),
        details=r.details,
        url=r.url,
        product_refs=tuple(r.product_refs or ()),
        fixed_versions=tuple(r.fixed_versions or ()),
        vuln_id=r.vuln_id,
        date=utc(r.date),
    )


def score_from_row(r: Any) -> Score:
    return Score(
        r.version,
        r.vector,
        r.base_score,
        r.severity,
        r.source,
        r.vuln_id,
        r.valid,
        tuple(r.product_refs or ()),
    )


def statement_from_row(r: Any) -> Statement:
    return Statement(
        kind=r.kind,
        category=r.category,
        details=r.details,
        product_refs=tuple(r.product_refs or ()),
        vuln_id=r.vuln_id,
        date=utc(r.date),
    )


def kev_from_row(r: Any) -> KevEntry:
    return KevEntry(
        cve_id=r.cve_id,
        date_added=r.date_added,
        vendor_project=r.vendor_project,
        product=r.product,
        name=r.name,
        description=r.description,
        required_action=r.required_action,
        due_date=r.due_date,
        ransomware=r.ransomware,
        notes=r.notes,
        cwes=tuple(r.cwes or ()),
        source=r.source,
        catalog_version=r.catalog_version,
    )


def epss_from_row(r: Any) -> EpssScore:
    return EpssScore(
        cve_id=r.cve_id,
        epss=r.epss,
        percentile=r.percentile,
        score_date=None if r.score_date == UNDATED else r.score_date,
        model_version=r.model_version,
    )
