"""Situational awareness for one vulnerability: how many devices are exposed, counted by
sector, owner, product and priority band, with how many are internet-facing, critical,
possibly (not surely) affected, and have a fix available."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from iotwarden.core.fleet import Criticality
from iotwarden.exposure.matcher import ExposureStatus, exposure
from iotwarden.exposure.priority import Priority, prioritise
from iotwarden.store.db import Store


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


def situation(store: Store, query: str) -> Situation:
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
    return out
