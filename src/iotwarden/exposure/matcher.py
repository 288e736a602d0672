"""The exposure matcher: which firmware builds (and so which devices) an advisory affects.

An advisory's affected entries are matched against the inventory once per distinct
(component, version) or (product, firmware version), never per device: by package URL, by
CPE (with the alias table of components embedded devices carry), by component name, and by
vendor + product name or model number for ICS-style advisories without identifiers. Versions
are compared in the range's own scheme. A component whose version is unknown, or a range that
could not be read, makes the build "possibly affected", never silently unaffected. The
builds found are then fanned out to their devices with indexed joins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from iotwarden.core.errors import VersionError
from iotwarden.core.fleet import Criticality, ProductRef
from iotwarden.core.identifiers import (
    PRODUCT_CONDITION,
    IdentifierError,
    normalise_name,
    parse_cpe,
    parse_purl,
    split_product_condition,
)
from iotwarden.core.models import (
    AffectedProduct,
    AffectedStatus,
    EpssScore,
    KevEntry,
    RangeKind,
    RemediationCategory,
    Score,
    VersionRange,
)
from iotwarden.core.versions import compare_versions, parse_range_text, range_contains
from iotwarden.exposure.index import (
    ComponentIndex,
    ResidentFleet,
    component_names_for,
    component_names_for_cpe,
    statement_purl,
)
from iotwarden.intel.view import Sourced, VulnerabilityView, vulnerability_view
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK
from iotwarden.store.db import Store


class ExposureStatus(StrEnum):
    AFFECTED = "affected"
    POSSIBLY_AFFECTED = "possibly_affected"  # unknown version, unreadable range, investigating


@dataclass(frozen=True)
class MatchReason:
    """Why a build is exposed: which statement, matched how, on what, against which range."""

    source: str  # 'nvd:CVE-2014-0160'
    how: str  # 'purl', 'cpe', 'component name', 'product'
    matched: str  # 'openssl 1.0.1e' or 'firmware 4.2.0'
    ranges: str  # 'vers:generic/>=1.0.1|<1.0.1g'
    status: ExposureStatus
    fixed_versions: tuple[str, ...] = ()
    #: The statement's own product reference (a CSAF product id), when it has one.
    product_ref: str | None = None
    #: The statement holds only where this holds ('on cpe:2.3:h:acme:r5') and the inventory
    #: cannot confirm it: the build is then possibly, not surely, affected.
    unconfirmed_condition: str | None = None


@dataclass(frozen=True)
class Suppression:
    source: str
    justification: str | None


@dataclass
class BuildExposure:
    build_id: int
    product: ProductRef
    version: str
    status: ExposureStatus
    reasons: list[MatchReason] = field(default_factory=list)
    suppressed_by: Suppression | None = None
    devices: int = 0
    internet_exposed: int = 0

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for r in self.reasons for v in r.fixed_versions))


@dataclass
class Exposure:
    query: str
    vulnerability_ids: list[str]
    builds: list[BuildExposure]  # exposed (affected or possibly), most devices first
    suppressed: list[BuildExposure]  # matched, but a not-affected statement says otherwise
    # What the sources say of the vulnerability itself, for prioritising.
    scores: list[Score] = field(default_factory=list)
    kev: list[KevEntry] = field(default_factory=list)
    epss: list[EpssScore] = field(default_factory=list)
    vendor_fixes: int = 0  # remediations of category vendor_fix or upgrade
    #: The merged view the exposure was computed from (for alerts: titles, remediations).
    view: VulnerabilityView | None = field(default=None, repr=False, compare=False)

    @property
    def fix_available(self) -> bool:
        return self.vendor_fixes > 0 or any(b.fixed_versions for b in self.builds)

    @property
    def devices(self) -> int:
        return sum(b.devices for b in self.builds)


# --- matching --------------------------------------------------------------------------------


def evaluate(ranges: Iterable[VersionRange], version: str | None) -> ExposureStatus | None:
    """Is ``version`` in the ranges? None when clearly not."""
    ranges = tuple(ranges)
    if not ranges:
        return ExposureStatus.AFFECTED  # the product as named, every version of it
    if version is None or version == "":
        return ExposureStatus.POSSIBLY_AFFECTED
    verdicts = [range_contains(r, version) for r in ranges if r.kind is not RangeKind.GIT]
    if any(v is True for v in verdicts):
        return ExposureStatus.AFFECTED
    if any(v is None for v in verdicts) or len(verdicts) < len(ranges):
        return ExposureStatus.POSSIBLY_AFFECTED
    return None


def _ranges_text(entry: AffectedProduct) -> str:
    return "; ".join(str(r) for r in entry.ranges) or "(every version)"


@dataclass(frozen=True)
class _Candidate:
    build_id: int
    how: str
    matched: str
    version: str | None


def _component_candidates(conn: Connection, entry: AffectedProduct) -> list[_Candidate]:
    c = t.components
    ident = entry.identity
    condition: Any = None
    how = ""
    purl = statement_purl(ident.purl, ident.ecosystem, ident.product)
    if purl is not None:
        ptype, namespace, name = purl
        condition = and_(c.c.purl_type == ptype, func.lower(c.c.purl_name) == name.lower())
        if namespace:
            condition = and_(condition, func.lower(c.c.purl_namespace) == namespace.lower())
        how = "purl"
    elif ident.cpe:
        try:
            cpe = parse_cpe(ident.cpe)
        except IdentifierError:
            return []
        vendor, product = cpe.vendor.lower(), cpe.product.lower()
        names = component_names_for_cpe(vendor, product)
        condition = or_(
            and_(c.c.cpe_vendor == vendor, c.c.cpe_product == product),
            and_(c.c.cpe_vendor.is_(None), c.c.name_norm.in_(sorted(names))),
        )
        how = "cpe"
    elif ident.product:
        condition = c.c.name_norm.in_(sorted(component_names_for(ident.product)))
        how = "component name"
    else:
        return []
    rows = conn.execute(select(c.c.build_id, c.c.name, c.c.version).where(condition))
    return [
        _Candidate(
            row.build_id, how, f"{row.name} {row.version or '(version unknown)'}", row.version
        )
        for row in rows
    ]


def _product_candidates(conn: Connection, entry: AffectedProduct) -> list[_Candidate]:
    """ICS-style: the advisory names the device product itself; its range is firmware."""
    ident = entry.identity
    vendor, product = normalise_name(ident.vendor), normalise_name(ident.product)
    if not vendor or not (product or ident.model_numbers):
        return []
    p, b = t.products, t.firmware_builds
    rows = conn.execute(
        select(
            p.c.id,
            p.c.name_norm,
            p.c.model_numbers,
            p.c.name,
            b.c.id.label("build_id"),
            b.c.version,
        )
        .join(b, b.c.product_id == p.c.id)
        .where(p.c.vendor_norm == vendor)
    )
    models = {m.lower() for m in ident.model_numbers}
    out = []
    for row in rows:
        by_name = product is not None and row.name_norm == product
        by_model = bool(models) and bool(models & {m.lower() for m in row.model_numbers or ()})
        if by_name or by_model:
            out.append(
                _Candidate(
                    row.build_id, "product", f"{row.name} firmware {row.version}", row.version
                )
            )
    return out


def _indexed_candidates(index: ComponentIndex, entry: AffectedProduct) -> list[_Candidate]:
    """The same candidates as the two queries above, from a component index in memory."""
    return [
        _Candidate(build_id, how, variant.matched, version)
        for how, version, variant in index.candidates(entry)
        for build_id in variant.builds
    ]


def _matches(
    conn: Connection, entry: AffectedProduct, index: ComponentIndex | None = None
) -> list[tuple[_Candidate, ExposureStatus | None]]:
    """Every candidate with its verdict (None: this statement clears it)."""
    found: list[tuple[_Candidate, ExposureStatus | None]] = []
    verdicts: dict[str | None, ExposureStatus | None] = {}  # once per distinct version
    candidates = (
        _indexed_candidates(index, entry)
        if index is not None
        else _component_candidates(conn, entry) + _product_candidates(conn, entry)
    )
    for candidate in candidates:
        if candidate.version not in verdicts:
            verdicts[candidate.version] = evaluate(entry.ranges, candidate.version)
        status = verdicts[candidate.version]
        if status is not None and entry.status is AffectedStatus.UNDER_INVESTIGATION:
            status = ExposureStatus.POSSIBLY_AFFECTED
        found.append((candidate, status))
    return found


def exposure(store: Store, query: str, fleet: ResidentFleet | None = None) -> Exposure:
    """The builds and devices that the vulnerability or advisory ``query`` exposes.

    With a resident ``fleet`` (a long-running matcher), candidates and device counts come from
    memory; only the advisory's own records are read from the store."""
    view = vulnerability_view(store, query)
    positive = [
        a
        for a in view.affected
        if a.value.status in (AffectedStatus.AFFECTED, AffectedStatus.UNDER_INVESTIGATION)
    ]
    negative = [
        a
        for a in view.affected
        if a.value.status in (AffectedStatus.NOT_AFFECTED, AffectedStatus.FIXED)
    ]
    builds: dict[int, BuildExposure] = {}
    cleared: set[tuple[int, str]] = set()
    facts: dict[int, _BuildFacts] = {}
    with store.engine.connect() as conn:
        index = fleet.index if fleet is not None else None
        for item in positive:
            _collect(conn, item, builds, cleared, facts, index)
        suppressions = _suppressions(conn, negative, facts, index)
        _drop_cleared(builds, cleared)
        if fleet is not None:
            _describe_resident(fleet, builds)
        else:
            _describe(conn, builds)
    exposed, suppressed = [], []
    for build in builds.values():
        held = suppressions.get(build.build_id)
        if held is not None:
            build.suppressed_by = held
            suppressed.append(build)
        else:
            exposed.append(build)
    exposed.sort(key=lambda b: (-b.devices, str(b.product), b.version))
    fixes = sum(
        1
        for r in view.remediations
        if r.value.category in (RemediationCategory.VENDOR_FIX, RemediationCategory.UPGRADE)
    )
    return Exposure(
        view.query,
        view.ids,
        exposed,
        suppressed,
        scores=[s.value for s in view.scores],
        kev=[k.value for k in view.kev],
        epss=[e.value for e in view.epss],
        vendor_fixes=fixes,
        view=view,
    )


