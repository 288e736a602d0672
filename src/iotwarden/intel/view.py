"""The merged view of one vulnerability: every advisory that speaks of it (through ids and
aliases), every fact tagged with the source that stated it, plus KEV and EPSS signals.

Alias groups grow only through single-vulnerability records (OSV, CVE 5, NVD): a CSAF document
naming ten CVEs contributes its facts about the asked one, but does not merge those ten."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from iotwarden.core.errors import IntelError
from iotwarden.core.identifiers import CVE_ID
from iotwarden.core.models import (
    Advisory,
    AdvisoryStatus,
    AffectedProduct,
    EpssScore,
    KevEntry,
    Reference,
    Remediation,
    Score,
    Statement,
)
from iotwarden.store.advisories import AdvisoryRepository, SearchCriteria
from iotwarden.store.db import Store

T = TypeVar("T")
#: An alias group larger than this stops growing (a guard against chains of bad aliases).
MAX_GROUP = 64


class UnknownAdvisoryError(IntelError):
    """Nothing in the store is known by the id asked for."""


@dataclass(frozen=True)
class Sourced(Generic[T]):
    value: T
    source: str  # e.g. 'nvd:CVE-2014-0160', 'csaf:ICSA-14-135-05', 'cisa-kev'


@dataclass(frozen=True)
class SourceRecord:
    source: str
    id: str
    title: str | None
    status: AdvisoryStatus
    published: dt.datetime | None
    modified: dt.datetime | None
    revision: str | None
    origin: str
    ingested_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass
class VulnerabilityView:
    query: str
    ids: list[str] = field(default_factory=list)
    records: list[SourceRecord] = field(default_factory=list)
    titles: list[Sourced[str]] = field(default_factory=list)
    descriptions: list[Sourced[str]] = field(default_factory=list)
    published: list[Sourced[dt.datetime]] = field(default_factory=list)
    scores: list[Sourced[Score]] = field(default_factory=list)
    weaknesses: list[Sourced[str]] = field(default_factory=list)
    affected: list[Sourced[AffectedProduct]] = field(default_factory=list)
    remediations: list[Sourced[Remediation]] = field(default_factory=list)
    references: list[Sourced[Reference]] = field(default_factory=list)
    statements: list[Sourced[Statement]] = field(default_factory=list)
    kev: list[Sourced[KevEntry]] = field(default_factory=list)
    epss: list[Sourced[EpssScore]] = field(default_factory=list)

    @property
    def withdrawn(self) -> list[SourceRecord]:
        return [r for r in self.records if r.status is not AdvisoryStatus.ACTIVE]

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "ids": self.ids,
            "records": [jsonable(r) | {"label": r.label} for r in self.records],
            "titles": [_sourced(s) for s in self.titles],
            "descriptions": [_sourced(s) for s in self.descriptions],
            "published": [_sourced(s) for s in self.published],
            "scores": [_sourced(s) for s in self.scores],
            "weaknesses": [_sourced(s) for s in self.weaknesses],
            "affected": [_sourced(s) for s in self.affected],
            "remediations": [_sourced(s) for s in self.remediations],
            "references": [_sourced(s) for s in self.references],
            "statements": [_sourced(s) for s in self.statements],
            "kev": [_sourced(s) for s in self.kev],
            "epss": [_sourced(s) for s in self.epss],
        }


def jsonable(value: Any) -> Any:
    """A domain value as plain JSON data: dataclasses as objects (the raw record left out),
    enums as their values, dates as ISO 8601, version ranges as `vers`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "raw"
        }
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "vers") and hasattr(value, "kind"):
        return value.vers
    return value.value if hasattr(value, "value") and not isinstance(value, str) else value


def _sourced(item: Sourced[Any]) -> dict[str, Any]:
    value = jsonable(item.value)
    if isinstance(item.value, AffectedProduct):
        value["ranges"] = [
            {"kind": r.kind.value, "scheme": r.scheme, "vers": r.vers, "raw": r.raw}
            for r in item.value.ranges
        ]
    return {"source": item.source, "value": value}


def _names(advisory: Advisory) -> set[str]:
    """The names of the record itself: its id, the vulnerability it covers and its aliases
    (not its upstream ids, which are other vulnerabilities it derives from)."""
    return {advisory.id, *advisory.vuln_ids, *advisory.aliases}


def _single_vulnerability(advisory: Advisory) -> bool:
    """Does the record speak of one vulnerability only? Only such records merge names: a
    CSAF document with ten CVEs, or a distribution notice naming many, must not."""
    cves = {n.upper() for n in _names(advisory) if CVE_ID.match(n.upper())}
    return len(advisory.vuln_ids) <= 1 and len(cves) <= 1


def _relevant(vuln_id: str | None, group: set[str], advisory: Advisory) -> bool:
    return (
        vuln_id is None
        or vuln_id in group
        or advisory.id in group  # asked for the record itself: all of it is relevant
        or _single_vulnerability(advisory)
    )


