"""Situational awareness: for one vulnerability, how many devices are exposed, counted by
sector, owner, product and priority band, with how many are internet-facing, critical,
possibly (not surely) affected, have a fix available, and whose owners have remediated; for
all vulnerabilities at once, which expose the most devices. Each picture is recorded as a
snapshot, so the situation can be followed over time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, func, insert, select

from iotwarden.core.fleet import Criticality
from iotwarden.core.identifiers import CVE_ID
from iotwarden.exposure.matcher import ExposureStatus, exposure
from iotwarden.exposure.outreach import OutreachStatus, outreach
from iotwarden.exposure.priority import Priority, prioritise
from iotwarden.exposure.rematch import RematchObserver, rematch
from iotwarden.store import schema as t
from iotwarden.store.db import Store

#: The vulnerability name under which the all-vulnerabilities picture is recorded.
ALL = "*"


@dataclass
class Tally:
    devices: int = 0
    affected: int = 0  # surely affected
    possibly_affected: int = 0
    internet_exposed: int = 0
    critical: int = 0  # criticality high or critical
    fix_available: int = 0
    groups: int = 0

    def add(self, item: Priority, status: ExposureStatus, fixed: bool) -> None:
        count = len(item.group.device_ids)
        self.devices += count
        self.groups += 1
        if status is ExposureStatus.AFFECTED:
            self.affected += count
        else:
            self.possibly_affected += count
        if item.group.internet_exposed:
            self.internet_exposed += count
        if item.group.criticality in (Criticality.HIGH, Criticality.CRITICAL):
            self.critical += count
        if fixed:
            self.fix_available += count


@dataclass
class Situation:
    query: str
    vulnerability_ids: list[str]
    on_kev: bool
    epss: float | None
    max_cvss: float | None
    total: Tally = field(default_factory=Tally)
    by_sector: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_owner: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_product: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_band: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    remediated_owners: list[str] = field(default_factory=list)
    history: list[Snapshot] = field(default_factory=list)  # oldest first, this one last


@dataclass(frozen=True)
class Snapshot:
    """The counts of one picture, as recorded."""

    taken_at: dt.datetime
    devices: int
    affected: int
    possibly_affected: int
    internet_exposed: int
    critical: int
    builds: int
    vulnerabilities: int
    on_kev: int
    fix_available: int | None  # None in the all-vulnerabilities picture
    owners: int | None
    remediated_owners: int | None
    by_sector: dict[str, int]


def situation(
    store: Store, query: str, *, record: bool = True, now: dt.datetime | None = None
) -> Situation:
    """The picture for one vulnerability; ``record`` keeps it as a snapshot (see history)."""
    result = exposure(store, query)
    ranked = prioritise(store, result)
    builds = {(b.product, b.version): b for b in result.builds}
    scores = [s.base_score for s in result.scores if s.base_score is not None]
    out = Situation(
        query=result.query,
        vulnerability_ids=result.vulnerability_ids,
        on_kev=bool(result.kev),
        epss=max((e.epss for e in result.epss), default=None),
        max_cvss=max(scores, default=None),
    )
    for item in ranked:
        group = item.group
        build = builds[(group.product, group.firmware_version)]
        fixed = bool(build.fixed_versions) or result.vendor_fixes > 0
        for tally in (
            out.total,
            out.by_sector[group.sector or "(unknown)"],
            out.by_owner[group.owner or "(no owner)"],
            out.by_product[str(group.product)],
            out.by_band[item.band],
        ):
            tally.add(item, build.status, fixed)
    for name in ("by_sector", "by_owner", "by_product", "by_band"):
        tallies: dict[str, Tally] = getattr(out, name)
        setattr(out, name, dict(sorted(tallies.items(), key=lambda kv: (-kv[1].devices, kv[0]))))
    out.by_band = dict(sorted(out.by_band.items()))
    out.remediated_owners = sorted(
        item.recipient
        for item in outreach(store, query, result)
        if item.audience == "owner" and item.status is OutreachStatus.REMEDIATED
    )
    key = result.vulnerability_ids[0] if result.vulnerability_ids else result.query
    snapshot = Snapshot(
        taken_at=now or dt.datetime.now(dt.UTC),
        devices=out.total.devices,
        affected=out.total.affected,
        possibly_affected=out.total.possibly_affected,
        internet_exposed=out.total.internet_exposed,
        critical=out.total.critical,
        builds=len(result.builds),
        vulnerabilities=1,
        on_kev=int(out.on_kev),
        fix_available=out.total.fix_available,
        owners=len(out.by_owner),
        remediated_owners=len(out.remediated_owners),
        by_sector={k: v.devices for k, v in out.by_sector.items()},
    )
    out.history = _history(store, key, snapshot if record else None)
    if not record:
        out.history.append(snapshot)
    return out


def _history(store: Store, key: str, snapshot: Snapshot | None) -> list[Snapshot]:
    """Record ``snapshot`` (when given) and return every snapshot of ``key``, oldest first."""
    s = t.exposure_snapshots
    with store.engine.begin() as conn:
        if snapshot is not None:
            conn.execute(insert(s).values(vulnerability=key, **dataclasses.asdict(snapshot)))
        rows = conn.execute(
            select(s).where(s.c.vulnerability == key).order_by(s.c.taken_at, s.c.id)
        )
        return [_snapshot(row) for row in rows]


def _snapshot(row: Any) -> Snapshot:
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(Snapshot)}
    if values["taken_at"].tzinfo is None:
        values["taken_at"] = values["taken_at"].replace(tzinfo=dt.UTC)
    values["by_sector"] = dict(values["by_sector"] or {})
    return Snapshot(**values)


# --- every vulnerability at once --------------------------------------------------------------


@dataclass(frozen=True)
class VulnerabilityLine:
    name: str
    devices: int
    affected_builds: int
    possibly_builds: int
    internet_exposed: int
    on_kev: bool


@dataclass
class Overview:
    """Every vulnerability that exposes the fleet, most devices first, and the fleet totals."""

    vulnerabilities: list[VulnerabilityLine]
    exposed_devices: int  # distinct devices exposed to at least one vulnerability
    affected_devices: int  # of those, surely affected by at least one
    internet_exposed: int
    critical: int
    builds: int  # distinct builds exposed
    on_kev: int  # vulnerabilities on CISA KEV that expose the fleet
    by_sector: dict[str, int]  # distinct exposed devices per sector
    advisories: int
    seconds: float
    history: list[Snapshot] = field(default_factory=list)


def overview(
    store: Store,
    *,
    record: bool = True,
    now: dt.datetime | None = None,
    observer: RematchObserver | None = None,
) -> Overview:
    """Every stored advisory matched against the whole fleet (one batch, ``rematch``)."""
    batch = rematch(store, observer)
    surely_mask = exposed_mask = 0
    for item in batch.exposures.values():
        surely_mask |= item.affected_mask
        exposed_mask |= item.affected_mask | item.possibly_mask
    surely, builds = batch.builds_of(surely_mask), batch.builds_of(exposed_mask)
    with store.engine.connect() as conn:
        kev = _kev_ids(conn)
        per_build = _per_build_devices(conn, builds)
    by_sector: dict[str, int] = defaultdict(int)
    devices = affected = internet = critical = 0
    for build_id, rows in per_build.items():
        for sector, criticality, count, exposed in rows:
            by_sector[sector] += count
            devices += count
            internet += exposed
            if build_id in surely:
                affected += count
            if criticality in (Criticality.HIGH.value, Criticality.CRITICAL.value):
                critical += count
    lines = [
        VulnerabilityLine(
            name=item.name,
            devices=item.devices,
            affected_builds=item.affected_mask.bit_count(),
            possibly_builds=item.possibly_mask.bit_count(),
            internet_exposed=item.internet_exposed,
            on_kev=any(n.upper() in kev for n in item.names),
        )
        for item in batch.exposures.values()
    ]
    lines.sort(key=lambda v: (-v.devices, -v.internet_exposed, v.name))
    out = Overview(
        vulnerabilities=lines,
        exposed_devices=devices,
        affected_devices=affected,
        internet_exposed=internet,
        critical=critical,
        builds=len(builds),
        on_kev=sum(1 for line in lines if line.on_kev),
        by_sector=dict(sorted(by_sector.items(), key=lambda kv: (-kv[1], kv[0]))),
        advisories=batch.advisories,
        seconds=batch.seconds["total"],
    )
    snapshot = Snapshot(
        taken_at=now or dt.datetime.now(dt.UTC),
        devices=devices,
        affected=affected,
        possibly_affected=devices - affected,
        internet_exposed=internet,
        critical=critical,
        builds=len(builds),
        vulnerabilities=len(lines),
        on_kev=out.on_kev,
        fix_available=None,
        owners=None,
        remediated_owners=None,
        by_sector=out.by_sector,
    )
    out.history = _history(store, ALL, snapshot if record else None)
    if not record:
        out.history.append(snapshot)
    return out


def _kev_ids(conn: Connection) -> set[str]:
    k = t.kev_entries
    return {cve.upper() for cve in conn.execute(select(k.c.cve_id)).scalars() if CVE_ID.match(cve)}


def _per_build_devices(
    conn: Connection, builds: frozenset[int]
) -> dict[int, list[tuple[str, str | None, int, int]]]:
    """Exposed builds -> [(sector, criticality, devices, internet-exposed devices)]."""
    d, p = t.devices, t.products
    sector = func.coalesce(d.c.sector, p.c.sector, "(unknown)")
    criticality = func.coalesce(d.c.criticality, p.c.criticality)
    out: dict[int, list[tuple[str, str | None, int, int]]] = defaultdict(list)
    rows = conn.execute(
        select(
            d.c.build_id,
            sector,
            criticality,
            func.count(),
            func.sum(case((d.c.internet_exposed, 1), else_=0)),
        )
        .join(p, p.c.id == d.c.product_id)
        .where(d.c.build_id.is_not(None))
        .group_by(d.c.build_id, sector, criticality)
    )
    for build_id, name, level, count, exposed in rows:
        if build_id in builds:
            out[build_id].append((name, level, int(count), int(exposed or 0)))
    return out