def _collect(
    conn: Connection,
    item: Sourced[AffectedProduct],
    builds: dict[int, BuildExposure],
    cleared: set[tuple[int, str]],
    facts: dict[int, _BuildFacts],
    index: ComponentIndex | None = None,
) -> None:
    entry = item.value
    for candidate, verdict in _matches(conn, entry, index):
        if verdict is None:
            cleared.add((candidate.build_id, candidate.matched))
            continue
        status, unconfirmed = verdict, None
        if entry.conditions and not conditions_hold(conn, entry, candidate.build_id, facts):
            # "Affected when running on X": unconfirmed in the inventory is "possibly", never
            # dropped (the safe direction for a positive statement).
            status, unconfirmed = ExposureStatus.POSSIBLY_AFFECTED, _conditions_text(entry)
        build = builds.get(candidate.build_id)
        if build is None:
            build = builds[candidate.build_id] = BuildExposure(
                candidate.build_id, ProductRef("", ""), "", status
            )
        elif status is ExposureStatus.AFFECTED:
            build.status = status
        build.reasons.append(
            MatchReason(
                source=item.source,
                how=candidate.how,
                matched=candidate.matched,
                ranges=_ranges_text(entry),
                status=status,
                fixed_versions=entry.fixed_versions,
                product_ref=entry.identity.product_ref,
                unconfirmed_condition=unconfirmed,
            )
        )


