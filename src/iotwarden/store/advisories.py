"""The advisory repository: writes normalised records in batches (one transaction per batch,
so a crash never leaves half a record), replaces older revisions, and reads advisories, KEV
entries and EPSS scores back for views, searches and the exposure engine."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    LargeBinary,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from iotwarden.core.identifiers import IdentifierError, parse_cpe, split_purl
from iotwarden.core.identifiers import normalise_name as norm
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    Constraint,
    EpssScore,
    KevEntry,
    ProductIdentity,
    RangeKind,
    Reference,
    Remediation,
    RemediationCategory,
    Score,
    Statement,
    VersionRange,
    Weakness,
)
from iotwarden.core.versions import compare_versions
from iotwarden.store import schema as t
from iotwarden.store.db import Store

#: Stored in place of a missing EPSS score date (legacy files without one); shown as unknown.
UNDATED = dt.date(1, 1, 1)
_CHUNK = 500


class WriteResult(StrEnum):
    ADDED = "added"
    UPDATED = "updated"  # a newer revision replaced the stored one
    UNCHANGED = "unchanged"  # the same content was already stored
    STALE = "stale"  # the stored revision is newer or the same: kept


@dataclass
class BatchOutcome:
    results: list[tuple[PreparedAdvisory, WriteResult]] = field(default_factory=list)


# --- codecs -----------------------------------------------------------------------------------


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


def _revision_key(
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
            return bool(_aware(mine) > _aware(theirs))
        try:
            return compare_versions("generic", str(mine), str(theirs)) > 0
        except Exception:  # noqa: BLE001 - incomparable revision strings: fall back to text
            return str(mine) > str(theirs)
    return False


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@functools.lru_cache(maxsize=65536)
def _purl_parts(purl: str | None) -> tuple[str | None, str | None, str | None]:
    if not purl:
        return None, None, None
    try:
        return split_purl(purl)
    except IdentifierError:
        return None, None, None


@functools.lru_cache(maxsize=65536)
def _cpe_parts(cpe: str | None) -> tuple[str | None, str | None]:
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
    "scores": ("vuln_id", "version", "vector", "base_score", "severity", "source", "valid"),
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
    children: dict[str, list[tuple[Any, ...]]] = {
        "advisory_aliases": [(alias, kind) for alias, kind in names.items() if alias]
    }
    affected = []
    for ap in adv.affected:
        ident = ap.identity
        ptype, pns, pname = _purl_parts(ident.purl)
        cvendor, cproduct = _cpe_parts(ident.cpe)
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
                _json_text(list(ap.conditions)),
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
            (sc.vuln_id, sc.version, sc.vector, sc.base_score, sc.severity, sc.source, sc.valid)
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
        revision_key=_revision_key(adv.modified, adv.revision, adv.spec_version),
        content_hash=digest,
        row=row,
        children=children,
        kev=[_kev_row(kev, None) for kev in adv.kev],
    )


class AdvisoryRepository:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # writes ------------------------------------------------------------------------------------

    def write_advisories(
        self, batch: Sequence[tuple[Advisory | PreparedAdvisory, str]], conn: Connection
    ) -> BatchOutcome:
        """Write (advisory, origin) pairs inside the caller's transaction. Advisories may come
        already prepared (see :func:`prepare`), e.g. by a parsing worker process."""
        outcome = BatchOutcome()
        # Within one batch the newest revision of a key wins, like across batches.
        newest: dict[tuple[str, str], tuple[PreparedAdvisory, str]] = {}
        for item, origin in batch:
            prepared = item if isinstance(item, PreparedAdvisory) else prepare(item)
            k = (prepared.source, prepared.key)
            held = newest.get(k)
            if held is None or is_newer(prepared.revision_key, held[0].revision_key):
                if held is not None:
                    outcome.results.append((held[0], WriteResult.STALE))
                newest[k] = (prepared, origin)
            else:
                outcome.results.append((prepared, WriteResult.STALE))
        stored = self._stored_revisions(conn, list(newest))
        to_delete: list[int] = []
        to_insert: list[tuple[PreparedAdvisory, str]] = []
        for k, (prepared, origin) in newest.items():
            existing = stored.get(k)
            if existing is None:
                to_insert.append((prepared, origin))
                outcome.results.append((prepared, WriteResult.ADDED))
            elif existing["content_hash"] == prepared.content_hash:
                outcome.results.append((prepared, WriteResult.UNCHANGED))
            elif is_newer(
                prepared.revision_key,
                _revision_key(existing["modified"], existing["revision"], existing["spec"]),
            ):
                to_delete.append(existing["id"])
                to_insert.append((prepared, origin))
                outcome.results.append((prepared, WriteResult.UPDATED))
            else:
                outcome.results.append((prepared, WriteResult.STALE))
        if to_delete:
            self._delete_advisories(conn, to_delete)
        if to_insert:
            self._insert_advisories(conn, to_insert)
        return outcome

    def _stored_revisions(
        self, conn: Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        a = t.advisories
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, key in keys:
            by_source[source].append(key)
        for source, source_keys in by_source.items():
            # (source, key) is the unique index: filter on both so that it is used.
            for start in range(0, len(source_keys), _CHUNK):
                rows = conn.execute(
                    select(
                        a.c.id,
                        a.c.key,
                        a.c.content_hash,
                        a.c.modified,
                        a.c.revision,
                        a.c.spec_version,
                    ).where(
                        a.c.source == source,
                        a.c.key.in_(source_keys[start : start + _CHUNK]),
                    )
                )
                for row in rows:
                    found[(source, row.key)] = {
                        "id": row.id,
                        "content_hash": row.content_hash,
                        "modified": row.modified,
                        "revision": row.revision,
                        "spec": row.spec_version,
                    }
        return found

    def _delete_advisories(self, conn: Connection, pks: list[int]) -> None:
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start : start + _CHUNK]
            for table in (*t.ADVISORY_CHILD_TABLES, t.kev_entries):
                conn.execute(delete(table).where(table.c.advisory_pk.in_(chunk)))
            conn.execute(delete(t.advisories).where(t.advisories.c.id.in_(chunk)))

    def _insert_advisories(
        self, conn: Connection, items: list[tuple[PreparedAdvisory, str]]
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        rows = [(*prepared.row, origin, now) for prepared, origin in items]
        pks = _insert_returning_ids(
            conn, t.advisories, (*ADVISORY_COLUMNS, "origin", "ingested_at"), rows
        )
        children: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        kev_rows: list[dict[str, Any]] = []
        for pk, (prepared, _) in zip(pks, items, strict=True):
            for name, table_rows in prepared.children.items():
                children[name].extend((pk, *row) for row in table_rows)
            for kev in prepared.kev:
                kev_rows.append(kev | {"advisory_pk": pk})
        for table in t.ADVISORY_CHILD_TABLES:
            rows_for = children.get(table.name)
            if rows_for:
                _bulk_insert(conn, table, ("advisory_pk", *CHILD_COLUMNS[table.name]), rows_for)
        if kev_rows:
            self._upsert_kev(conn, kev_rows)

    def write_kev(
        self, entries: Sequence[KevEntry], document_id: int | None, conn: Connection
    ) -> int:
        rows = [_kev_row(e, document_id) for e in entries]
        self._upsert_kev(conn, rows)
        return len(rows)

    def _upsert_kev(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        # The last row for a (cve, source) in one statement wins; dedupe first (PostgreSQL
        # refuses to update one row twice in a statement).
        unique = list({(r["cve_id"], r["source"]): r for r in rows}.values())
        _upsert(conn, t.kev_entries, unique, ["cve_id", "source"])

    def write_epss(
        self, scores_: Sequence[EpssScore], document_id: int | None, conn: Connection
    ) -> int:
        rows = {
            (s.cve_id, s.score_date or UNDATED): {
                "cve_id": s.cve_id,
                "score_date": s.score_date or UNDATED,
                "epss": s.epss,
                "percentile": s.percentile,
                "model_version": s.model_version,
                "document_id": document_id,
            }
            for s in scores_
        }
        _upsert(conn, t.epss_scores, list(rows.values()), ["cve_id", "score_date"])
        return len(rows)

    def add_source_document(
        self, conn: Connection, origin: str, fmt: AdvisoryFormat, meta: dict[str, Any] | None
    ) -> int:
        result = conn.execute(
            insert(t.source_documents).returning(t.source_documents.c.id),
            {
                "origin": origin,
                "format": fmt.value,
                "ingested_at": dt.datetime.now(dt.UTC),
                "records": 0,
                "meta": meta,
            },
        )
        return int(result.scalar_one())

    def finish_source_document(self, conn: Connection, document_id: int, records: int) -> None:
        conn.execute(
            t.source_documents.update()
            .where(t.source_documents.c.id == document_id)
            .values(records=t.source_documents.c.records + records)
        )

    # reads -------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        tables = [
            t.advisories,
            *t.ADVISORY_CHILD_TABLES,
            t.kev_entries,
            t.epss_scores,
        ]
        with self.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables
            }

    def advisory_pks_for_ids(self, ids: Iterable[str], conn: Connection) -> dict[int, set[str]]:
        """Advisory pk -> the given ids it is known by (own id, vulnerability or alias)."""
        wanted = list({i for i in ids if i})
        found: dict[int, set[str]] = defaultdict(set)
        al = t.advisory_aliases
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for row in conn.execute(
                select(al.c.advisory_pk, al.c.alias).where(al.c.alias.in_(chunk))
            ):
                found[row.advisory_pk].add(row.alias)
        return dict(found)

    def names_of(self, pks: Iterable[int], conn: Connection) -> dict[int, list[tuple[str, str]]]:
        """Advisory pk -> [(alias, kind)] for every name it is known by."""
        out: dict[int, list[tuple[str, str]]] = defaultdict(list)
        al = t.advisory_aliases
        pk_list = list(pks)
        for start in range(0, len(pk_list), _CHUNK):
            chunk = pk_list[start : start + _CHUNK]
            for row in conn.execute(
                select(al.c.advisory_pk, al.c.alias, al.c.kind).where(al.c.advisory_pk.in_(chunk))
            ):
                out[row.advisory_pk].append((row.alias, row.kind))
        return dict(out)

    def load_advisories(self, pks: Sequence[int], conn: Connection) -> dict[int, Advisory]:
        """Rebuild full Advisory objects (raw included, decompressed) for the given pks."""
        if not pks:
            return {}
        a = t.advisories
        names = self.names_of(pks, conn)
        children: dict[str, dict[int, list[Any]]] = {}
        for table in (
            t.affected_products,
            t.remediations,
            t.scores,
            t.statements,
            t.kev_entries,
        ):
            grouped: dict[int, list[Any]] = defaultdict(list)
            for start in range(0, len(pks), _CHUNK):
                chunk = list(pks[start : start + _CHUNK])
                order = table.c.id
                for row in conn.execute(
                    select(table).where(table.c.advisory_pk.in_(chunk)).order_by(order)
                ):
                    grouped[row.advisory_pk].append(row)
            children[table.name] = grouped
        out: dict[int, Advisory] = {}
        for start in range(0, len(pks), _CHUNK):
            chunk = list(pks[start : start + _CHUNK])
            for row in conn.execute(select(a).where(a.c.id.in_(chunk))):
                pk = row.id
                own = names.get(pk, [])
                out[pk] = Advisory(
                    source=AdvisoryFormat(row.source),
                    key=row.key,
                    id=row.advisory_id,
                    aliases=tuple(n for n, k in own if k == "alias"),
                    vuln_ids=tuple(n for n, k in own if k in ("idvuln", "vuln")),
                    title=row.title,
                    description=row.description,
                    published=_utc(row.published),
                    modified=_utc(row.modified),
                    revision=row.revision,
                    spec_version=row.spec_version,
                    status=AdvisoryStatus(row.status),
                    withdrawn_at=_utc(row.withdrawn_at),
                    git_only=bool(row.git_only),
                    publisher=row.publisher,
                    affected=tuple(_affected(r) for r in children["affected_products"][pk]),
                    remediations=tuple(_remediation(r) for r in children["remediations"][pk]),
                    scores=tuple(_score(r) for r in children["scores"][pk]),
                    weaknesses=tuple(Weakness(c, v) for c, v in row.cwes or ()),
                    references=tuple(Reference(u, k) for u, k in row.reference_links or ()),
                    statements=tuple(_statement(r) for r in children["statements"][pk]),
                    kev=tuple(_kev(r) for r in children["kev_entries"][pk]),
                    raw=zlib.decompress(row.raw),
                )
        return out

    def origins(self, pks: Iterable[int], conn: Connection) -> dict[int, tuple[str, dt.datetime]]:
        a = t.advisories
        out: dict[int, tuple[str, dt.datetime]] = {}
        pk_list = list(pks)
        for start in range(0, len(pk_list), _CHUNK):
            for row in conn.execute(
                select(a.c.id, a.c.origin, a.c.ingested_at).where(
                    a.c.id.in_(pk_list[start : start + _CHUNK])
                )
            ):
                out[row.id] = (row.origin, _utc(row.ingested_at) or dt.datetime.now(dt.UTC))
        return out

    def kev_for(self, cve_ids: Iterable[str], conn: Connection) -> dict[str, list[KevEntry]]:
        out: dict[str, list[KevEntry]] = defaultdict(list)
        ids = list(set(cve_ids))
        k = t.kev_entries
        for start in range(0, len(ids), _CHUNK):
            for row in conn.execute(
                select(k).where(k.c.cve_id.in_(ids[start : start + _CHUNK])).order_by(k.c.id)
            ):
                out[row.cve_id].append(_kev(row))
        return dict(out)

    def epss_for(self, cve_ids: Iterable[str], conn: Connection) -> dict[str, EpssScore]:
        """The latest EPSS score of each CVE."""
        out: dict[str, EpssScore] = {}
        ids = list(set(cve_ids))
        e = t.epss_scores
        for start in range(0, len(ids), _CHUNK):
            for row in conn.execute(
                select(e)
                .where(e.c.cve_id.in_(ids[start : start + _CHUNK]))
                .order_by(e.c.cve_id, e.c.score_date)
            ):
                out[row.cve_id] = _epss(row)  # ordered by date: the last one is the latest
        return out

    # search ------------------------------------------------------------------------------------

    def search(self, criteria: SearchCriteria, conn: Connection) -> list[int]:
        """Advisory pks matching every given criterion, newest first."""
        a = t.advisories
        query: Select[Any] = select(a.c.id).order_by(
            a.c.modified.desc().nulls_last(), a.c.advisory_id
        )
        conditions: list[ColumnElement[bool]] = []
        if criteria.ids:
            al = t.advisory_aliases
            conditions.append(
                a.c.id.in_(select(al.c.advisory_pk).where(al.c.alias.in_(criteria.ids)))
            )
        ap = t.affected_products
        if criteria.purl:
            ptype, pns, pname = _purl_parts(criteria.purl)
            if ptype is None or pname is None:
                raise IdentifierError(f"{criteria.purl!r} is not a valid package URL")
            cond = and_(ap.c.purl_type == ptype, func.lower(ap.c.purl_name) == pname.lower())
            if pns:
                cond = and_(cond, func.lower(ap.c.purl_namespace) == pns.lower())
            conditions.append(a.c.id.in_(select(ap.c.advisory_pk).where(cond)))
        if criteria.cpe:
            vendor, product = _cpe_parts(criteria.cpe)
            if vendor is None:
                raise IdentifierError(f"{criteria.cpe!r} is not a CPE 2.3 name")
            cond = ap.c.cpe_vendor == vendor
            if product and product != "*":
                cond = and_(cond, ap.c.cpe_product == product)
            conditions.append(a.c.id.in_(select(ap.c.advisory_pk).where(cond)))
        if criteria.vendor or criteria.product:
            parts = []
            if criteria.vendor:
                v = norm(criteria.vendor)
                parts.append(or_(ap.c.vendor_norm == v, ap.c.cpe_vendor == v))
            if criteria.product:
                p = norm(criteria.product)
                parts.append(
                    or_(
                        ap.c.product_norm == p,
                        ap.c.cpe_product == p,
                        ap.c.purl_name == criteria.product,
                        func.lower(ap.c.purl_name) == criteria.product.lower(),
                    )
                )
            conditions.append(a.c.id.in_(select(ap.c.advisory_pk).where(and_(*parts))))
        if criteria.text:
            like = f"%{criteria.text.lower()}%"
            conditions.append(
                or_(func.lower(a.c.title).like(like), func.lower(a.c.description).like(like))
            )
        if criteria.min_cvss is not None:
            sc = t.scores
            conditions.append(
                a.c.id.in_(select(sc.c.advisory_pk).where(sc.c.base_score >= criteria.min_cvss))
            )
        if criteria.sources:
            conditions.append(a.c.source.in_([s.value for s in criteria.sources]))
        if not criteria.include_withdrawn:
            conditions.append(a.c.status == AdvisoryStatus.ACTIVE.value)
        vuln_alias = t.advisory_aliases
        if criteria.kev is not None:
            kev_ids = select(t.kev_entries.c.cve_id)
            on_kev = a.c.id.in_(
                select(vuln_alias.c.advisory_pk).where(vuln_alias.c.alias.in_(kev_ids))
            )
            conditions.append(on_kev if criteria.kev else ~on_kev)
        if criteria.min_epss is not None:
            epss_ids = select(t.epss_scores.c.cve_id).where(
                t.epss_scores.c.epss >= criteria.min_epss
            )
            conditions.append(
                a.c.id.in_(select(vuln_alias.c.advisory_pk).where(vuln_alias.c.alias.in_(epss_ids)))
            )
        if conditions:
            query = query.where(and_(*conditions))
        query = query.limit(criteria.limit)
        return [int(row[0]) for row in conn.execute(query)]


@dataclass(frozen=True)
class SearchCriteria:
    ids: tuple[str, ...] = ()
    purl: str | None = None
    cpe: str | None = None
    vendor: str | None = None
    product: str | None = None
    text: str | None = None
    kev: bool | None = None
    min_epss: float | None = None
    min_cvss: float | None = None
    sources: tuple[AdvisoryFormat, ...] = ()
    include_withdrawn: bool = False
    limit: int = 100


# Types whose values go to both drivers as they are: JSON arrives serialised from prepare();
# sqlite3 and psycopg adapt bool and bytes themselves. Only date-times need SQLAlchemy's help
# (SQLite stores them as text in SQLAlchemy's own format).
_NATIVE_TYPES = (JSON, Boolean, LargeBinary)


def _bulk_insert(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT many rows through the driver's executemany, converting values with each column
    type's own bind processor (as SQLAlchemy would) but without its per-row statement work,
    which costs more than the database write itself at feed scale. JSON columns arrive
    already serialised (see :func:`prepare`)."""
    dialect = conn.dialect
    converting = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, _NATIVE_TYPES):
            continue
        proc = column_type._cached_bind_processor(dialect)
        if proc is not None:
            converting.append((i, proc))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({quoted}) "  # noqa: S608 - names come from our schema
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if converting:
        converted_rows = []
        for row in rows:
            values = list(row)
            for i, proc in converting:
                if values[i] is not None:
                    values[i] = proc(values[i])
            converted_rows.append(tuple(values))
        rows = converted_rows
    conn.exec_driver_sql(sql, rows)


