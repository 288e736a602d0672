"""The priority of an exposure: one documented formula (docs/priority.md), in one place.

A device group is the devices that share a firmware build, an owner, a sector, a criticality
and internet exposure: they get the same advice and the same urgency. Each group's score is
the sum of named factors, so that every score can say why it is what it is.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import select

from iotwarden.core.fleet import Criticality, ProductRef
from iotwarden.core.models import EpssScore, KevEntry, Score
from iotwarden.exposure.index import ResidentFleet, device_rows
from iotwarden.exposure.matcher import ExposedDevice, Exposure, ExposureStatus
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK
from iotwarden.store.db import Store

#: Points per factor. Changing one changes docs/priority.md too (a test compares them).
SEVERITY_POINTS = 4.0  # per CVSS base point: 0..40
KEV_POINTS = 25.0  # known to be exploited (CISA KEV)
EPSS_POINTS = 15.0  # times the EPSS probability: 0..15
CRITICALITY_POINTS = {
    Criticality.CRITICAL: 15.0,
    Criticality.HIGH: 10.0,
    Criticality.MEDIUM: 5.0,
    Criticality.LOW: 0.0,
}
#: Sectors whose failures harm people or society (lower-case names as the inventory uses).
CRITICAL_SECTORS = {
    "energy": 10.0,
    "health": 10.0,
    "water": 10.0,
    "transport": 8.0,
    "manufacturing": 6.0,
    "communications": 6.0,
    "government": 6.0,
    "finance": 6.0,
}
INTERNET_POINTS = 10.0  # reachable from the internet
FLEET_POINTS_PER_DECADE = 2.0  # per tenfold devices in the group: 1 device 0, 1,000 devices 6
FLEET_POINTS_MAX = 8.0
NO_FIX_POINTS = 5.0  # no fixed version or vendor fix known: mitigations are all there is
POSSIBLY_FACTOR = 0.5  # "possibly affected" (unknown version, unreadable range): half

#: Score bands, highest first.
BANDS = ((70.0, "P1"), (50.0, "P2"), (30.0, "P3"), (0.0, "P4"))


@dataclass(frozen=True)
class Factor:
    name: str
    points: float
    why: str


@dataclass(frozen=True)
class DeviceGroup:
    product: ProductRef
    firmware_version: str
    owner: str | None
    owner_contact: str | None
    sector: str | None
    criticality: Criticality | None
    internet_exposed: bool
    device_ids: tuple[str, ...]


@dataclass(frozen=True)
class Priority:
    group: DeviceGroup
    score: float
    band: str
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class Signals:
    """What the advisory says about the vulnerability itself."""

    max_cvss: float | None
    kev: bool
    epss: float | None
    fix_available: bool

    @classmethod
    def of(
        cls,
        scores: Iterable[Score],
        kev: Iterable[KevEntry],
        epss: Iterable[EpssScore],
        fix_available: bool,
    ) -> Signals:
        best = max((s.base_score for s in scores if s.base_score is not None), default=None)
        top = max((e.epss for e in epss), default=None)
        return cls(best, any(True for _ in kev), top, fix_available)


def groups(devices: Iterable[ExposedDevice]) -> list[DeviceGroup]:
    held: dict[tuple[object, ...], list[ExposedDevice]] = defaultdict(list)
    for device in devices:
        key = (
            device.product,
            device.firmware_version,
            device.owner,
            device.sector,
            device.criticality,
            device.internet_exposed,
        )
        held[key].append(device)
    return [
        DeviceGroup(
            product=members[0].product,
            firmware_version=members[0].firmware_version,
            owner=members[0].owner,
            owner_contact=members[0].owner_contact,
            sector=members[0].sector,
            criticality=members[0].criticality,
            internet_exposed=members[0].internet_exposed,
            device_ids=tuple(d.device_id for d in members),
        )
        for members in held.values()
    ]


def priority(group: DeviceGroup, signals: Signals, status: ExposureStatus) -> Priority:
    score, band, factors = _scored(
        signals,
        status,
        group.criticality,
        group.sector,
        group.internet_exposed,
        len(group.device_ids),
    )
    return Priority(group, score, band, factors)


@functools.lru_cache(maxsize=65_536)
def _scored(
    signals: Signals,
    status: ExposureStatus,
    criticality: Criticality | None,
    sector: str | None,
    internet_exposed: bool,
    count: int,
) -> tuple[float, str, tuple[Factor, ...]]:
    """The formula. A group's score depends only on these, so a large fleet is scored once
    per distinct combination rather than once per group."""
    factors: list[Factor] = []
    if signals.max_cvss is not None:
        factors.append(
            Factor("severity", SEVERITY_POINTS * signals.max_cvss, f"CVSS {signals.max_cvss}")
        )
    if signals.kev:
        factors.append(Factor("exploited", KEV_POINTS, "on CISA's KEV list"))
    if signals.epss is not None:
        factors.append(
            Factor("exploit likelihood", EPSS_POINTS * signals.epss, f"EPSS {signals.epss:.3f}")
        )
    if criticality is not None:
        factors.append(
            Factor("criticality", CRITICALITY_POINTS[criticality], f"{criticality.value} device")
        )
    sector_points = CRITICAL_SECTORS.get((sector or "").lower(), 0.0)
    if sector_points:
        factors.append(Factor("sector", sector_points, f"{sector} sector"))
    if internet_exposed:
        factors.append(Factor("internet", INTERNET_POINTS, "reachable from the internet"))
    fleet_points = min(FLEET_POINTS_MAX, FLEET_POINTS_PER_DECADE * math.log10(max(count, 1)))
    if fleet_points:
        factors.append(Factor("fleet size", fleet_points, f"{count} devices"))
    if not signals.fix_available:
        factors.append(Factor("no fix", NO_FIX_POINTS, "no fixed version or vendor fix known"))
    score = sum(f.points for f in factors)
    if status is ExposureStatus.POSSIBLY_AFFECTED:
        factors.append(
            Factor("possibly affected", -score * (1 - POSSIBLY_FACTOR), "version not decided")
        )
        score *= POSSIBLY_FACTOR
    score = round(score, 1)
    band = next(label for floor, label in BANDS if score >= floor)
    return score, band, tuple(factors)


def rank(
    device_groups: Sequence[DeviceGroup],
    signals: Signals,
    status_of: dict[tuple[ProductRef, str], ExposureStatus],
) -> list[Priority]:
    """Every group's priority, highest first (ties: more devices first)."""
    ranked = [
        priority(
            g, signals, status_of.get((g.product, g.firmware_version), ExposureStatus.AFFECTED)
        )
        for g in device_groups
    ]
    ranked.sort(key=lambda p: (-p.score, -len(p.group.device_ids), str(p.group.product)))
    return ranked


