"""Batch exposure: every stored advisory matched against the whole inventory in one pass.

The inventory's components are loaded once into an in-memory index of distinct component
variants (name, version, purl, CPE -> the builds that carry them). The affected entries that
could name something in the inventory are picked by their identity columns before their ranges
are even decoded; each entry is then evaluated once per distinct component version (with a
verdict cache shared across entries), and fanned out to builds as sets. Per vulnerability
(records merged through their aliases, as ``vulnerability_view`` does) the result is the same
as ``exposure()``: surely affected and possibly affected builds, what a not-affected statement
suppresses, and device counts.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Connection, case, func, select

from iotwarden.core.identifiers import (
    CVE_ID,
)
from iotwarden.core.models import AffectedProduct, AffectedStatus, VersionRange
from iotwarden.exposure.index import ComponentIndex
from iotwarden.exposure.matcher import (
    ExposureStatus,
    _BuildFacts,
    conditions_hold,
    evaluate,
)
from iotwarden.store import schema as t
from iotwarden.store.db import Store
from iotwarden.store.rows import affected_from_row

POSITIVE = {AffectedStatus.AFFECTED.value, AffectedStatus.UNDER_INVESTIGATION.value}
NEGATIVE = {AffectedStatus.NOT_AFFECTED.value, AffectedStatus.FIXED.value}


class RematchObserver(Protocol):
    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self, count: int = 1) -> None: ...


class _NullObserver:
    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, count: int = 1) -> None:
        return None


# --- vulnerabilities: records merged through their aliases ----------------------------------


class _Names:
    """Union-find over vulnerability names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        parent = self.parent.setdefault(name, name)
        if parent == name:
            return name
        root = self.find(parent)
        self.parent[name] = root
        return root

    def union(self, names: Iterable[str]) -> None:
        roots = [self.find(n) for n in names]
        if roots:
            first = roots[0]
            for root in roots[1:]:
                if root != first:
                    self.parent[root] = first


@dataclass(frozen=True)
class VulnerabilityExposure:
    """What one vulnerability exposes across the inventory."""

    name: str  # a CVE id when the vulnerability has one
    names: tuple[str, ...]
    affected: frozenset[int]  # build ids
    possibly: frozenset[int]
    suppressed: frozenset[int]
    devices: int
    internet_exposed: int


@dataclass
class RematchResult:
    exposures: dict[str, VulnerabilityExposure]  # only the vulnerabilities that expose a build
    advisories: int
    entries: int  # affected entries stored
    entries_evaluated: int  # those that could name something in the inventory
    components: int
    variants: int
    seconds: dict[str, float]

    @property
    def devices(self) -> int:
        return sum(e.devices for e in self.exposures.values())