def vulnerability_view(store: Store, query: str) -> VulnerabilityView:
    """Everything the store knows about ``query`` (a CVE, GHSA, OSV, CSAF or other id)."""
    repo = AdvisoryRepository(store)
    wanted = query.strip()
    if not wanted:
        raise UnknownAdvisoryError("an advisory or vulnerability id is needed")
    with store.engine.connect() as conn:
        group, advisories = _alias_group(repo, conn, wanted)
        cves = {i.upper() for i in group if CVE_ID.match(i.upper())}
        kev = repo.kev_for(cves, conn)
        epss = repo.epss_for(cves, conn)
        origins = repo.origins(advisories, conn)
    if not advisories and not kev and not epss:
        raise UnknownAdvisoryError(
            f"nothing in the store is known by {wanted!r}: ingest an advisory that names it "
            "(`iotwarden intel ingest PATH`) or check the id"
        )
    view = VulnerabilityView(query=wanted, ids=sorted(group | cves))
    order = sorted(advisories.items(), key=lambda kv: (kv[1].source.value, kv[1].id))
    for pk, adv in order:
        label = f"{adv.source.value}:{adv.id}"
        origin, ingested = origins[pk]
        view.records.append(
            SourceRecord(
                adv.source.value,
                adv.id,
                adv.title,
                adv.status,
                adv.published,
                adv.modified,
                adv.revision,
                origin,
                ingested,
            )
        )
        if adv.title:
            view.titles.append(Sourced(adv.title, label))
        if adv.description:
            view.descriptions.append(Sourced(adv.description, label))
        if adv.published:
            view.published.append(Sourced(adv.published, label))
        view.scores += [Sourced(s, label) for s in adv.scores if _relevant(s.vuln_id, group, adv)]
        view.weaknesses += [
            Sourced(w.cwe_id, label) for w in adv.weaknesses if _relevant(w.vuln_id, group, adv)
        ]
        view.affected += [
            Sourced(a, label) for a in adv.affected if _relevant(a.vuln_id, group, adv)
        ]
        view.remediations += [
            Sourced(r, label) for r in adv.remediations if _relevant(r.vuln_id, group, adv)
        ]
        view.statements += [
            Sourced(s, label) for s in adv.statements if _relevant(s.vuln_id, group, adv)
        ]
        view.references += [Sourced(r, label) for r in adv.references]
    view.references = _dedupe_references(view.references)
    for cve in sorted(kev):
        view.kev += [Sourced(entry, entry.source) for entry in kev[cve]]
    for cve in sorted(epss):
        view.epss.append(Sourced(epss[cve], "first-epss"))
    return view


def _alias_group(
    repo: AdvisoryRepository, conn: Connection, query: str
) -> tuple[set[str], dict[int, Advisory]]:
    group = {query, query.upper()} if CVE_ID.match(query.upper()) else {query}
    loaded: dict[int, Advisory] = {}
    frontier = set(group)
    while frontier and len(group) < MAX_GROUP:
        hits = repo.advisory_pks_for_ids(frontier, conn)
        new_pks = [pk for pk in hits if pk not in loaded]
        if not new_pks:
            break
        loaded.update(repo.load_advisories(new_pks, conn))
        frontier = set()
        for pk in new_pks:
            adv = loaded[pk]
            # Grow through a record only if it was found by one of its own names: one found
            # through its upstream ids (a distribution notice) speaks of the vulnerability
            # but its other names are not the vulnerability's.
            if _single_vulnerability(adv) and hits[pk] & _names(adv):
                frontier |= _names(adv) - group
        group |= frontier
    return group, loaded


def _dedupe_references(refs: Iterable[Sourced[Reference]]) -> list[Sourced[Reference]]:
    by_url: dict[str, Sourced[Reference]] = {}
    for ref in refs:
        held = by_url.get(ref.value.url)
        if held is None:
            by_url[ref.value.url] = ref
        elif ref.source not in held.source.split(", "):
            by_url[ref.value.url] = Sourced(held.value, f"{held.source}, {ref.source}")
    return list(by_url.values())


# --- search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvisorySummary:
    source: str
    id: str
    title: str | None
    status: AdvisoryStatus
    published: dt.datetime | None
    modified: dt.datetime | None
    vuln_ids: tuple[str, ...]
    aliases: tuple[str, ...]
    max_cvss: float | None
    severity: str | None
    kev: bool
    epss: float | None
    affected: int

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = jsonable(self)
        return data


def search(store: Store, criteria: SearchCriteria) -> list[AdvisorySummary]:
    repo = AdvisoryRepository(store)
    with store.engine.connect() as conn:
        pks = repo.search(criteria, conn)
        advisories = repo.load_advisories(pks, conn)
        cves = {
            n.upper() for adv in advisories.values() for n in _names(adv) if CVE_ID.match(n.upper())
        }
        kev = repo.kev_for(cves, conn)
        epss = repo.epss_for(cves, conn)
    out = []
    for pk in pks:
        adv = advisories[pk]
        names = {n.upper() for n in _names(adv) if CVE_ID.match(n.upper())}
        best = max(
            (s for s in adv.scores if s.base_score is not None),
            key=lambda s: s.base_score or 0.0,
            default=None,
        )
        top_epss = max((epss[c].epss for c in names if c in epss), default=None)
        out.append(
            AdvisorySummary(
                source=adv.source.value,
                id=adv.id,
                title=adv.title,
                status=adv.status,
                published=adv.published,
                modified=adv.modified,
                vuln_ids=adv.vuln_ids,
                aliases=adv.aliases,
                max_cvss=best.base_score if best else None,
                severity=best.severity if best else None,
                kev=any(c in kev for c in names),
                epss=top_epss,
                affected=len(adv.affected),
            )
        )
    return out