def _insert_returning_ids(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """Insert rows and return their new primary keys in row order."""
    if conn.dialect.name == "sqlite":
        # One executemany inside our write transaction: SQLite holds the write lock throughout
        # and numbers the rows consecutively after the current largest rowid.
        _bulk_insert(conn, table, columns, rows)
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    # PostgreSQL numbers rows from a sequence shared with other writers: ask for the ids.
    # SQLAlchemy serialises JSON itself here, so the prepared JSON text is parsed back first.
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    records = [
        {
            name: orjson.loads(value) if name in json_columns and value is not None else value
            for name, value in zip(columns, row, strict=True)
        }
        for row in rows
    ]
    result = conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), records
    )
    return [int(row[0]) for row in result]


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    builder: Any
    if dialect == "sqlite":
        builder = sqlite.insert
    elif dialect == "postgresql":
        builder = postgresql.insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    for start in range(0, len(rows), _CHUNK * 4):
        chunk = rows[start : start + _CHUNK * 4]
        stmt = builder(table)
        updates = {c: stmt.excluded[c] for c in chunk[0] if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), chunk)


def _kev_row(kev: KevEntry, document_id: int | None) -> dict[str, Any]:
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


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _affected(r: Any) -> AffectedProduct:
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
        conditions=tuple(r.conditions or ()),
        justification=r.justification,
        fixed_versions=tuple(r.fixed_versions or ()),
        source_path=r.source_path,
    )


def _remediation(r: Any) -> Remediation:
    return Remediation(
        category=RemediationCategory(r.category),
        details=r.details,
        url=r.url,
        product_refs=tuple(r.product_refs or ()),
        fixed_versions=tuple(r.fixed_versions or ()),
        vuln_id=r.vuln_id,
        date=_utc(r.date),
    )


def _score(r: Any) -> Score:
    return Score(r.version, r.vector, r.base_score, r.severity, r.source, r.vuln_id, r.valid)


def _statement(r: Any) -> Statement:
    return Statement(
        kind=r.kind,
        category=r.category,
        details=r.details,
        product_refs=tuple(r.product_refs or ()),
        vuln_id=r.vuln_id,
        date=_utc(r.date),
    )


def _kev(r: Any) -> KevEntry:
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


def _epss(r: Any) -> EpssScore:
    return EpssScore(
        cve_id=r.cve_id,
        epss=r.epss,
        percentile=r.percentile,
        score_date=None if r.score_date == UNDATED else r.score_date,
        model_version=r.model_version,
    )