class LazyRanking(Sequence[Priority]):
    """Device groups' priorities, highest first, built lazily: the groups and their scores are
    computed up front (cheap), the ``Priority`` objects only when read (``_make``)."""

    def __init__(self) -> None:
        self._made: dict[int, Priority] = {}

    def _make(self, index: int) -> Priority:
        raise NotImplementedError

    @property
    def devices(self) -> int:
        raise NotImplementedError

    @property
    def owners(self) -> set[str | None]:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Priority: ...

    @overload
    def __getitem__(self, index: slice) -> list[Priority]: ...

    def __getitem__(self, index: int | slice) -> Priority | list[Priority]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        made = self._made.get(index)
        if made is None:
            made = self._made[index] = self._make(index)
        return made


class Ranking(LazyRanking):
    """A ranking from the store-backed path: one row tuple per group."""

    def __init__(
        self, rows: list[tuple[float, str, tuple[Factor, ...], _GroupKey, list[str]]]
    ) -> None:
        super().__init__()
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def _make(self, index: int) -> Priority:
        score, band, factors, key, device_ids = self._rows[index]
        product, version, owner, contact, sector, criticality, internet = key
        group = DeviceGroup(
            product,
            version,
            owner,
            contact,
            sector,
            criticality,
            internet,
            tuple(sorted(device_ids)),
        )
        return Priority(group, score, band, factors)

    @property
    def devices(self) -> int:
        return sum(len(row[4]) for row in self._rows)

    @property
    def owners(self) -> set[str | None]:
        return {row[3][2] for row in self._rows}