def conditions_hold(
    conn: Connection, entry: AffectedProduct, build_id: int, facts: dict[int, _BuildFacts]
) -> bool:
    """Does every condition group of the statement name something of this build?"""
    if not entry.conditions:
        return True
    held = facts.get(build_id)
    if held is None:
        held = facts[build_id] = _build_facts(conn, build_id)
    return all(any(held.satisfies(alt) for alt in group) for group in entry.conditions)


def _conditions_text(entry: AffectedProduct) -> str:
    return "on " + " and ".join(
        " or ".join(_readable(alt) for alt in group) for group in entry.conditions
    )


def _readable(condition: str) -> str:
    if condition.startswith(PRODUCT_CONDITION):
        vendor, name, version = split_product_condition(condition)
        return " ".join(x for x in (vendor, name, version) if x)
    return condition


def _drop_cleared(builds: dict[int, BuildExposure], cleared: set[tuple[int, str]]) -> None:
    """A "possibly" that one statement could not decide (a commit range, unparsed text) gives
    way when another statement compared the same component version and found it outside
    its range: Heartbleed's OSV commit range must not flag OpenSSL 1.0.1g that NVD's
    version range clears."""
    for build_id in list(builds):
        build = builds[build_id]
        build.reasons = [
            r
            for r in build.reasons
            if r.status is ExposureStatus.AFFECTED or (build_id, r.matched) not in cleared
        ]
        if not build.reasons:
            del builds[build_id]
        elif all(r.status is not ExposureStatus.AFFECTED for r in build.reasons):
            build.status = ExposureStatus.POSSIBLY_AFFECTED


