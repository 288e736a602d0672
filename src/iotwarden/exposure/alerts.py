"""Actionable alerts: one per affected asset owner and one per affected product vendor, each
saying which devices or products, why, how urgent, and what to do about it.

An owner alert carries the owner's device groups (the units of docs/priority.md) with their
priority and the match reasons of their firmware build; a vendor alert carries the vendor's
exposed builds with device counts across every owner, but names no owner. Both carry the fix:
fixed versions, the vendor's remediations, mitigations and workarounds, and CISA's required
action. Remediations that name the products they apply to (CSAF product ids, OSV packages)
are kept only for recipients whose builds were matched through one of those products.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from iotwarden.core.fleet import Criticality, ProductRef
from iotwarden.core.models import RemediationCategory
from iotwarden.exposure.index import ResidentFleet
from iotwarden.exposure.matcher import (
    BuildExposure,
    ExposureStatus,
    MatchReason,
    exposure,
)
from iotwarden.exposure.priority import Factor, Priority, prioritise
from iotwarden.intel.view import VulnerabilityView, vulnerability_view
from iotwarden.store.db import Store

#: The recipient of an alert for devices whose inventory names no owner.
NO_OWNER = "(no owner)"

FIX_CATEGORIES = (RemediationCategory.VENDOR_FIX, RemediationCategory.UPGRADE)
MITIGATION_CATEGORIES = (RemediationCategory.MITIGATION, RemediationCategory.WORKAROUND)


class Audience(StrEnum):
    OWNER = "owner"
    VENDOR = "vendor"


@dataclass(frozen=True)
class Vulnerability:
    query: str  # what the alert was asked for, e.g. 'CVE-2014-0160'
    ids: tuple[str, ...]  # every name the sources give it, the query's included
    sources: tuple[str, ...]  # the advisory records it rests on, e.g. 'nvd:CVE-2014-0160'
    max_cvss: float | None


@dataclass(frozen=True)
class Reason:
    """Why a build is exposed, as one source states it."""

    matched: str  # 'openssl 1.0.1e', 'ExGate 100 firmware 4.2.0'
    how: str  # 'cpe', 'purl', 'component name', 'product'
    ranges: str  # 'vers:generic/>=1.0.1|<1.0.1g'
    source: str  # 'nvd:CVE-2014-0160'
    status: ExposureStatus
    fixed_versions: tuple[str, ...]

    @classmethod
    def of(cls, reason: MatchReason) -> Reason:
        return cls(
            reason.matched,
            reason.how,
            reason.ranges,
            reason.source,
            reason.status,
            reason.fixed_versions,
        )


@dataclass(frozen=True)
class AlertGroup:
    """An owner's devices that share a build, a sector, a criticality and internet exposure."""

    product: ProductRef
    firmware_version: str
    status: ExposureStatus
    device_ids: tuple[str, ...]
    sector: str | None
    criticality: Criticality | None
    internet_exposed: bool
    band: str
    score: float
    factors: tuple[Factor, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class AlertProduct:
    """A vendor's exposed firmware build and how many devices run it, across every owner."""

    product: ProductRef
    firmware_version: str
    status: ExposureStatus
    devices: int
    internet_exposed: int
    owners: int
    band: str | None  # the highest priority of any device group on the build
    score: float | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class FixedVersion:
    """The version that fixes what was matched, as one source states it."""

    matched: str  # 'openssl 1.0.1e'
    versions: tuple[str, ...]  # ('1.0.1g',)
    source: str


@dataclass(frozen=True)
class RemediationNote:
    category: RemediationCategory
    details: str | None
    url: str | None
    fixed_versions: tuple[str, ...]
    source: str  # 'csaf:EXG-2014-001'


@dataclass(frozen=True)
class KevAction:
    """What CISA requires of US federal agencies for a known exploited vulnerability."""

    cve_id: str
    required_action: str | None
    due_date: dt.date | None
    date_added: dt.date | None
    ransomware: str | None
    source: str


@dataclass(frozen=True)
class EpssSignal:
    cve_id: str
    epss: float
    percentile: float | None
    score_date: dt.date | None


@dataclass(frozen=True)
class Fix:
    fixed_versions: tuple[FixedVersion, ...]
    vendor_remediations: tuple[RemediationNote, ...]  # vendor_fix, upgrade
    mitigations: tuple[RemediationNote, ...]  # mitigation, workaround
    other_remediations: tuple[RemediationNote, ...]  # no fix planned, none available, ...
    kev: tuple[KevAction, ...]
    epss: tuple[EpssSignal, ...]

    @property
    def versions(self) -> tuple[str, ...]:
        """Every fixed version named, in order, once."""
        return tuple(dict.fromkeys(v for f in self.fixed_versions for v in f.versions))


@dataclass(frozen=True)
class Alert:
    audience: Audience
    recipient: str  # the owner's organisation or the product vendor
    contact: str | None  # the owner's security contact; None for vendors
    vulnerability: Vulnerability
    title: str
    summary: str | None  # a description, from a source that matched when there is one
    summary_source: str | None
    band: str | None  # the recipient's highest device-group priority
    score: float | None
    groups: tuple[AlertGroup, ...]  # owner alerts, highest priority first
    products: tuple[AlertProduct, ...]  # vendor alerts, highest priority first
    fix: Fix

    @property
    def devices(self) -> int:
        if self.audience is Audience.OWNER:
            return sum(len(g.device_ids) for g in self.groups)
        return sum(p.devices for p in self.products)


def build_alerts(store: Store, query: str, fleet: ResidentFleet | None = None) -> list[Alert]:
    """Alerts for ``query``: the owners first (most urgent first), then the product vendors."""
    result = exposure(store, query, fleet)
    view = result.view if result.view is not None else vulnerability_view(store, query)
    ranked = prioritise(store, result, fleet)
    builds = {(b.product, b.version): b for b in result.builds}
    refs = _product_refs_by_build(result.builds)
    vulnerability = Vulnerability(
        query=view.query,
        ids=tuple(view.ids),
        sources=tuple(r.label for r in view.records),
        max_cvss=max(
            (s.value.base_score for s in view.scores if s.value.base_score is not None),
            default=None,
        ),
    )
    kev, epss = _kev(view), _epss(view)

    def alert(
        audience: Audience,
        recipient: str,
        contact: str | None,
        on: Sequence[BuildExposure],
        groups: tuple[AlertGroup, ...] = (),
        products: tuple[AlertProduct, ...] = (),
    ) -> Alert:
        scored = [(g.score, g.band) for g in groups] + [
            (p.score, p.band) for p in products if p.score is not None and p.band is not None
        ]
        top = max(scored, default=None)
        matched = {r.source for b in on for r in b.reasons}
        sources = {r.source for b in on for r in b.reasons if r.status is ExposureStatus.AFFECTED}
        summary = _summary(view, sources, matched)
        return Alert(
            audience=audience,
            recipient=recipient,
            contact=contact,
            vulnerability=vulnerability,
            title=_title(view, sources),
            summary=summary[0] if summary else None,
            summary_source=summary[1] if summary else None,
            band=top[1] if top else None,
            score=top[0] if top else None,
            groups=groups,
            products=products,
            fix=_fix(view, on, refs, kev, epss),
        )

    owners: dict[str, list[Priority]] = defaultdict(list)
    for item in ranked:
        owners[item.group.owner or NO_OWNER].append(item)
    owner_alerts = []
    for owner, items in owners.items():
        on = list({id(b): b for i in items if (b := builds.get(_key(i))) is not None}.values())
        contact = next((i.group.owner_contact for i in items if i.group.owner_contact), None)
        owner_alerts.append(
            alert(
                Audience.OWNER,
                owner,
                contact,
                on,
                groups=tuple(_group(i, builds.get(_key(i))) for i in items),
            )
        )

    top_of: dict[tuple[ProductRef, str], Priority] = {}
    owners_of: dict[tuple[ProductRef, str], set[str]] = defaultdict(set)
    for item in ranked:  # highest first: the first seen is the build's top
        top_of.setdefault(_key(item), item)
        owners_of[_key(item)].add(item.group.owner or NO_OWNER)
    vendors: dict[str, list[BuildExposure]] = defaultdict(list)
    for build in result.builds:
        vendors[build.product.vendor].append(build)
    vendor_alerts = []
    for vendor, held in vendors.items():
        products = sorted(
            (
                _product(b, top_of.get((b.product, b.version)), owners_of[(b.product, b.version)])
                for b in held
            ),
            key=lambda p: (-(p.score or 0.0), -p.devices, p.product.name, p.firmware_version),
        )
        vendor_alerts.append(alert(Audience.VENDOR, vendor, None, held, products=tuple(products)))

    def urgency(a: Alert) -> tuple[float, int, str]:
        return (-(a.score or 0.0), -a.devices, a.recipient.lower())

    return sorted(owner_alerts, key=urgency) + sorted(vendor_alerts, key=urgency)


def _key(item: Priority) -> tuple[ProductRef, str]:
    return (item.group.product, item.group.firmware_version)


def _reasons(build: BuildExposure | None) -> tuple[Reason, ...]:
    return tuple(Reason.of(r) for r in build.reasons) if build is not None else ()


def _group(item: Priority, build: BuildExposure | None) -> AlertGroup:
    group = item.group
    return AlertGroup(
        product=group.product,
        firmware_version=group.firmware_version,
        status=build.status if build is not None else ExposureStatus.AFFECTED,
        device_ids=group.device_ids,
        sector=group.sector,
        criticality=group.criticality,
        internet_exposed=group.internet_exposed,
        band=item.band,
        score=item.score,
        factors=item.factors,
        reasons=_reasons(build),
    )


def _product(build: BuildExposure, top: Priority | None, owners: set[str]) -> AlertProduct:
    return AlertProduct(
        product=build.product,
        firmware_version=build.version,
        status=build.status,
        devices=build.devices,
        internet_exposed=build.internet_exposed,
        owners=len(owners),
        band=top.band if top else None,
        score=top.score if top else None,
        reasons=_reasons(build),
    )


def _title(view: VulnerabilityView, sources: set[str]) -> str:
    """A title from a source that found the recipient's builds affected, else CISA's name
    for the vulnerability, else any title: a vendor's or a distribution's title names its
    own products, which may not be the recipient's."""
    own = next((t.value for t in view.titles if t.source in sources), None)
    named = next((k.value.name for k in view.kev if k.value.name), None)
    return own or named or (view.titles[0].value if view.titles else view.query)


def _summary(
    view: VulnerabilityView, sources: set[str], matched: set[str]
) -> tuple[str, str] | None:
    """The first description from a source that found the recipient's builds affected, else
    from one that matched them at all, else the first description."""
    chosen = next((d for d in view.descriptions if d.source in sources), None)
    chosen = chosen or next((d for d in view.descriptions if d.source in matched), None)
    chosen = chosen or (view.descriptions[0] if view.descriptions else None)
    return (chosen.value, chosen.source) if chosen else None


def _kev(view: VulnerabilityView) -> tuple[KevAction, ...]:
    """One action per CVE: the entry that states a required action (CISA's catalog first)."""
    by_cve: dict[str, KevAction] = {}
    entries = sorted(
        view.kev, key=lambda k: (k.value.required_action is None, k.source != "cisa-kev")
    )
    for item in entries:
        k = item.value
        by_cve.setdefault(
            k.cve_id,
            KevAction(
                k.cve_id, k.required_action, k.due_date, k.date_added, k.ransomware, item.source
            ),
        )
    return tuple(by_cve[c] for c in sorted(by_cve))


def _epss(view: VulnerabilityView) -> tuple[EpssSignal, ...]:
    return tuple(
        EpssSignal(e.value.cve_id, e.value.epss, e.value.percentile, e.value.score_date)
        for e in view.epss
    )


def _product_refs_by_build(builds: Iterable[BuildExposure]) -> dict[int, set[tuple[str, str]]]:
    """(source, product ref) of the affected statements each exposed build was matched by."""
    out: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for build in builds:
        for reason in build.reasons:
            if reason.product_ref is not None:
                out[build.build_id].add((reason.source, reason.product_ref))
    return out


def _fix(
    view: VulnerabilityView,
    builds: Sequence[BuildExposure],
    refs: dict[int, set[tuple[str, str]]],
    kev: tuple[KevAction, ...],
    epss: tuple[EpssSignal, ...],
) -> Fix:
    fixed: dict[tuple[str, tuple[str, ...], str], FixedVersion] = {}
    for build in builds:
        for reason in build.reasons:
            if reason.fixed_versions:
                key = (reason.matched, reason.fixed_versions, reason.source)
                fixed.setdefault(
                    key, FixedVersion(reason.matched, reason.fixed_versions, reason.source)
                )
    matched_refs = {r for b in builds for r in refs.get(b.build_id, ())}
    # Refs some affected statement names: a remediation naming only other refs cannot be
    # placed, and is kept rather than silently dropped.
    known_refs = {
        (a.source, a.value.identity.product_ref)
        for a in view.affected
        if a.value.identity.product_ref is not None
    }
    vendor, mitigations, other = [], [], []
    seen: set[tuple[object, ...]] = set()
    for item in view.remediations:
        r = item.value
        named = {(item.source, p) for p in r.product_refs}
        if named & known_refs and not named & matched_refs:
            continue  # it speaks of products none of the recipient's builds is
        note = RemediationNote(r.category, r.details, r.url, r.fixed_versions, item.source)
        seen_key = (note.category, note.details, note.url, note.fixed_versions, note.source)
        if seen_key in seen:
            continue
        seen.add(seen_key)
        if r.category in FIX_CATEGORIES:
            vendor.append(note)
        elif r.category in MITIGATION_CATEGORIES:
            mitigations.append(note)
        else:
            other.append(note)
    return Fix(tuple(fixed.values()), tuple(vendor), tuple(mitigations), tuple(other), kev, epss)