_GroupKey = tuple[ProductRef, str, str | None, str | None, str | None, Criticality | None, bool]


def prioritise(store: Store, result: Exposure, fleet: ResidentFleet | None = None) -> LazyRanking:
    """The exposure's device groups, each with its priority and factors, highest first.

    One columnar query over the exposed builds' devices; grouping in a dict; the formula
    evaluated once per distinct (criticality, sector, exposure, status, size). With a resident
    ``fleet`` the devices come from its columns instead (no query at all).
    """
    signals = Signals.of(result.scores, result.kev, result.epss, result.fix_available)
    if fleet is not None:
        return _resident_ranking(fleet, result, signals)
    by_build = {b.build_id: b for b in result.builds}
    held: dict[tuple[int, int | None, str | None, str | None, bool], list[str]] = {}
    d, o = t.devices, t.owners
    owners: dict[int, tuple[str, str | None]] = {}
    ids = list(by_build)
    with store.engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(device_rows().where(d.c.build_id.in_(ids[start : start + CHUNK])))
            for build_id, owner_id, sector, criticality, internet, device_id in rows:
                key = (build_id, owner_id, sector, criticality, bool(internet))
                members = held.get(key)
                if members is None:
                    held[key] = [device_id]
                else:
                    members.append(device_id)
        wanted = {key[1] for key in held if key[1] is not None}
        wanted_ids = sorted(wanted)
        for start in range(0, len(wanted_ids), CHUNK):
            for owner_id, organisation, contact in conn.execute(
                select(o.c.id, o.c.organisation, o.c.contact).where(
                    o.c.id.in_(wanted_ids[start : start + CHUNK])
                )
            ):
                owners[owner_id] = (organisation, contact)
    criticalities = {c.value: c for c in Criticality}
    out: list[tuple[float, str, tuple[Factor, ...], _GroupKey, list[str]]] = []
    for (build_id, owner_id, sector, criticality, internet), device_ids in held.items():
        build = by_build[build_id]
        level = criticalities.get(criticality) if criticality else None
        score, band, factors = _scored(
            signals, build.status, level, sector, internet, len(device_ids)
        )
        owner, contact = (
            owners.get(owner_id, (None, None)) if owner_id is not None else (None, None)
        )
        group: _GroupKey = (build.product, build.version, owner, contact, sector, level, internet)
        out.append((score, band, factors, group, device_ids))
    out.sort(key=_order)
    return Ranking(out)


#: Criticality in ranking tie-breaks: unknown first, then low to critical.
_LEVEL_ORDER: dict[Criticality | None, int] = {None: 0} | {
    c: i + 1 for i, c in enumerate(Criticality)
}


def _order(row: tuple[float, str, tuple[Factor, ...], _GroupKey, list[str]]) -> tuple[Any, ...]:
    """Highest score, then the larger group, then product, version, owner, sector,
    criticality and exposure: a total order, the same in both ranking paths."""
    product, version, owner, _, sector, level, internet = row[3]
    return (
        -row[0],
        -len(row[4]),
        str(product),
        version,
        owner or "",
        sector or "",
        _LEVEL_ORDER[level],
        internet,
    )


