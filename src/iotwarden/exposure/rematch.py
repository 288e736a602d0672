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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
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
        # Iterative, with path compression: a hostile alias chain must not hit the recursion
        # limit.
        parent = self.parent
        root = parent.setdefault(name, name)
        while parent[root] != root:
            root = parent[root]
        while name != root:
            parent[name], name = root, parent[name]
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
    """What one vulnerability exposes across the inventory. Builds are kept as bit sets over
    the index's builds (compact for tens of thousands of vulnerabilities); the properties give
    their ids."""

    name: str  # a CVE id when the vulnerability has one
    names: tuple[str, ...]
    affected_mask: int
    possibly_mask: int
    suppressed_mask: int
    devices: int
    internet_exposed: int
    index: ComponentIndex = field(repr=False, compare=False)

    @property
    def affected(self) -> frozenset[int]:
        return self.index.builds_of(self.affected_mask)

    @property
    def possibly(self) -> frozenset[int]:
        return self.index.builds_of(self.possibly_mask)

    @property
    def suppressed(self) -> frozenset[int]:
        return self.index.builds_of(self.suppressed_mask)


@dataclass
class RematchResult:
    exposures: dict[str, VulnerabilityExposure]  # only the vulnerabilities that expose a build
    advisories: int
    entries: int  # affected entries stored
    entries_evaluated: int  # those that could name something in the inventory
    components: int
    variants: int
    seconds: dict[str, float]

    index: ComponentIndex | None = None

    @property
    def devices(self) -> int:
        return sum(e.devices for e in self.exposures.values())

    def builds_of(self, mask: int) -> frozenset[int]:
        return self.index.builds_of(mask) if self.index is not None else frozenset()


def rematch(store: Store, observer: RematchObserver | None = None) -> RematchResult:
    """Match every stored advisory against the whole inventory (see the module docstring)."""
    watch = observer or _NullObserver()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with store.engine.connect() as conn:
        watch.stage("loading the inventory's components")
        index = ComponentIndex.load(conn)
        devices, exposed = _device_weights(conn, index)
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
        verdicts = _Verdicts()
        facts: dict[int, _BuildFacts] = {}
        out: dict[str, VulnerabilityExposure] = {}
        for key, entries in positive.items():
            affected, possibly = _expose(conn, index, entries, verdicts, facts)
            if not affected and not possibly:
                continue
            matched = affected | possibly
            suppressed = _suppress(conn, index, negative.get(key, ()), verdicts, facts) & matched
            affected &= ~suppressed
            possibly &= ~(suppressed | affected)
            if not affected and not possibly:
                continue
            bits = _bits(affected | possibly, len(index.build_ids))
            out[key] = VulnerabilityExposure(
                name=key,
                names=(key,),
                affected_mask=affected,
                possibly_mask=possibly,
                suppressed_mask=suppressed,
                devices=int(devices @ bits),
                internet_exposed=int(exposed @ bits),
                index=index,
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
        index=index,
    )


def _device_weights(conn: Connection, index: ComponentIndex) -> tuple[Any, Any]:
    """Devices and internet-exposed devices per build, as vectors in the index's bit order."""
    import numpy as np

    d = t.devices
    devices = np.zeros(len(index.build_ids), dtype=np.int64)
    exposed = np.zeros(len(index.build_ids), dtype=np.int64)
    for build_id, count, internet in conn.execute(
        select(
            d.c.build_id,
            func.count(),
            func.sum(case((d.c.internet_exposed, 1), else_=0)),
        )
        .where(d.c.build_id.is_not(None))
        .group_by(d.c.build_id)
    ):
        position = index.positions.get(build_id)
        if position is not None:
            devices[position] = int(count)
            exposed[position] = int(internet or 0)
    return devices, exposed


def _bits(mask: int, size: int) -> Any:
    """A bit set as a 0/1 vector of ``size`` (bit i -> element i)."""
    import numpy as np

    raw = np.frombuffer(mask.to_bytes((size + 7) // 8 or 1, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:size].astype(np.int64)


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


class _Verdicts:
    """Verdicts of (ranges, version), shared by every entry: ranges are interned once per
    entry so a lookup hashes an int and a string, not the ranges."""

    def __init__(self) -> None:
        self.ids: dict[tuple[VersionRange, ...], int] = {}
        self.held: dict[tuple[int, str | None], ExposureStatus | None] = {}

    def judge(self, entry: AffectedProduct) -> Callable[[str | None], ExposureStatus | None]:
        ranges = entry.ranges
        rid = self.ids.setdefault(ranges, len(self.ids))
        held = self.held
        investigating = entry.status is AffectedStatus.UNDER_INVESTIGATION

        def verdict(version: str | None) -> ExposureStatus | None:
            key = (rid, version)
            if key in held:
                status = held[key]
            else:
                status = held[key] = evaluate(ranges, version)
            if status is not None and investigating:
                return ExposureStatus.POSSIBLY_AFFECTED
            return status

        return verdict


def _expose(
    conn: Connection,
    index: ComponentIndex,
    entries: list[AffectedProduct],
    verdicts: _Verdicts,
    facts: dict[int, _BuildFacts],
) -> tuple[int, int]:
    """Surely and possibly affected builds (bit sets), with the matcher's clearing rule: a
    "possibly" gives way where another statement compared the same component version and
    cleared it."""
    affected = 0
    possibly: list[tuple[str, int]] = []
    cleared: dict[str, int] = {}
    for entry in entries:
        verdict = verdicts.judge(entry)
        for _how, version, variant in index.candidates(entry):
            status = verdict(version)
            if status is None:
                cleared[variant.matched] = cleared.get(variant.matched, 0) | variant.mask
            elif entry.conditions:
                # Affected only where the conditions hold: elsewhere possibly (as exposure()).
                for build_id in variant.builds:
                    bit = 1 << index.positions[build_id]
                    if status is ExposureStatus.AFFECTED and conditions_hold(
                        conn, entry, build_id, facts
                    ):
                        affected |= bit
                    else:
                        possibly.append((variant.matched, bit))
            elif status is ExposureStatus.AFFECTED:
                affected |= variant.mask
            else:
                possibly.append((variant.matched, variant.mask))
    maybe = 0
    for matched, mask in possibly:
        maybe |= mask & ~cleared.get(matched, 0)
    return affected, maybe & ~affected


def _suppress(
    conn: Connection,
    index: ComponentIndex,
    entries: Iterable[AffectedProduct],
    verdicts: _Verdicts,
    facts: dict[int, _BuildFacts],
) -> int:
    out = 0
    for entry in entries:
        verdict = verdicts.judge(entry)
        for _how, version, variant in index.candidates(entry):
            if verdict(version) is not ExposureStatus.AFFECTED:
                continue
            if not entry.conditions:
                out |= variant.mask
                continue
            for build_id in variant.builds:
                if conditions_hold(conn, entry, build_id, facts):
                    out |= 1 << index.positions[build_id]
    return out
