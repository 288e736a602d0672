"""Known vulnerabilities of an analysed firmware: its components recorded as a firmware build
(so the exposure engine covers it from then on) and matched against the advisory store by the
exposure matcher itself, one finding per vulnerability that exposes the build.

The build is written in one transaction, with the analysis that found its components (its
findings and check records): the inventory never holds a build's components beside another
analysis's findings. The known vulnerabilities are matched once the build is written (the
matcher reads builds from the inventory), then added to that analysis
(:func:`complete_build_analysis`). When the caller does not want the build kept (no product
named, ``--no-store``) it is written under a throw-away product name, matched, and deleted, so
matching works the same whether or not the inventory keeps the build.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import BuildRef, Component, FirmwareBuild, Product, ProductRef
from iotwarden.core.identifiers import CVE_ID, normalise_name
from iotwarden.core.models import AffectedStatus
from iotwarden.exposure.index import component_names_for
from iotwarden.exposure.matcher import (
    BuildExposure,
    Exposure,
    ExposureStatus,
    MatchReason,
    evaluate,
    exposure,
)
from iotwarden.firmware.model import (
    CAP_NO_KNOWN_VULNERABILITIES,
    Finding,
    IdentifiedComponent,
    Severity,
)
from iotwarden.intel.view import UnknownAdvisoryError
from iotwarden.store import schema as t
from iotwarden.store.db import Store
from iotwarden.store.fleet import BuildAnalysis, FleetRepository
from iotwarden.store.rows import affected_from_row, cpe_parts, purl_parts

FINDING_ID = "IW-FW-KNOWN-VULN"

_POSITIVE = (AffectedStatus.AFFECTED.value, AffectedStatus.UNDER_INVESTIGATION.value)


@dataclass(frozen=True)
class KnownVulnerability:
    """One vulnerability (all its aliases merged) that the firmware's components are in."""

    id: str  # the CVE when there is one
    ids: tuple[str, ...]
    title: str | None
    status: ExposureStatus
    reasons: tuple[MatchReason, ...]
    cvss: float | None
    cvss_vector: str | None
    kev: bool
    epss: float | None
    fixed_versions: tuple[str, ...]

    @property
    def severity(self) -> Severity:
        return severity_for(
            self.cvss, kev=self.kev, possibly=self.status is ExposureStatus.POSSIBLY_AFFECTED
        )


@dataclass(frozen=True)
class BuildOutcome:
    """What recording and matching the build gave."""

    build: BuildRef | None  # the build kept in the inventory, if any
    stored: bool
    advisories_available: bool
    vulnerabilities: tuple[KnownVulnerability, ...] = ()
    candidates: int = 0  # vulnerabilities looked at (matched or not)
    #: The stored build's id (when kept), to complete its stored analysis.
    build_id: int | None = None
    #: The analysis written with the build (when kept and given).
    analysis_id: str | None = None


def severity_for(cvss: float | None, *, kev: bool, possibly: bool = False) -> Severity:
    """CVSS v3/v4 qualitative bands; on CISA's KEV list: critical whatever the score. Without a
    score we cannot say it is minor: medium. A match that could not compare versions (unknown
    version, unreadable range) is at most medium, so that one version-less component cannot
    bury the confirmed findings under every advisory ever written for it."""
    if kev:
        band = Severity.CRITICAL
    elif cvss is None:
        band = Severity.MEDIUM
    elif cvss >= 9.0:
        band = Severity.CRITICAL
    elif cvss >= 7.0:
        band = Severity.HIGH
    elif cvss >= 4.0:
        band = Severity.MEDIUM
    elif cvss > 0.0:
        band = Severity.LOW
    else:
        band = Severity.INFO
    if possibly and band.rank < Severity.MEDIUM.rank:
        return Severity.MEDIUM
    return band


def to_inventory(components: Iterable[IdentifiedComponent]) -> tuple[Component, ...]:
    """The inventory's view of identified components (distinct name, version, purl, CPE)."""
    seen: dict[tuple[str, str | None, str | None, str | None], Component] = {}
    for c in components:
        key = (c.name, c.version, c.purl, c.cpe)
        seen.setdefault(key, Component(c.name, c.version, c.purl, c.cpe, c.supplier))
    return tuple(seen.values())