def _suppressions(
    conn: Connection,
    negative: list[Sourced[AffectedProduct]],
    facts: dict[int, _BuildFacts],
    index: ComponentIndex | None = None,
) -> dict[int, Suppression]:
    """Builds a not-affected or fixed statement covers (VEX, CSAF known_not_affected)."""
    out: dict[int, Suppression] = {}
    for item in negative:
        entry = item.value
        for candidate, status in _matches(conn, entry, index):
            if status is not ExposureStatus.AFFECTED:  # the statement's range must hold it
                continue
            # "Not affected in product X": only where every condition names this build. A
            # condition we cannot check never clears a build (unsafe direction).
            if conditions_hold(conn, entry, candidate.build_id, facts):
                reason = entry.justification or entry.status.value.replace("_", " ")
                out.setdefault(candidate.build_id, Suppression(item.source, reason))
    return out


@dataclass(frozen=True)
class _BuildFacts:
    """What a condition can name about one build: its product and its components."""

    vendor_norm: str
    name_norm: str
    version: str
    components: tuple[tuple[str | None, str | None, str | None, str | None, str, str | None], ...]

    def satisfies(self, condition: str) -> bool:
        text = condition.strip()
        if text.startswith("pkg:"):
            return self._purl(text)
        if text.startswith("cpe:"):
            return self._cpe(text)
        if text.startswith(PRODUCT_CONDITION):
            return self._product(text)
        return False

    def _product(self, text: str) -> bool:
        vendor, name, version = split_product_condition(text)
        if (normalise_name(vendor), normalise_name(name)) != (self.vendor_norm, self.name_norm):
            return False
        if not version:
            return True
        verdict = range_contains(parse_range_text(version), self.version)
        return verdict is True

    def _same_version(self, wanted: str | None, have: str | None) -> bool:
        if not wanted or wanted in ("*", "-"):
            return True
        if not have:
            return False
        try:
            return compare_versions("generic", wanted, have) == 0
        except VersionError:
            return wanted == have

    def _purl(self, text: str) -> bool:
        try:
            purl = parse_purl(text)
        except IdentifierError:
            return False
        name = normalise_name(purl.name)
        namespace = normalise_name(purl.namespace) if purl.namespace else None
        if name == self.name_norm and namespace in (None, self.vendor_norm):
            return self._same_version(purl.version, self.version)
        return any(
            ptype == purl.type
            and (pname or "").lower() == purl.name.lower()
            and self._same_version(purl.version, version)
            for ptype, pname, _, _, _, version in self.components
        )

    def _cpe(self, text: str) -> bool:
        try:
            cpe = parse_cpe(text)
        except IdentifierError:
            return False
        vendor, product = normalise_name(cpe.vendor), normalise_name(cpe.product)
        if (vendor, product) == (self.vendor_norm, self.name_norm):
            return self._same_version(cpe.version, self.version)
        aliases = component_names_for_cpe(cpe.vendor, cpe.product)
        return any(
            ((cvendor, cproduct) == (cpe.vendor.lower(), cpe.product.lower()) or name in aliases)
            and self._same_version(cpe.version, version)
            for _, _, cvendor, cproduct, name, version in self.components
        )


def _build_facts(conn: Connection, build_id: int) -> _BuildFacts:
    b, p, c = t.firmware_builds, t.products, t.components
    row = conn.execute(
        select(p.c.vendor_norm, p.c.name_norm, b.c.version)
        .join(p, p.c.id == b.c.product_id)
        .where(b.c.id == build_id)
    ).one()
    components = tuple(
        (r.purl_type, r.purl_name, r.cpe_vendor, r.cpe_product, r.name_norm, r.version)
        for r in conn.execute(
            select(
                c.c.purl_type,
                c.c.purl_name,
                c.c.cpe_vendor,
                c.c.cpe_product,
                c.c.name_norm,
                c.c.version,
            ).where(c.c.build_id == build_id)
        )
    )
    return _BuildFacts(row.vendor_norm, row.name_norm, row.version, components)