def _resident_ranking(fleet: ResidentFleet, result: Exposure, signals: Signals) -> ResidentRanking:
    """Group and rank from the fleet's columns: one composite key per device, ``np.unique``
    for the groups, the formula per group (cached), one ``lexsort`` for the order."""
    import numpy as np

    builds = [b for b in result.builds if b.build_id in fleet.slices]
    if not builds:
        return ResidentRanking.empty()
    parts, lengths = [], []
    for build in builds:
        start, end = fleet.slices[build.build_id]
        parts.append(np.arange(start, end, dtype=np.int64))
        lengths.append(end - start)
    rows = np.concatenate(parts)
    build_pos = np.repeat(np.arange(len(builds), dtype=np.int64), lengths)
    owner = fleet.owner[rows].astype(np.int64)
    sector = fleet.sector[rows].astype(np.int64)
    level = fleet.criticality[rows].astype(np.int64)
    internet = fleet.internet[rows].astype(np.int64)
    n_owner, n_sector, n_level = len(fleet.owners), max(len(fleet.sectors), 1), 8
    key = (((build_pos * n_owner + owner) * n_sector + sector) * n_level + level) * 2 + internet
    _, first, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    g_build = build_pos[first].tolist()
    g_sector = sector[first].tolist()
    g_level = level[first].tolist()
    g_internet = internet[first].tolist()
    g_count = counts.tolist()
    scored = []
    for i in range(len(g_count)):
        build = builds[g_build[i]]
        scored.append(
            _scored(
                signals,
                build.status,
                fleet.criticalities[g_level[i]],
                fleet.sectors[g_sector[i]],
                bool(g_internet[i]),
                g_count[i],
            )
        )
    scores = np.asarray([row[0] for row in scored])
    build_rank = _ranks([(str(b.product), b.version) for b in builds])
    sector_rank = _ranks([(name or "", "") for name in fleet.sectors])
    # The same total order as _order (owner codes are in name order; criticality codes follow
    # _LEVEL_ORDER).
    order = np.lexsort(
        (
            internet[first],
            level[first],
            sector_rank[sector[first]],
            owner[first],
            build_rank[g_build],
            -counts,
            -scores,
        )
    )
    members = np.argsort(inverse, kind="stable")
    ends = np.cumsum(counts)
    return ResidentRanking(
        fleet, builds, rows, members, ends - counts, counts, scored, order, first, g_build
    )


def _ranks(keys: list[tuple[str, str]]) -> Any:
    import numpy as np

    ordered = sorted(range(len(keys)), key=keys.__getitem__)
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[ordered] = np.arange(len(keys))
    return ranks


class ResidentRanking(LazyRanking):
    """A ranking over a resident fleet: groups as index ranges into the device columns, the
    ``Priority`` objects (and their device id tuples) built only when read."""

    def __init__(
        self,
        fleet: ResidentFleet | None,
        builds: list[Any],
        rows: Any,
        members: Any,
        starts: Any,
        counts: Any,
        scored: list[tuple[float, str, tuple[Factor, ...]]],
        order: Any,
        first: Any,
        group_build: list[int],
    ) -> None:
        super().__init__()
        self._fleet = fleet
        self._group_build = group_build
        self._builds = builds
        self._rows = rows
        self._members = members
        self._starts = starts
        self._counts = counts
        self._scored = scored
        self._order = order
        self._first = first

    @classmethod
    def empty(cls) -> ResidentRanking:
        return cls(None, [], (), (), (), (), [], (), (), [])

    def __len__(self) -> int:
        return len(self._order)

    def _make(self, index: int) -> Priority:
        group = int(self._order[index])
        fleet = self._fleet
        assert fleet is not None  # noqa: S101 - an empty ranking has no groups to make
        start, count = int(self._starts[group]), int(self._counts[group])
        positions = self._rows[self._members[start : start + count]]
        device_ids = tuple(sorted(fleet.device_ids[i] for i in positions.tolist()))
        row = int(self._rows[self._first[group]])
        build = self._builds[self._group_build[group]]
        organisation, contact = fleet.owners[int(fleet.owner[row])]
        score, band, factors = self._scored[group]
        return Priority(
            DeviceGroup(
                product=build.product,
                firmware_version=build.version,
                owner=organisation,
                owner_contact=contact,
                sector=fleet.sectors[int(fleet.sector[row])],
                criticality=fleet.criticalities[int(fleet.criticality[row])],
                internet_exposed=bool(fleet.internet[row]),
                device_ids=device_ids,
            ),
            score,
            band,
            factors,
        )

    @property
    def devices(self) -> int:
        return len(self._rows)

    @property
    def owners(self) -> set[str | None]:
        if self._fleet is None:
            return set()
        import numpy as np

        codes = np.unique(self._fleet.owner[self._rows]).tolist()
        return {self._fleet.owners[c][0] for c in codes}