def has_advisories(store: Store) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(select(exists().select_from(t.affected_products))).scalar())


def record_and_match(
    store: Store,
    build: BuildRef | None,
    components: Sequence[IdentifiedComponent],
    *,
    keep: bool,
    analysis: BuildAnalysis | None = None,
) -> BuildOutcome:
    """Record the build (product, version, components) in one transaction and match it against
    the advisories with the exposure matcher. Unless ``keep`` (and a build is named), the
    build is recorded under a throw-away product name for the matching and deleted after.

    A kept build's stored analysis is replaced in the same transaction: by ``analysis`` when
    given (complete it with the known vulnerabilities by :func:`complete_build_analysis`),
    otherwise removed, since it no longer describes the build's components."""
    keep = keep and build is not None
    advisories = has_advisories(store)
    if not keep and not advisories:
        return BuildOutcome(None, stored=False, advisories_available=False)
    # The matcher reads builds from the inventory: an analysis that is not to be kept still
    # goes there, under a name no one else uses, and is deleted afterwards.
    ref = (
        build
        if keep and build is not None
        else BuildRef(ProductRef("iotwarden", f"unsaved-analysis-{uuid.uuid4().hex}"), "0")
    )
    inventory = to_inventory(components)
    repo = FleetRepository(store)
    found: tuple[KnownVulnerability, ...] = ()
    candidates = 0
    try:
        with store.engine.begin() as conn:
            build_id = _write_build(repo, conn, ref, inventory)
            if keep:
                if analysis is not None:
                    repo.replace_build_analysis(conn, build_id, analysis)
                else:
                    repo.clear_build_analysis(conn, build_id)
        try:
            if advisories:
                found, candidates = _match(store, build_id, ref, inventory)
        finally:
            if not keep:
                with store.engine.begin() as conn:
                    conn.execute(
                        delete(t.products).where(
                            t.products.c.vendor_norm == ref.product.key[0],
                            t.products.c.name_norm == ref.product.key[1],
                        )
                    )
    except SQLAlchemyError as e:
        raise StoreError(f"cannot record the firmware build in {store.url}: {e}") from e
    return BuildOutcome(
        build if keep else None,
        stored=keep,
        advisories_available=advisories,
        vulnerabilities=found,
        candidates=candidates,
        build_id=build_id if keep else None,
        analysis_id=analysis.analysis_id if keep and analysis is not None else None,
    )


def complete_build_analysis(store: Store, outcome: BuildOutcome, result: Mapping[str, Any]) -> bool:
    """Replace the result of the analysis written with the build by :func:`record_and_match`
    (now with its known vulnerabilities). False when there is none to complete (the build was
    not kept) or a newer analysis of the build has replaced it meanwhile."""
    if outcome.build_id is None or outcome.analysis_id is None:
        return False
    try:
        with store.engine.begin() as conn:
            return FleetRepository(store).complete_build_analysis(
                conn, outcome.build_id, outcome.analysis_id, result
            )
    except SQLAlchemyError as e:
        raise StoreError(
            f"cannot keep the known vulnerabilities with the build in {store.url}: {e}"
        ) from e


def _write_build(
    repo: FleetRepository, conn: Connection, ref: BuildRef, components: tuple[Component, ...]
) -> int:
    repo.upsert_products(conn, [Product(ref=ref.product)])
    product_id = repo.product_ids(conn)[ref.product.key]
    repo.upsert_builds(conn, [(product_id, FirmwareBuild(ref=ref))])
    build_id = repo.build_ids(conn)[(product_id, ref.version)]
    repo.replace_components(conn, {build_id: components})
    return build_id


# --- matching ---------------------------------------------------------------------------------