def _describe(conn: Connection, builds: dict[int, BuildExposure]) -> None:
    """Fill in product, version and device counts (one indexed query per chunk of builds)."""
    ids = list(builds)
    b, p, d = t.firmware_builds, t.products, t.devices
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in conn.execute(
            select(b.c.id, b.c.version, p.c.vendor, p.c.name)
            .join(p, p.c.id == b.c.product_id)
            .where(b.c.id.in_(chunk))
        ):
            builds[row.id].product = ProductRef(row.vendor, row.name)
            builds[row.id].version = row.version
        for row in conn.execute(
            select(
                d.c.build_id,
                func.count().label("devices"),
                func.sum(case((d.c.internet_exposed, 1), else_=0)).label("exposed"),
            )
            .where(d.c.build_id.in_(chunk))
            .group_by(d.c.build_id)
        ):
            builds[row.build_id].devices = int(row.devices)
            builds[row.build_id].internet_exposed = int(row.exposed or 0)


def _describe_resident(fleet: ResidentFleet, builds: dict[int, BuildExposure]) -> None:
    for build_id, build in builds.items():
        build.product, build.version = fleet.builds[build_id]
        start, end = fleet.slices.get(build_id, (0, 0))
        build.devices = end - start
        build.internet_exposed = fleet.internet_per_build.get(build_id, 0)


@dataclass(frozen=True)
class ExposedDevice:
    device_id: str
    product: ProductRef
    firmware_version: str
    owner: str | None
    owner_contact: str | None
    sector: str | None
    site: str | None
    criticality: Criticality | None
    internet_exposed: bool
    address: str | None


def exposed_devices(
    store: Store, result: Exposure, limit: int | None = None
) -> list[ExposedDevice]:
    """The devices on the exposed builds (internet-exposed and critical ones first)."""
    ids = [b.build_id for b in result.builds]
    by_id = {b.build_id: b for b in result.builds}
    d, o, p = t.devices, t.owners, t.products
    out: list[ExposedDevice] = []
    level = func.coalesce(d.c.criticality, p.c.criticality)
    rank = case(
        *((level == c.value, i) for i, c in enumerate(reversed(list(Criticality)))),
        else_=len(Criticality),
    )
    with store.engine.connect() as conn:
        # The same order as the sort below (C collation: code points, as Python compares), so
        # that with a limit each chunk sends only its first devices.
        device_order = (
            d.c.device_id.collate("C") if conn.dialect.name == "postgresql" else d.c.device_id
        )
        for start in range(0, len(ids), CHUNK):
            query = (
                select(
                    d.c.device_id,
                    d.c.build_id,
                    d.c.sector,
                    d.c.site,
                    d.c.criticality,
                    d.c.internet_exposed,
                    d.c.address,
                    o.c.organisation,
                    o.c.contact,
                    p.c.sector.label("product_sector"),
                    p.c.criticality.label("product_criticality"),
                )
                .join(p, p.c.id == d.c.product_id)
                .outerjoin(o, o.c.id == d.c.owner_id)
                .where(d.c.build_id.in_(ids[start : start + CHUNK]))
            )
            if limit is not None:
                query = query.order_by(d.c.internet_exposed.desc(), rank, device_order).limit(limit)
            for row in conn.execute(query):
                build = by_id[row.build_id]
                criticality = row.criticality or row.product_criticality
                out.append(
                    ExposedDevice(
                        device_id=row.device_id,
                        product=build.product,
                        firmware_version=build.version,
                        owner=row.organisation,
                        owner_contact=row.contact,
                        sector=row.sector or row.product_sector,
                        site=row.site,
                        criticality=Criticality(criticality) if criticality else None,
                        internet_exposed=bool(row.internet_exposed),
                        address=row.address,
                    )
                )
    order = {c: i for i, c in enumerate(reversed(list(Criticality)))}
    out.sort(
        key=lambda dev: (
            not dev.internet_exposed,
            order.get(dev.criticality, len(order)) if dev.criticality else len(order),
            dev.device_id,
        )
    )
    return out[:limit] if limit is not None else out
