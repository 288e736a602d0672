"""The advisory repository: writes normalised records in batches (one transaction per batch,
so a crash never leaves half a record), replaces older revisions, and reads advisories, KEV
entries and EPSS scores back for views, searches and the exposure engine."""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)

from iotwarden.core.identifiers import IdentifierError, parse_purl
from iotwarden.core.identifiers import normalise_name as norm
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    EpssScore,
    KevEntry,
    Reference,
    Weakness,
)
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK, bulk_insert, insert_returning_ids, upsert
from iotwarden.store.db import Store
from iotwarden.store.rows import (
    ADVISORY_COLUMNS,
    CHILD_COLUMNS,
    UNDATED,
    PreparedAdvisory,
    affected_from_row,
    cpe_parts,
    epss_from_row,
    is_newer,
    kev_from_row,
    kev_row,
    prepare,
    remediation_from_row,
    revision_key,
    score_from_row,
    statement_from_row,
    utc,
)


class WriteResult(StrEnum):
    ADDED = "added"
    UPDATED = "updated"  # a newer revision replaced the stored one
    UNCHANGED = "unchanged"  # the same content was already stored
    STALE = "stale"  # the stored revision is newer or the same: kept


@dataclass
class BatchOutcome:
    results: list[tuple[PreparedAdvisory, WriteResult]] = field(default_factory=list)


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
                revision_key(existing["modified"], existing["revision"], existing["spec"]),
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
            for start in range(0, len(source_keys), CHUNK):
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
                        a.c.key.in_(source_keys[start : start + CHUNK]),
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
        for start in range(0, len(pks), CHUNK):
            chunk = pks[start : start + CHUNK]
            for table in (*t.ADVISORY_CHILD_TABLES, t.kev_entries):
                conn.execute(delete(table).where(table.c.advisory_pk.in_(chunk)))
            conn.execute(delete(t.advisories).where(t.advisories.c.id.in_(chunk)))

    def _insert_advisories(
        self, conn: Connection, items: list[tuple[PreparedAdvisory, str]]
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        rows = [(*prepared.row, origin, now) for prepared, origin in items]
        pks = insert_returning_ids(
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
                bulk_insert(conn, table, ("advisory_pk", *CHILD_COLUMNS[table.name]), rows_for)
        if kev_rows:
            self._upsert_kev(conn, kev_rows)

    def write_kev(
        self, entries: Sequence[KevEntry], document_id: int | None, conn: Connection
    ) -> int:
        rows = [kev_row(e, document_id) for e in entries]
        self._upsert_kev(conn, rows)
        return len(rows)

    def _upsert_kev(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        # The last row for a (cve, source) in one statement wins; dedupe first (PostgreSQL
        # refuses to update one row twice in a statement).
        unique = list({(r["cve_id"], r["source"]): r for r in rows}.values())
        upsert(conn, t.kev_entries, unique, ["cve_id", "source"])

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
        upsert(conn, t.epss_scores, list(rows.values()), ["cve_id", "score_date"])
        return len(rows)

    def add_source_document(
        self, conn: Connection, origin: str, fmt: AdvisoryFormat, meta: dict[str, Any] | None
    ) -> int:
        """The row describing a KEV or EPSS document; reading the same document again
        reuses its row (the count restarts) instead of adding one."""
        docs = t.source_documents
        values = {"ingested_at": dt.datetime.now(dt.UTC), "records": 0, "meta": meta}
        held = conn.execute(
            select(docs.c.id).where(docs.c.origin == origin, docs.c.format == fmt.value)
        ).first()
        if held is not None:
            conn.execute(docs.update().where(docs.c.id == held.id).values(**values))
            return int(held.id)
        result = conn.execute(
            insert(docs).returning(docs.c.id), {"origin": origin, "format": fmt.value, **values}
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
            t.source_documents,
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
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
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
        for start in range(0, len(pk_list), CHUNK):
            chunk = pk_list[start : start + CHUNK]
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
            for start in range(0, len(pks), CHUNK):
                chunk = list(pks[start : start + CHUNK])
                order = table.c.id
                for row in conn.execute(
                    select(table).where(table.c.advisory_pk.in_(chunk)).order_by(order)
                ):
                    grouped[row.advisory_pk].append(row)
            children[table.name] = grouped
        out: dict[int, Advisory] = {}
        for start in range(0, len(pks), CHUNK):
            chunk = list(pks[start : start + CHUNK])
            for row in conn.execute(select(a).where(a.c.id.in_(chunk))):
                pk = row.id
                own = names.get(pk, [])
                out[pk] = Advisory(
                    source=AdvisoryFormat(row.source),
                    key=row.key,
                    id=row.advisory_id,
                    aliases=tuple(n for n, k in own if k == "alias"),
                    vuln_ids=tuple(n for n, k in own if k in ("idvuln", "vuln")),
                    upstream=tuple(n for n, k in own if k == "upstream"),
                    title=row.title,
                    description=row.description,
                    published=utc(row.published),
                    modified=utc(row.modified),
                    revision=row.revision,
                    spec_version=row.spec_version,
                    status=AdvisoryStatus(row.status),
                    withdrawn_at=utc(row.withdrawn_at),
                    git_only=bool(row.git_only),
                    publisher=row.publisher,
                    affected=tuple(affected_from_row(r) for r in children["affected_products"][pk]),
                    remediations=tuple(
                        remediation_from_row(r) for r in children["remediations"][pk]
                    ),
                    scores=tuple(score_from_row(r) for r in children["scores"][pk]),
                    weaknesses=tuple(Weakness(c, v) for c, v in row.cwes or ()),
                    references=tuple(Reference(u, k) for u, k in row.reference_links or ()),
                    statements=tuple(statement_from_row(r) for r in children["statements"][pk]),
                    kev=tuple(kev_from_row(r) for r in children["kev_entries"][pk]),
                    raw=zlib.decompress(row.raw),
                )
        return out

    def origins(self, pks: Iterable[int], conn: Connection) -> dict[int, tuple[str, dt.datetime]]:
        a = t.advisories
        out: dict[int, tuple[str, dt.datetime]] = {}
        pk_list = list(pks)
        for start in range(0, len(pk_list), CHUNK):
            for row in conn.execute(
                select(a.c.id, a.c.origin, a.c.ingested_at).where(
                    a.c.id.in_(pk_list[start : start + CHUNK])
                )
            ):
                out[row.id] = (row.origin, utc(row.ingested_at) or dt.datetime.now(dt.UTC))
        return out

    def kev_for(self, cve_ids: Iterable[str], conn: Connection) -> dict[str, list[KevEntry]]:
        out: dict[str, list[KevEntry]] = defaultdict(list)
        ids = list(set(cve_ids))
        k = t.kev_entries
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(
                select(k).where(k.c.cve_id.in_(ids[start : start + CHUNK])).order_by(k.c.id)
            ):
                out[row.cve_id].append(kev_from_row(row))
        return dict(out)

    def epss_for(self, cve_ids: Iterable[str], conn: Connection) -> dict[str, EpssScore]:
        """The latest EPSS score of each CVE."""
        out: dict[str, EpssScore] = {}
        ids = list(set(cve_ids))
        e = t.epss_scores
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(
                select(e)
                .where(e.c.cve_id.in_(ids[start : start + CHUNK]))
                .order_by(e.c.cve_id, e.c.score_date)
            ):
                out[row.cve_id] = epss_from_row(row)  # ordered by date: the last one is the latest
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
            # A purl typed by a user is checked in full by packageurl-python; bulk records
            # take the fast split in rows.purl_parts.
            given = parse_purl(criteria.purl)
            ptype, pns, pname = given.type, given.namespace, given.name
            conditions.append(
                a.c.id.in_(select(ap.c.advisory_pk).where(_purl_condition(ptype, pns, pname)))
            )
        if criteria.cpe:
            vendor, product = cpe_parts(criteria.cpe)
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
                        func.lower(ap.c.purl_name) == criteria.product.lower(),
                    )
                )
            conditions.append(a.c.id.in_(select(ap.c.advisory_pk).where(and_(*parts))))
        if criteria.text:
            words = criteria.text.lower()
            conditions.append(
                or_(
                    func.lower(a.c.title).contains(words, autoescape=True),
                    func.lower(a.c.description).contains(words, autoescape=True),
                )
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
            # Each CVE's latest score counts, not any score it once had.
            e, later = t.epss_scores, t.epss_scores.alias("later")
            latest = select(func.max(later.c.score_date)).where(later.c.cve_id == e.c.cve_id)
            epss_ids = select(e.c.cve_id).where(
                e.c.epss >= criteria.min_epss, e.c.score_date == latest.scalar_subquery()
            )
            conditions.append(
                a.c.id.in_(select(vuln_alias.c.advisory_pk).where(vuln_alias.c.alias.in_(epss_ids)))
            )
        if conditions:
            query = query.where(and_(*conditions))
        query = query.limit(criteria.limit)
        return [int(row[0]) for row in conn.execute(query)]


#: purl types whose names are case-sensitive (purl spec); the others compare case-blind.
CASE_SENSITIVE_PURL_TYPES = frozenset({"maven", "golang", "swift", "conan", "oci", "docker"})


def _purl_condition(ptype: str, namespace: str | None, name: str) -> ColumnElement[bool]:
    """Match a package by type, namespace and name (version, qualifiers, subpath ignored).
    A purl without a namespace matches only packages without one."""
    ap = t.affected_products
    if ptype in CASE_SENSITIVE_PURL_TYPES:
        same_name = ap.c.purl_name == name
        same_namespace = ap.c.purl_namespace == namespace
    else:
        same_name = func.lower(ap.c.purl_name) == name.lower()
        same_namespace = func.lower(ap.c.purl_namespace) == (namespace or "").lower()
    if namespace is None:
        same_namespace = ap.c.purl_namespace.is_(None)
    return and_(ap.c.purl_type == ptype, same_name, same_namespace)


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
    limit: int = 50