@functools.cache
def _cpe_pairs_by_name() -> dict[str, frozenset[tuple[str, str]]]:
    """Component name -> the CPE (vendor, product) pairs the alias table gives it."""
    text = (resources.files("iotwarden") / "data" / "component_aliases.json").read_text("utf-8")
    out: dict[str, set[tuple[str, str]]] = {}
    for entry in json.loads(text)["components"].values():
        pairs = {tuple(cpe.lower().split(":", 1)) for cpe in entry["cpe"]}
        for name in entry["names"]:
            out.setdefault(normalise_name(name) or name, set()).update(pairs)
    return {name: frozenset(pairs) for name, pairs in out.items()}


def _cpe_pairs_for(names: frozenset[str]) -> set[tuple[str, str]]:
    table = _cpe_pairs_by_name()
    return {pair for name in names for pair in table.get(name, ())}


def _candidate_ids(conn: Connection, ref: BuildRef, components: tuple[Component, ...]) -> list[str]:
    """Vulnerability ids whose positive affected entries could name one of the components
    (or the product itself) in a range holding its version. Broad on purpose: the matcher
    decides; this only spares it the advisories that cannot apply."""
    ap, a = t.affected_products, t.advisories
    wanted: dict[str, None] = {}

    def consider(condition: Any, version: str | None) -> None:
        query = (
            select(ap, a.c.advisory_id.label("record_id"))
            .join(a, a.c.id == ap.c.advisory_pk)
            .where(ap.c.status.in_(_POSITIVE), condition)
        )
        for row in conn.execute(query):
            try:
                entry = affected_from_row(row)
            except (KeyError, TypeError, ValueError):
                wanted.setdefault(row.vuln_id or row.record_id)  # let the matcher judge it
                continue
            if evaluate(entry.ranges, version) is not None:
                wanted.setdefault(row.vuln_id or row.record_id)

    for component in components:
        names = component_names_for(component.name)
        pairs = _cpe_pairs_for(names)
        cvendor, cproduct = cpe_parts(component.cpe)
        if cvendor and cproduct:
            pairs.add((cvendor, cproduct))
        options: list[Any] = [
            ap.c.product_norm.in_(sorted(names)),
            func.lower(ap.c.purl_name).in_(sorted(names)),
        ]
        options += [and_(ap.c.cpe_vendor == v, ap.c.cpe_product == p) for v, p in sorted(pairs)]
        ptype, _, pname = purl_parts(component.purl)
        if ptype and pname:
            options.append(
                and_(ap.c.purl_type == ptype, func.lower(ap.c.purl_name) == pname.lower())
            )
        consider(or_(*options), component.version)
    vendor, product = ref.product.key
    if vendor and product:
        consider(and_(ap.c.vendor_norm == vendor, ap.c.product_norm == product), ref.version)
    return list(wanted)


def _match(
    store: Store, build_id: int, ref: BuildRef, components: tuple[Component, ...]
) -> tuple[tuple[KnownVulnerability, ...], int]:
    """Each candidate vulnerability through the exposure matcher (the same statements, the
    same clearing of undecided matches, the same not-affected suppressions as
    `iotwarden exposure`); kept when it exposes this build."""
    with store.engine.connect() as conn:
        queries = _candidate_ids(conn, ref, components)
    done: set[str] = set()
    found: list[KnownVulnerability] = []
    candidates = 0
    for query in queries:
        if query in done:
            continue
        try:
            result = exposure(store, query)
        except UnknownAdvisoryError:
            continue
        done.update(result.vulnerability_ids)
        done.add(query)
        candidates += 1
        mine = next((b for b in result.builds if b.build_id == build_id), None)
        if mine is not None:
            found.append(_known(store, result, mine))
    found.sort(key=lambda v: (v.severity.rank, -(v.cvss or 0.0), v.id))
    return tuple(found), candidates


def _title(
    store: Store, preferred: str, ids: Sequence[str], matched: Sequence[str] = ()
) -> str | None:
    """A title for the vulnerability: the preferred record's own title, else the first sentence
    of its description, else the title of a record that matched this build. A record about
    another product (a vendor's CSAF advisory on the same CVE) never names this finding."""
    a = t.advisories
    with store.engine.connect() as conn:
        rows = sorted(
            conn.execute(
                select(a.c.advisory_id, a.c.source, a.c.title, a.c.description).where(
                    a.c.advisory_id.in_(list(ids))
                )
            ),
            key=lambda r: (r.source, r.advisory_id),
        )
    own = [r for r in rows if r.advisory_id == preferred]
    for row in own:
        if row.title:
            return str(row.title)
    for row in own:
        if row.description:
            return _first_sentence(str(row.description))
    for row in rows:
        if row.title and f"{row.source}:{row.advisory_id}" in matched:
            return str(row.title)
    return None