def rematch(store: Store, observer: RematchObserver | None = None) -> RematchResult:
    """Match every stored advisory against the whole inventory (see the module docstring)."""
    watch = observer or _NullObserver()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with store.engine.connect() as conn:
        watch.stage("loading the inventory's components")
        index = ComponentIndex.load(conn)
        devices, exposed = _device_counts(conn)
        seconds["index"] = time.perf_counter() - started

        mark = time.perf_counter()
        watch.stage("grouping advisories by their aliases")
        names, group_of, vulns_of, advisories = _vulnerability_groups(conn)
        seconds["aliases"] = time.perf_counter() - mark

        mark = time.perf_counter()
        a = t.affected_products
        total = conn.execute(select(func.count()).select_from(a)).scalar_one()
        watch.stage("matching affected entries", total)
        positive: dict[str, list[AffectedProduct]] = defaultdict(list)
        negative: dict[str, list[AffectedProduct]] = defaultdict(list)
        evaluated = 0
        for row in conn.execute(select(a)):
            watch.advance()
            if row.status not in POSITIVE and row.status not in NEGATIVE:
                continue
            if not index.could_match(row):
                continue
            evaluated += 1
            entry = affected_from_row(row)
            target = positive if row.status in POSITIVE else negative
            for key in _groups_for(row, entry, names, group_of, vulns_of):
                target[key].append(entry)
        seconds["select"] = time.perf_counter() - mark

        mark = time.perf_counter()
        verdicts: dict[tuple[tuple[VersionRange, ...], str | None], ExposureStatus | None] = {}
        facts: dict[int, _BuildFacts] = {}
        out: dict[str, VulnerabilityExposure] = {}
        for key, entries in positive.items():
            found = _expose(conn, index, entries, verdicts, facts)
            if found is None:
                continue
            affected, possibly = found
            matched = affected | possibly
            suppressed = _suppress(conn, index, negative.get(key, ()), verdicts, facts) & matched
            affected -= suppressed
            possibly -= suppressed | affected
            if not affected and not possibly:
                continue
            builds = affected | possibly
            out[key] = VulnerabilityExposure(
                name=key,
                names=(key,),
                affected=frozenset(affected),
                possibly=frozenset(possibly),
                suppressed=frozenset(suppressed),
                devices=sum(devices.get(b, 0) for b in builds),
                internet_exposed=sum(exposed.get(b, 0) for b in builds),
            )
        members: dict[str, list[str]] = defaultdict(list)
        for name in list(names.parent):
            root = names.find(name)
            if root in out:
                members[root].append(name)
        for key, held in members.items():
            ordered = sorted(set(held), key=lambda n: (not CVE_ID.match(n.upper()), n))
            out[key] = replace(out[key], name=ordered[0], names=tuple(ordered))
        out = {e.name: e for e in out.values()}
        seconds["match"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return RematchResult(
        exposures=out,
        advisories=advisories,
        entries=total,
        entries_evaluated=evaluated,
        components=index.components,
        variants=index.variants,
        seconds=seconds,
    )


def _device_counts(conn: Connection) -> tuple[dict[int, int], dict[int, int]]:
    d = t.devices
    devices: dict[int, int] = {}
    exposed: dict[int, int] = {}
    for build_id, count, internet in conn.execute(
        select(
            d.c.build_id,
            func.count(),
            func.sum(case((d.c.internet_exposed, 1), else_=0)),
        )
        .where(d.c.build_id.is_not(None))
        .group_by(d.c.build_id)
    ):
        devices[build_id] = int(count)
        exposed[build_id] = int(internet or 0)
    return devices, exposed


def _vulnerability_groups(
    conn: Connection,
) -> tuple[_Names, dict[int, str], dict[int, list[str]], int]:
    """Union the names of every single-vulnerability record (as the view merges them).

    Returns the union-find, the group of each single-vulnerability record, the vulnerability
    names of each multi-vulnerability record, and the number of records."""
    adv, al = t.advisories, t.advisory_aliases
    own: dict[int, set[str]] = {}
    vulns: dict[int, set[str]] = defaultdict(set)
    for pk, advisory_id in conn.execute(select(adv.c.id, adv.c.advisory_id)):
        own[pk] = {advisory_id}
    for pk, alias, kind in conn.execute(select(al.c.advisory_pk, al.c.alias, al.c.kind)):
        if kind == "upstream":
            continue
        own.setdefault(pk, set()).add(alias)
        if kind in ("vuln", "idvuln"):
            vulns[pk].add(alias)
    names = _Names()
    single: dict[int, set[str]] = {}
    multi: dict[int, list[str]] = {}
    for pk, held in own.items():
        cves = {n.upper() for n in held if CVE_ID.match(n.upper())}
        if len(vulns.get(pk, ())) <= 1 and len(cves) <= 1:
            single[pk] = held
            names.union(held)
        else:
            multi[pk] = sorted(vulns.get(pk) or cves or held)
            for name in multi[pk]:
                names.find(name)
    group_of = {pk: names.find(next(iter(held))) for pk, held in single.items()}
    return names, group_of, multi, len(own)


def _groups_for(
    row: Any,
    entry: AffectedProduct,
    names: _Names,
    group_of: dict[int, str],
    vulns_of: dict[int, list[str]],
) -> list[str]:
    pk = row.advisory_pk
    if pk in group_of:
        return [group_of[pk]]
    if entry.vuln_id:
        return [names.find(entry.vuln_id)]
    # A statement of a multi-vulnerability record without a vulnerability id speaks for all.
    return [names.find(v) for v in vulns_of.get(pk, ())]


def _verdict(
    entry: AffectedProduct,
    version: str | None,
    verdicts: dict[tuple[tuple[VersionRange, ...], str | None], ExposureStatus | None],
) -> ExposureStatus | None:
    key = (entry.ranges, version)
    if key in verdicts:
        status = verdicts[key]
    else:
        status = verdicts[key] = evaluate(entry.ranges, version)
    if status is not None and entry.status is AffectedStatus.UNDER_INVESTIGATION:
        return ExposureStatus.POSSIBLY_AFFECTED
    return status


def _expose(
    conn: Connection,
    index: ComponentIndex,
    entries: list[AffectedProduct],
    verdicts: dict[tuple[tuple[VersionRange, ...], str | None], ExposureStatus | None],
    facts: dict[int, _BuildFacts],
) -> tuple[set[int], set[int]] | None:
    """Surely and possibly affected builds, with the matcher's clearing rule: a "possibly"
    gives way where another statement compared the same component version and cleared it."""
    affected: set[int] = set()
    possibly: list[tuple[str, tuple[int, ...]]] = []
    cleared: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        for _how, version, variant in index.candidates(entry):
            status = _verdict(entry, version, verdicts)
            if status is None:
                cleared[variant.matched].update(variant.builds)
            elif entry.conditions:
                # Affected only where the conditions hold: elsewhere possibly (as exposure()).
                for build_id in variant.builds:
                    if status is ExposureStatus.AFFECTED and conditions_hold(
                        conn, entry, build_id, facts
                    ):
                        affected.add(build_id)
                    else:
                        possibly.append((variant.matched, (build_id,)))
            elif status is ExposureStatus.AFFECTED:
                affected.update(variant.builds)
            else:
                possibly.append((variant.matched, variant.builds))
    maybe: set[int] = set()
    for matched, builds in possibly:
        gone = cleared.get(matched)
        maybe.update(b for b in builds if gone is None or b not in gone)
    maybe -= affected
    if not affected and not maybe:
        return None
    return affected, maybe


def _suppress(
    conn: Connection,
    index: ComponentIndex,
    entries: Iterable[AffectedProduct],
    verdicts: dict[tuple[tuple[VersionRange, ...], str | None], ExposureStatus | None],
    facts: dict[int, _BuildFacts],
) -> set[int]:
    out: set[int] = set()
    for entry in entries:
        for _how, version, variant in index.candidates(entry):
            if _verdict(entry, version, verdicts) is not ExposureStatus.AFFECTED:
                continue
            for build_id in variant.builds:
                if conditions_hold(conn, entry, build_id, facts):
                    out.add(build_id)
    return out