def _first_sentence(text: str, limit: int = 160) -> str:
    line = text.strip().split("\n", 1)[0]
    end = line.find(". ")
    sentence = line[: end + 1] if 0 < end < limit else line
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _known(store: Store, result: Exposure, exposed: BuildExposure) -> KnownVulnerability:
    ids = list(result.vulnerability_ids) or [result.query]
    cves = [i for i in ids if CVE_ID.match(i)]
    preferred = result.query if result.query in cves or not cves else cves[0]
    best = None
    for score in result.scores:
        if (
            score.valid
            and score.base_score is not None
            and (best is None or score.base_score > (best.base_score or 0.0))
        ):
            best = score
    return KnownVulnerability(
        id=preferred,
        ids=tuple(ids),
        title=_title(store, preferred, ids, [r.source for r in exposed.reasons]),
        status=exposed.status,
        reasons=tuple(exposed.reasons),
        cvss=best.base_score if best else None,
        cvss_vector=best.vector if best else None,
        kev=bool(result.kev),
        epss=max((e.epss for e in result.epss), default=None),
        fixed_versions=exposed.fixed_versions,
    )


# --- findings ---------------------------------------------------------------------------------


def findings_for(
    vulnerabilities: Sequence[KnownVulnerability], components: Sequence[IdentifiedComponent]
) -> tuple[Finding, ...]:
    """One finding per matched vulnerability, placed on the file that evidences the component."""
    by_label: dict[str, IdentifiedComponent] = {}
    for c in components:
        by_label.setdefault(f"{c.name} {c.version or '(version unknown)'}", c)
    out = []
    for v in vulnerabilities:
        matched = list(dict.fromkeys(r.matched for r in v.reasons))
        component = next((by_label[m] for m in matched if m in by_label), None)
        path = component.evidence[0].path if component and component.evidence else "/"
        possibly = v.status is ExposureStatus.POSSIBLY_AFFECTED
        what = ", ".join(matched)
        title = f"{what} {'may be' if possibly else 'is'} affected by {v.id}"
        if v.title:
            title += f": {v.title}"
        why = "; ".join(f"{r.matched} in {r.ranges} ({r.how}, {r.source})" for r in v.reasons[:6])
        if possibly:
            why += ". The version could not be compared (unknown version or unreadable range)"
        signals = []
        if v.cvss is not None:
            signals.append(f"CVSS {v.cvss}")
        if v.kev:
            signals.append("known exploited (CISA KEV)")
        if v.epss is not None:
            signals.append(f"EPSS {v.epss:.3f}")
        evidence = why + (f" [{', '.join(signals)}]" if signals else "")
        if v.fixed_versions:
            remediation = (
                f"Update {what} to a fixed version ({', '.join(v.fixed_versions)}) and rebuild "
                "the firmware; until then, limit access to the affected service."
            )
        else:
            remediation = (
                f"Check the advisories for {v.id} for a fixed version of {what} or a mitigation, "
                "update the component and rebuild the firmware."
            )
        out.append(
            Finding(
                id=FINDING_ID,
                title=title,
                severity=v.severity,
                path=path,
                evidence=evidence,
                remediation=remediation,
                capabilities=(CAP_NO_KNOWN_VULNERABILITIES,),
                details={
                    "vulnerability": v.id,
                    "aliases": [i for i in v.ids if i != v.id],
                    "status": v.status.value,
                    "cvss": v.cvss,
                    "cvss_vector": v.cvss_vector,
                    "kev": v.kev,
                    "epss": v.epss,
                    "fixed_versions": list(v.fixed_versions),
                    "matched": matched,
                    "sources": sorted({r.source for r in v.reasons}),
                },
            )
        )
    return tuple(out)
