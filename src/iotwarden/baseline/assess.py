"""Assess a product once, get conformity against every framework: evaluate each harmonised
capability from firmware findings, probe results and the manufacturer's declarations, then
project the results onto every framework's requirements through the crosswalk.

The evaluator (:func:`assess`) is pure: catalogs, evidence, declarations and ``today`` in, an
:class:`Assessment` out, so it is tested without images. How evidence becomes a result, how a
requirement combines its capabilities and how gaps are ranked is written down in
``docs/assessment.md``; the code below follows it rule by rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iotwarden.core.fleet import BuildRef
from iotwarden.firmware.model import Confidence, Finding, IdentifiedComponent, Severity

from .catalog import Catalogs
from .declarations import NO_DECLARATIONS, AnswerStatus, Declarations
from .model import (
    BaselineError,
    Capability,
    EvidenceEffect,
    EvidenceSource,
    Framework,
    Level,
    Relationship,
    Requirement,
)

if TYPE_CHECKING:
    from iotwarden.firmware.analyze import FirmwareAnalysis
    from iotwarden.store.db import Store

#: The ``schema`` of the assessment JSON document.
ASSESSMENT_SCHEMA = "iotwarden-assessment/1"
#: Findings of one id listed by path in one evidence item (the rest are counted).
PATHS_PER_ITEM = 5
#: A firmware report or probe results file larger than this is refused.
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: The finding firmware analysis gives for a component matched to a known vulnerability.
KNOWN_VULN_FINDING = "IW-FW-KNOWN-VULN"
#: The declaration whose date is the end of the support period.
SUPPORT_END_KEY = "support_period.end_date"


class AssessmentInputError(BaselineError):
    """A firmware report, probe results file or build reference cannot be used."""


class Result(StrEnum):
    """The result of a capability or a requirement."""

    PASS = "pass"  # noqa: S105 - a result, not a password
    FAIL = "fail"
    PARTIAL = "partial"
    NOT_APPLICABLE = "not-applicable"
    NOT_EVIDENCED = "not-evidenced"

    @property
    def gap_rank(self) -> int:
        """Order of gaps: a failure before a partial result before missing evidence."""
        return {Result.FAIL: 0, Result.PARTIAL: 1, Result.NOT_EVIDENCED: 2}.get(self, 3)

    @property
    def is_gap(self) -> bool:
        return self in (Result.FAIL, Result.PARTIAL, Result.NOT_EVIDENCED)


class Verdict(StrEnum):
    """A framework's verdict, decided by its binding requirements (mandatory ones; every
    requirement of a guidance-only framework)."""

    PASS = "pass"  # noqa: S105 - every binding requirement passes or does not apply
    FAIL = "fail"  # at least one binding requirement fails
    INCOMPLETE = "incomplete"  # none fails, but some lack evidence or pass only partly


class EvidenceKind(StrEnum):
    FIRMWARE_FINDING = "firmware-finding"
    FIRMWARE_CHECK = "firmware-check"
    FIRMWARE_COMPONENTS = "firmware-components"
    PROBE_CHECK = "probe-check"
    DECLARATION = "declaration"


class Bearing(StrEnum):
    """How one piece of evidence bears on a capability."""

    SUPPORTS = "supports"
    REFUTES = "refutes"
    #: Recorded for the reader (unanswered question, failed check, not applicable), not counted.
    NEUTRAL = "neutral"


_OBSERVED = (
    EvidenceKind.FIRMWARE_FINDING,
    EvidenceKind.FIRMWARE_CHECK,
    EvidenceKind.FIRMWARE_COMPONENTS,
    EvidenceKind.PROBE_CHECK,
)


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One piece of evidence and how it bears on a capability."""

    kind: EvidenceKind
    bearing: Bearing
    ref: str  # finding id, check name, probe check id or declaration key
    detail: str
    paths: tuple[str, ...] = ()  # image paths (findings) or probe targets
    severity: Severity | None = None
    count: int = 1
    remediation: str | None = None

    @property
    def observed(self) -> bool:
        return self.kind in _OBSERVED

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "bearing": self.bearing.value,
            "ref": self.ref,
            "detail": self.detail,
            "paths": list(self.paths),
            "severity": self.severity.value if self.severity else None,
            "count": self.count,
            "remediation": self.remediation,
        }


# --- inputs -----------------------------------------------------------------------------------


class ProbeStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One network probe check run against one target: ``pass`` found no issue, ``fail``
    found the issue the check looks for (``evidence`` says what was seen)."""

    check: str
    target: str
    status: ProbeStatus
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "target": self.target,
            "status": self.status.value,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """A firmware check and whether it ran to completion (its facts, its error)."""

    name: str
    completed: bool
    facts: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    error: str | None = None


@dataclass(frozen=True)
class FirmwareEvidence:
    """What firmware analysis established about one build: the evaluator's firmware input."""

    source: str
    findings: tuple[Finding, ...] = ()
    components: tuple[IdentifiedComponent, ...] = ()
    #: The checks that ran; empty when only the component inventory is known (a build stored
    #: without its analysis).
    checks: tuple[CheckRecord, ...] = ()
    #: The build it was recorded as ('Vendor/Product@1.0'), if any.
    build: str | None = None
    #: The components were matched against an advisory store that had data.
    advisories_checked: bool = False
    #: When the analysis was made (UTC, ISO 8601) and the analysed image file's SHA-256 (None
    #: for a folder), when known.
    analysed_at: str | None = None
    image_sha256: str | None = None
    #: What the reader of an assessment must know about this evidence (it joins its notes).
    notes: tuple[str, ...] = ()

    def check(self, name: str) -> CheckRecord | None:
        return next((c for c in self.checks if c.name == name), None)

    @classmethod
    def from_analysis(cls, analysis: FirmwareAnalysis) -> FirmwareEvidence:
        build = None
        if analysis.build is not None:
            build = f"{analysis.build.product.vendor}/{analysis.build.product.name}"
            build += f"@{analysis.build.version}"
        return cls(
            source=analysis.image.path,
            findings=tuple(analysis.findings),
            components=tuple(analysis.components),
            checks=_check_records(analysis.checks),
            build=build,
            advisories_checked=analysis.advisories_checked,
            analysed_at=analysis.analysed_at or None,
            image_sha256=analysis.image.sha256,
        )

    @classmethod
    def from_report(cls, data: Any, origin: str) -> FirmwareEvidence:
        """From the JSON of ``iotwarden firmware analyze --json`` (already parsed)."""
        if not isinstance(data, dict) or data.get("schema") != "iotwarden-firmware-analysis/1":
            raise AssessmentInputError(
                f"{origin}: not a firmware analysis report (expected the JSON of "
                "`iotwarden firmware analyze --json`, schema iotwarden-firmware-analysis/1)"
            )
        try:
            findings = tuple(Finding.from_dict(f) for f in data.get("findings", ()))
            components = tuple(IdentifiedComponent.from_dict(c) for c in data.get("components", ()))
            checks = _check_records(data.get("checks", ()))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise AssessmentInputError(
                f"{origin}: a finding, component or check record is malformed ({type(e).__name__}: "
                f"{e})"
            ) from e
        build = data.get("build")
        name = None
        if isinstance(build, dict) and build.get("vendor"):
            name = f"{build.get('vendor')}/{build.get('product')}@{build.get('version')}"
        image = data.get("image")
        source = str(image.get("path")) if isinstance(image, dict) else origin
        sha256 = image.get("sha256") if isinstance(image, dict) else None
        analysed_at = data.get("analysed_at")
        return cls(
            source=source,
            findings=findings,
            components=components,
            checks=checks,
            build=name,
            analysed_at=analysed_at if isinstance(analysed_at, str) and analysed_at else None,
            image_sha256=sha256 if isinstance(sha256, str) else None,
        )


def _check_records(attempts: Iterable[Any]) -> tuple[CheckRecord, ...]:
    records: dict[str, CheckRecord] = {}
    for attempt in attempts:
        if not isinstance(attempt, Mapping):
            raise TypeError("a check record is not a mapping")
        if attempt.get("target") is not None:
            continue  # one file the check could not read: the check itself still ran
        name = str(attempt["check"])
        completed = attempt.get("status") == "completed"
        facts = attempt.get("facts") if isinstance(attempt.get("facts"), Mapping) else {}
        previous = records.get(name)
        # Several root file systems give one attempt each: the check counts as run when it ran
        # everywhere; facts are merged list by list.
        if previous is not None:
            merged = dict(previous.facts)
            for key, value in (facts or {}).items():
                if isinstance(value, list) and isinstance(merged.get(key), list):
                    merged[key] = [*merged[key], *value]
                else:
                    merged.setdefault(key, value)
            records[name] = CheckRecord(
                name,
                previous.completed and completed,
                merged,
                previous.error or attempt.get("error"),
            )
        else:
            records[name] = CheckRecord(name, completed, dict(facts or {}), attempt.get("error"))
    return tuple(records.values())


def _read_json(path: Path, what: str) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise AssessmentInputError(f"{path}: {size} bytes is too large for {what}")
        if not path.is_file():
            raise AssessmentInputError(f"{path}: not a file")
        with path.open("rb") as handle:
            return json.load(handle)
    except OSError as e:
        raise AssessmentInputError(f"{path}: cannot be read ({e.strerror or e})") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise AssessmentInputError(f"{path}: not valid JSON ({e})") from e


def stored_build_evidence(store: Store, build: BuildRef) -> FirmwareEvidence:
    """The firmware evidence of a build already in the store: its latest analysis (findings,
    check records, components with their evidence, as `iotwarden firmware analyze IMAGE
    --product ... --version ...` kept it), saying which analysis it is (date, image SHA-256).
    A build stored without an analysis (recorded before analyses were kept, or imported from
    an SBOM) gives its component inventory only, and a note says so."""
    from iotwarden.core.errors import StoreError
    from iotwarden.firmware.analyze import BUILD_ANALYSIS_FORMAT
    from iotwarden.store.fleet import FleetRepository

    ref = f"{build.product.vendor}/{build.product.name}@{build.version}"
    try:
        stored = FleetRepository(store).stored_build(build)
    except StoreError as e:
        raise AssessmentInputError(str(e)) from e
    if stored is None:
        raise AssessmentInputError(
            f"no build {ref} in the inventory (`iotwarden firmware analyze IMAGE --product "
            "VENDOR/NAME --version V` records one)"
        )
    ref = f"{stored.ref.product.vendor}/{stored.ref.product.name}@{stored.ref.version}"
    inventory = tuple(
        IdentifiedComponent(
            name=c.name,
            version=c.version,
            confidence=Confidence.HIGH,
            evidence=(),
            purl=c.purl,
            cpe=c.cpe,
            supplier=c.supplier,
            source="inventory",
        )
        for c in stored.components
    )
    if stored.analysis is None:
        return FirmwareEvidence(
            source=f"inventory build {ref}",
            components=inventory,
            build=ref,
            notes=(
                f"{ref} has no stored firmware analysis (recorded before analyses were kept "
                "with builds, or imported from an SBOM): its components only. `iotwarden "
                "firmware analyze IMAGE --product VENDOR/NAME --version V` keeps one.",
            ),
        )
    kept = stored.analysis
    result = kept.result
    if result.get("format") != BUILD_ANALYSIS_FORMAT:
        raise AssessmentInputError(
            f"the stored analysis of {ref} is of format {result.get('format')!r}, not "
            f"{BUILD_ANALYSIS_FORMAT}: analyse the image again (`iotwarden firmware analyze "
            "IMAGE --product VENDOR/NAME --version V`)"
        )
    try:
        findings = tuple(Finding.from_dict(f) for f in result["findings"])
        components = tuple(IdentifiedComponent.from_dict(c) for c in result["components"])
        checks = _check_records(result["checks"])
        known = result["known_vulnerabilities"]
        matched = bool(known["matched"])
        advisories = bool(known["advisories_checked"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise AssessmentInputError(
            f"the stored analysis of {ref} is damaged ({type(e).__name__}: {e}): analyse the "
            "image again"
        ) from e
    when = kept.analysed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    image = kept.image_name + (f" (sha256 {kept.image_sha256})" if kept.image_sha256 else "")
    notes = [
        f"The firmware evidence of {ref} is its analysis of {image} at {when}: known "
        "vulnerabilities as matched then; analyse the image again for advisories published "
        "since."
    ]
    if not matched:
        notes.append(
            f"The known vulnerabilities of the analysis of {ref} were not kept (the store "
            "could not be written): that capability is not evidenced by it."
        )
    if _inventory_keys(components) != _inventory_keys(inventory):
        # Another source (an SBOM import) replaced the build's components since: the inventory
        # is what the exposure engine uses, so it is what the SBOM capabilities see.
        components = inventory
        notes.append(
            f"The components of {ref} changed in the inventory after its analysis of {when}: "
            "the inventory's are used, the findings are the analysis's."
        )
    return FirmwareEvidence(
        source=f"inventory build {ref}, analysed {when} from {image}",
        findings=findings,
        components=components,
        checks=checks,
        build=ref,
        advisories_checked=advisories,
        analysed_at=when,
        image_sha256=kept.image_sha256,
        notes=tuple(notes),
    )


def _inventory_keys(
    components: Iterable[IdentifiedComponent],
) -> set[tuple[str, str | None, str | None, str | None]]:
    """Components as the inventory tells them apart (see ``firmware.vulns.to_inventory``)."""
    return {(c.name, c.version, c.purl, c.cpe) for c in components}


def load_firmware_report(path: Path) -> FirmwareEvidence:
    """Firmware evidence from a saved ``iotwarden firmware analyze --json`` report."""
    return FirmwareEvidence.from_report(_read_json(path, "a firmware report"), str(path))


def parse_probe_results(data: Any, origin: str = "probe results") -> tuple[ProbeResult, ...]:
    """Validate probe results: a JSON list of ``{check, target, status: pass|fail, evidence}``
    (or ``{"results": [...]}``)."""
    if isinstance(data, dict) and "results" in data:
        data = data["results"]
    if not isinstance(data, list):
        raise AssessmentInputError(
            f"{origin}: expected a list of {{check, target, status, evidence}} objects"
        )
    results = []
    problems = []
    for i, item in enumerate(data):
        where = f"[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object")
            continue
        unknown = set(item) - {"check", "target", "status", "evidence"}
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        for name in ("check", "target"):
            value = item.get(name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}.{name}: expected non-empty text")
        status = item.get("status")
        if status not in ("pass", "fail"):
            problems.append(f"{where}.status: expected 'pass' or 'fail', got {status!r}")
        evidence = item.get("evidence", "")
        if not isinstance(evidence, str):
            problems.append(f"{where}.evidence: expected text")
        if not problems:
            results.append(
                ProbeResult(
                    check=str(item["check"]).strip(),
                    target=str(item["target"]).strip(),
                    status=ProbeStatus(str(status)),
                    evidence=str(evidence)[:2000],
                )
            )
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise AssessmentInputError(f"{origin}: " + "; ".join(problems[:10]) + more)
    return tuple(results)


def load_probe_results(path: Path) -> tuple[ProbeResult, ...]:
    return parse_probe_results(_read_json(path, "probe results"), str(path))


# --- what the firmware checks cover -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckCoverage:
    """What one registered firmware check looks for: its finding ids and the capabilities it
    names itself."""

    name: str
    title: str
    finding_ids: tuple[str, ...]
    capabilities: tuple[str, ...]


@functools.cache
def firmware_check_coverage() -> tuple[CheckCoverage, ...]:
    """The registered firmware checks (from their declarative class attributes)."""
    from iotwarden.firmware.checks.registry import CHECKS

    return tuple(
        CheckCoverage(c.name, c.title, tuple(c.finding_ids), tuple(c.capabilities)) for c in CHECKS
    )


# --- results ----------------------------------------------------------------------------------


class Basis(StrEnum):
    """What a capability result rests on."""

    OBSERVED = "observed"  # firmware analysis or probes
    DECLARED = "declared"  # the manufacturer's declarations
    BOTH = "observed+declared"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    capability: str
    title: str
    result: Result
    reason: str
    basis: Basis
    evidence: tuple[EvidenceItem, ...] = ()

    @property
    def worst_severity(self) -> Severity | None:
        refuting = [
            e.severity for e in self.evidence if e.bearing is Bearing.REFUTES and e.severity
        ]
        return min(refuting, key=lambda s: s.rank) if refuting else None

    @property
    def unanswered(self) -> tuple[str, ...]:
        return tuple(
            e.ref
            for e in self.evidence
            if e.kind is EvidenceKind.DECLARATION and e.detail == "unanswered"
        )

    def to_dict(self) -> dict[str, Any]:
        severity = self.worst_severity
        return {
            "capability": self.capability,
            "title": self.title,
            "result": self.result.value,
            "reason": self.reason,
            "basis": self.basis.value,
            "worst_severity": severity.value if severity else None,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class LinkResult:
    """One capability a requirement maps to, how, and the capability's result."""

    capability: str
    relationship: Relationship
    result: Result

    def to_dict(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "relationship": self.relationship.value,
            "result": self.result.value,
        }


@dataclass(frozen=True, slots=True)
class RequirementResult:
    framework: str
    id: str
    title: str
    level: Level
    result: Result
    reason: str
    links: tuple[LinkResult, ...]
    #: 'applies', 'not applicable', or 'assumed (fact X not declared)'.
    applicability: str = "applies"
    #: Deemed compliance route that decided it ('etsi-en-303-645-v2.1.1 5.1-1, 5.1-2').
    deemed_by: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "id": self.id,
            "title": self.title,
            "level": self.level.value,
            "result": self.result.value,
            "reason": self.reason,
            "applicability": self.applicability,
            "deemed_by": self.deemed_by,
            "capabilities": [link.to_dict() for link in self.links],
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """A requirement that does not pass, with what its impact ranking rests on."""

    rank: int
    requirement: str  # the framework's own id, e.g. '5.1-1'
    ref: str
    title: str
    level: Level
    result: Result
    reason: str
    #: Capabilities of the requirement that do not pass.
    capabilities: tuple[str, ...]
    severity: Severity | None
    #: Frameworks / requirements (all frameworks) held back by those capabilities.
    frameworks_affected: int
    requirements_affected: int
    #: What to do: remediation of the refuting findings, or the questions to answer.
    actions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "requirement": self.requirement,
            "ref": self.ref,
            "title": self.title,
            "level": self.level.value,
            "result": self.result.value,
            "reason": self.reason,
            "capabilities": list(self.capabilities),
            "severity": self.severity.value if self.severity else None,
            "frameworks_affected": self.frameworks_affected,
            "requirements_affected": self.requirements_affected,
            "actions": list(self.actions),
        }


@dataclass(frozen=True, slots=True)
class FrameworkResult:
    framework: str
    title: str
    verdict: Verdict
    #: Which level decides the verdict ('mandatory', or 'guidance' for guidance-only ones).
    binding: Level
    verified: bool
    requirements: tuple[RequirementResult, ...]
    gaps: tuple[Gap, ...]
    summary: str

    def counts(self) -> dict[str, dict[str, int]]:
        """Results by level: {'mandatory': {'pass': 3, ...}, ...}."""
        counts: dict[str, dict[str, int]] = {}
        for r in self.requirements:
            by = counts.setdefault(r.level.value, {x.value: 0 for x in Result})
            by[r.result.value] += 1
        return counts

    def requirement(self, requirement_id: str) -> RequirementResult | None:
        wanted = requirement_id.strip().casefold()
        return next((r for r in self.requirements if r.id.casefold() == wanted), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "title": self.title,
            "verdict": self.verdict.value,
            "binding": self.binding.value,
            "catalog_verified": self.verified,
            "summary": self.summary,
            "counts": self.counts(),
            "requirements": [r.to_dict() for r in self.requirements],
            "gaps": [g.to_dict() for g in self.gaps],
        }


@dataclass(frozen=True, slots=True)
class Priority:
    """A capability that holds requirements back, ranked by what fixing it would unblock."""

    rank: int
    capability: str
    title: str
    result: Result
    mandatory_requirements: int
    requirements: int
    frameworks: int
    severity: Severity | None
    actions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "capability": self.capability,
            "title": self.title,
            "result": self.result.value,
            "mandatory_requirements": self.mandatory_requirements,
            "requirements": self.requirements,
            "frameworks": self.frameworks,
            "severity": self.severity.value if self.severity else None,
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class Assessment:
    """One product assessed against every framework."""

    subject: str
    assessed_on: dt.date
    capabilities: tuple[CapabilityResult, ...]
    frameworks: tuple[FrameworkResult, ...]
    priorities: tuple[Priority, ...]
    facts: Mapping[str, bool]
    declarations: Declarations
    firmware: FirmwareEvidence | None
    probes: tuple[ProbeResult, ...]
    #: Probe checks no capability uses (so they did not count).
    unused_probe_checks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def capability(self, capability_id: str) -> CapabilityResult:
        found = next((c for c in self.capabilities if c.capability == capability_id), None)
        if found is None:
            raise KeyError(capability_id)
        return found

    def framework(self, framework_id: str) -> FrameworkResult:
        found = next((f for f in self.frameworks if f.framework == framework_id), None)
        if found is None:
            raise KeyError(framework_id)
        return found

    def requirement(self, ref: str) -> RequirementResult:
        """``framework:requirement``, e.g. ``etsi-en-303-645-v2.1.1:5.1-1``."""
        fw_id, _, req_id = ref.partition(":")
        found = self.framework(fw_id).requirement(req_id)
        if found is None:
            raise KeyError(ref)
        return found

    def to_dict(self) -> dict[str, Any]:
        fw = self.firmware
        return {
            "schema": ASSESSMENT_SCHEMA,
            "subject": self.subject,
            "assessed_on": self.assessed_on.isoformat(),
            "inputs": {
                "firmware": None
                if fw is None
                else {
                    "source": fw.source,
                    "build": fw.build,
                    "analysed_at": fw.analysed_at,
                    "image_sha256": fw.image_sha256,
                    "findings": len(fw.findings),
                    "components": len(fw.components),
                    "checks_completed": [c.name for c in fw.checks if c.completed],
                    "checks_failed": [c.name for c in fw.checks if not c.completed],
                },
                "declarations": self.declarations.to_dict(),
                "probes": [p.to_dict() for p in self.probes],
                "unused_probe_checks": list(self.unused_probe_checks),
            },
            "facts": dict(self.facts),
            "summary": {f.framework: f.verdict.value for f in self.frameworks},
            "frameworks": [f.to_dict() for f in self.frameworks],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "priorities": [p.to_dict() for p in self.priorities],
            "notes": list(self.notes),
        }


# --- capability evaluation --------------------------------------------------------------------


def _paths(findings: Sequence[Finding]) -> tuple[str, ...]:
    seen: list[str] = []
    for f in findings:
        if f.path not in seen:
            seen.append(f.path)
    return tuple(seen[:PATHS_PER_ITEM])


def _finding_items(findings: Sequence[Finding], bearing: Bearing) -> list[EvidenceItem]:
    """One evidence item per finding id (many binaries can share one hardening finding)."""
    by_id: dict[str, list[Finding]] = {}
    for f in findings:
        by_id.setdefault(f.id, []).append(f)
    items = []
    for finding_id, group in by_id.items():
        worst = min(group, key=lambda f: f.severity.rank)
        detail = worst.title if len(group) == 1 else f"{worst.title} ({len(group)} findings)"
        if len(group) == 1 and worst.evidence:
            detail += f": {worst.evidence}"
        items.append(
            EvidenceItem(
                kind=EvidenceKind.FIRMWARE_FINDING,
                bearing=bearing,
                ref=finding_id,
                detail=detail[:500],
                paths=_paths(group),
                severity=worst.severity,
                count=len(group),
                remediation=worst.remediation or None,
            )
        )
    return items


def _supports_match(cap: Capability, finding_id: str) -> bool:
    return any(
        a.source is EvidenceSource.FIRMWARE_FINDING
        and a.effect is EvidenceEffect.SUPPORTS
        and a.matches(finding_id)
        for a in cap.automatic
    )


def _refutes_match(cap: Capability, finding_id: str) -> bool:
    return any(
        a.source is EvidenceSource.FIRMWARE_FINDING
        and a.effect is EvidenceEffect.REFUTES
        and a.matches(finding_id)
        for a in cap.automatic
    )


def _firmware_items(
    cap: Capability, firmware: FirmwareEvidence, coverage: Sequence[CheckCoverage]
) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    # A finding refutes the capabilities the catalog matches it to with effect 'refutes', and
    # those its check names itself unless the catalog says the finding's family *supports* the
    # capability (the catalog is the more specific of the two). Informational findings are
    # recorded, not counted.
    bearing_findings = [
        f
        for f in firmware.findings
        if _refutes_match(cap, f.id)
        or (cap.id in f.capabilities and not _supports_match(cap, f.id))
    ]
    counted = [f for f in bearing_findings if f.severity is not Severity.INFO]
    informational = [f for f in bearing_findings if f.severity is Severity.INFO]
    items += _finding_items(counted, Bearing.REFUTES)
    items += _finding_items(informational, Bearing.NEUTRAL)
    items += _update_facts(cap, firmware)
    refuted = any(i.bearing is Bearing.REFUTES for i in items)

    # The checks that look for what refutes this capability: having run without a finding is
    # (weak) supporting evidence; not having run is recorded so the reader knows.
    patterns = [
        a
        for a in cap.automatic
        if a.source is EvidenceSource.FIRMWARE_FINDING and a.effect is EvidenceEffect.REFUTES
    ]
    already = {i.ref for i in items if i.kind is EvidenceKind.FIRMWARE_CHECK}
    covering = [
        c
        for c in coverage
        if c.name not in already
        and (
            any(a.matches(i) for a in patterns for i in c.finding_ids)
            or (
                cap.id in c.capabilities and not any(_supports_match(cap, i) for i in c.finding_ids)
            )
        )
    ]
    if covering and firmware.checks and not refuted:
        ran = [c for c in covering if (r := firmware.check(c.name)) is not None and r.completed]
        failed = [
            c for c in covering if (r := firmware.check(c.name)) is not None and not r.completed
        ]
        if ran:
            names = ", ".join(c.name for c in ran)
            items.append(
                EvidenceItem(
                    kind=EvidenceKind.FIRMWARE_CHECK,
                    bearing=Bearing.SUPPORTS,
                    ref=names,
                    detail=f"firmware checks ran without a finding: {names}",
                )
            )
        for c in failed:
            record = firmware.check(c.name)
            items.append(
                EvidenceItem(
                    kind=EvidenceKind.FIRMWARE_CHECK,
                    bearing=Bearing.NEUTRAL,
                    ref=c.name,
                    detail=f"firmware check {c.name} failed: {record.error if record else ''}",
                )
            )
    if (
        firmware.advisories_checked
        and not refuted
        and any(a.matches(KNOWN_VULN_FINDING) for a in patterns)
    ):
        items.append(
            EvidenceItem(
                kind=EvidenceKind.FIRMWARE_CHECK,
                bearing=Bearing.SUPPORTS,
                ref="known-vulnerabilities",
                detail=f"{len(firmware.components)} components matched against the advisory "
                "store: no known vulnerability",
            )
        )
    for a in cap.automatic:
        if a.source is not EvidenceSource.FIRMWARE_COMPONENTS:
            continue
        n = len(firmware.components)
        if n:
            named = sum(1 for c in firmware.components if c.purl or c.cpe)
            items.append(
                EvidenceItem(
                    kind=EvidenceKind.FIRMWARE_COMPONENTS,
                    bearing=Bearing.SUPPORTS
                    if a.effect is EvidenceEffect.SUPPORTS
                    else Bearing.REFUTES,
                    ref="components",
                    detail=f"{n} components identified ({named} with a purl or CPE): "
                    "`iotwarden firmware analyze --sbom cyclonedx|spdx` exports them",
                    count=n,
                )
            )
        else:
            items.append(
                EvidenceItem(
                    kind=EvidenceKind.FIRMWARE_COMPONENTS,
                    bearing=Bearing.NEUTRAL,
                    ref="components",
                    detail="no component identified in the image",
                    count=0,
                )
            )
        break
    return items


def _update_facts(cap: Capability, firmware: FirmwareEvidence) -> list[EvidenceItem]:
    """The updates check's facts (mechanisms seen, those verifying signatures): the positive
    evidence the catalog's 'IW-FW-UPDATE-* supports update-mechanism' entry stands for, and
    what supports the capabilities a missing signature refutes."""
    entries = [
        a
        for a in cap.automatic
        if a.source is EvidenceSource.FIRMWARE_FINDING
        and a.match
        and a.match.startswith("IW-FW-UPDATE-")
    ]
    record = firmware.check("updates")
    if not entries or record is None or not record.completed:
        return []
    mechanisms = [str(m) for m in record.facts.get("mechanisms", ()) or ()]
    signed = [str(m) for m in record.facts.get("signed", ()) or ()]
    if any(a.effect is EvidenceEffect.SUPPORTS for a in entries):
        if mechanisms:
            detail = "update mechanism(s) in the image: " + ", ".join(mechanisms)
            if signed:
                detail += f" (signature verification: {', '.join(signed)})"
            return [EvidenceItem(EvidenceKind.FIRMWARE_CHECK, Bearing.SUPPORTS, "updates", detail)]
        return [
            EvidenceItem(
                EvidenceKind.FIRMWARE_CHECK,
                Bearing.REFUTES,
                "updates",
                "no update mechanism found in the image (opkg, sysupgrade, SWUpdate, RAUC, "
                "Mender, fwupd, OSTree, APT or a vendor tool)",
                severity=Severity.MEDIUM,
                remediation="Provide a secure update mechanism (e.g. signed sysupgrade, "
                "SWUpdate, RAUC).",
            )
        ]
    if signed:
        detail = "update signature verification in the image: " + ", ".join(signed)
        return [EvidenceItem(EvidenceKind.FIRMWARE_CHECK, Bearing.SUPPORTS, "updates", detail)]
    return []  # the missing signature is a finding, counted above


def _probe_items(cap: Capability, probes: Sequence[ProbeResult]) -> list[EvidenceItem]:
    items = []
    for a in cap.automatic:
        if a.source is not EvidenceSource.PROBE_CHECK:
            continue
        for status in (ProbeStatus.FAIL, ProbeStatus.PASS):
            hits = [p for p in probes if a.matches(p.check) and p.status is status]
            if not hits:
                continue
            # 'fail' means the check found its issue: it refutes a capability the check's
            # issue refutes, and a passing check supports it (and the other way round).
            refutes = (status is ProbeStatus.FAIL) == (a.effect is EvidenceEffect.REFUTES)
            shown = "; ".join(
                f"{p.target}: {p.evidence}" if p.evidence else p.target for p in hits[:3]
            )
            items.append(
                EvidenceItem(
                    kind=EvidenceKind.PROBE_CHECK,
                    bearing=Bearing.REFUTES if refutes else Bearing.SUPPORTS,
                    ref=a.match or "",
                    detail=f"probe {a.match} {status.value} on {len(hits)} target(s): {shown}"[
                        :500
                    ],
                    paths=tuple(p.target for p in hits[:PATHS_PER_ITEM]),
                    severity=Severity.HIGH if refutes else None,
                    count=len(hits),
                )
            )
    return items


def _declaration_items(
    cap: Capability, declarations: Declarations, today: dt.date
) -> list[EvidenceItem]:
    items = []
    for d in cap.declarations:
        answer = declarations.answer(d.key)
        bearing = {
            AnswerStatus.AFFIRMED: Bearing.SUPPORTS,
            AnswerStatus.DENIED: Bearing.REFUTES,
        }.get(answer.status, Bearing.NEUTRAL)
        detail = answer.text()
        if (
            d.key == SUPPORT_END_KEY
            and answer.status is AnswerStatus.AFFIRMED
            and str(answer.value) < today.isoformat()
        ):
            bearing, detail = Bearing.REFUTES, f"support period ended on {answer.value}"
        items.append(EvidenceItem(EvidenceKind.DECLARATION, bearing, d.key, detail[:500]))
    return items


def _refs(items: Iterable[EvidenceItem]) -> str:
    return ", ".join(dict.fromkeys(i.ref for i in items))


def evaluate_capability(
    cap: Capability,
    *,
    firmware: FirmwareEvidence | None,
    probes: Sequence[ProbeResult],
    declarations: Declarations,
    today: dt.date,
    coverage: Sequence[CheckCoverage] = (),
) -> CapabilityResult:
    """One capability's result from all the evidence bearing on it (rules: docs/assessment.md)."""
    observed: list[EvidenceItem] = []
    if firmware is not None:
        observed += _firmware_items(cap, firmware, coverage)
    observed += _probe_items(cap, probes)
    declared = _declaration_items(cap, declarations, today)
    evidence = (*observed, *declared)

    obs_refutes = [e for e in observed if e.bearing is Bearing.REFUTES]
    obs_supports = [e for e in observed if e.bearing is Bearing.SUPPORTS]
    affirmed = [e for e in declared if e.bearing is Bearing.SUPPORTS]
    denied = [e for e in declared if e.bearing is Bearing.REFUTES]
    not_applicable = [
        e
        for e in declared
        if e.bearing is Bearing.NEUTRAL
        and declarations.answer(e.ref).status is AnswerStatus.NOT_APPLICABLE
    ]
    unanswered = [
        e
        for e in declared
        if e.bearing is Bearing.NEUTRAL
        and declarations.answer(e.ref).status is AnswerStatus.UNANSWERED
    ]
    observed_used = bool(obs_refutes or obs_supports)
    declared_used = bool(affirmed or denied)
    basis = (
        Basis.BOTH
        if observed_used and declared_used
        else Basis.OBSERVED
        if observed_used
        else Basis.DECLARED
        if declared_used
        else Basis.NONE
    )

    if obs_refutes:
        result = Result.FAIL
        reason = "refuted by " + "; ".join(
            f"{e.ref} ({', '.join(e.paths)})" if e.paths else e.ref for e in obs_refutes
        )
        if affirmed:
            reason += f" (despite the declaration of {_refs(affirmed)})"
    elif declared and len(not_applicable) == len(declared) and not obs_supports:
        result = Result.NOT_APPLICABLE
        reason = "declared not applicable: " + "; ".join(
            f"{e.ref}: {declarations.answer(e.ref).justification}" for e in not_applicable
        )
    elif denied:
        if affirmed or obs_supports:
            result = Result.PARTIAL
            support = _refs([*obs_supports, *affirmed])
            reason = f"declared not done: {_refs(denied)}; supported by {support}"
        else:
            result = Result.FAIL
            reason = f"declared not done: {_refs(denied)}"
    elif (affirmed or obs_supports) and not unanswered:
        result = Result.PASS
        parts = []
        if affirmed:
            parts.append(f"declared ({_refs(affirmed)})")
        if obs_supports:
            parts.append("; ".join(e.detail for e in obs_supports))
        reason = "; ".join(parts)
    elif affirmed or obs_supports:
        result = Result.PARTIAL
        reason = (
            f"supported by {_refs([*obs_supports, *affirmed])}; unanswered: {_refs(unanswered)}"
        )
    else:
        result = Result.NOT_EVIDENCED
        if unanswered:
            reason = f"no observed evidence; unanswered: {_refs(unanswered)}"
        else:
            reason = "no evidence: nothing observed and no declaration asked"
    return CapabilityResult(cap.id, cap.title, result, reason, basis, tuple(evidence))


# --- projection onto the frameworks -----------------------------------------------------------


def _combine(links: Sequence[LinkResult]) -> tuple[Result, str]:
    """A requirement's result from its capabilities' results (rules: docs/assessment.md)."""
    failing = [x for x in links if x.result is Result.FAIL]
    if failing:
        return Result.FAIL, "fails through " + ", ".join(
            f"{x.capability} ({x.relationship.value})" for x in failing
        )
    relevant = [x for x in links if x.result is not Result.NOT_APPLICABLE]
    if not relevant:
        return Result.NOT_APPLICABLE, "every capability it maps to was declared not applicable"
    if all(x.result is Result.PASS for x in relevant):
        reason = "passes through " + ", ".join(x.capability for x in relevant)
        if any(x.relationship is Relationship.SUPERSET for x in relevant):
            reason += " (the requirement asks for more than these capabilities: check the rest)"
        return Result.PASS, reason
    if all(x.result is Result.NOT_EVIDENCED for x in relevant):
        return Result.NOT_EVIDENCED, "no evidence for " + ", ".join(x.capability for x in relevant)
    lacking = [x for x in relevant if x.result is not Result.PASS]
    return Result.PARTIAL, "incomplete: " + ", ".join(
        f"{x.capability} {x.result.value}" for x in lacking
    )


def _fact_text(fact: str, value: bool) -> str:
    return f"{fact}: {'yes' if value else 'no'}"


def _requirement_result(
    req: Requirement, results: Mapping[str, CapabilityResult], facts: Mapping[str, bool]
) -> RequirementResult:
    links = tuple(
        LinkResult(link.capability, link.relationship, results[link.capability].result)
        for link in req.capabilities
    )
    applicability = "applies"
    if req.condition is not None:
        applies = req.condition.applies(dict(facts))
        if applies is False:
            declared = ", ".join(
                _fact_text(f, facts[f]) for f, _ in req.condition.when if f in facts
            )
            return RequirementResult(
                req.framework,
                req.id,
                req.title,
                req.level,
                Result.NOT_APPLICABLE,
                f"not applicable: {req.condition.text.lower()} ({declared})",
                links,
                "not applicable",
            )
        if applies is None:
            missing = ", ".join(f for f, _ in req.condition.when if f not in facts)
            applicability = f"assumed (not declared: {missing})"
    result, reason = _combine(links)
    if applicability != "applies":
        reason += f"; applicability {applicability}"
    return RequirementResult(
        req.framework, req.id, req.title, req.level, result, reason, links, applicability
    )


def _deemed(
    fw: Framework, reqs: dict[str, RequirementResult], all_results: Mapping[str, RequirementResult]
) -> None:
    """Apply the framework's own deemed-compliance routes: a requirement that does not pass is
    deemed met when every requirement of one catalogued route passes or does not apply (with
    at least one passing)."""
    for rule in fw.deemed_compliance:
        current = reqs.get(rule.requirement)
        if current is None or current.result in (Result.PASS, Result.NOT_APPLICABLE):
            continue
        for route in rule.routes:
            if not route.framework:
                continue
            found = [all_results.get(f"{route.framework}:{r}") for r in route.requirements]
            if not found or any(r is None for r in found):
                continue
            outcomes = [r.result for r in found if r is not None]
            if all(o in (Result.PASS, Result.NOT_APPLICABLE) for o in outcomes) and any(
                o is Result.PASS for o in outcomes
            ):
                via = f"{route.framework} {', '.join(route.requirements)}"
                reqs[rule.requirement] = RequirementResult(
                    current.framework,
                    current.id,
                    current.title,
                    current.level,
                    Result.PASS,
                    f"deemed compliant ({rule.section}) through {via}; "
                    f"on its own: {current.reason}",
                    current.links,
                    current.applicability,
                    deemed_by=via,
                )
                break


def _binding_level(fw: Framework) -> Level:
    if any(r.level is Level.MANDATORY for r in fw.requirements):
        return Level.MANDATORY
    if any(r.level is Level.RECOMMENDED for r in fw.requirements):
        return Level.RECOMMENDED
    return Level.GUIDANCE


_LEVEL_RANK = {Level.MANDATORY: 0, Level.RECOMMENDED: 1, Level.GUIDANCE: 2}


def _verdict(fw: Framework, results: Sequence[RequirementResult]) -> tuple[Verdict, Level, str]:
    binding = _binding_level(fw)
    bound = [r for r in results if r.level is binding]
    counts = {x: sum(1 for r in bound if r.result is x) for x in Result}
    if counts[Result.FAIL]:
        verdict = Verdict.FAIL
    elif counts[Result.PARTIAL] or counts[Result.NOT_EVIDENCED]:
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.PASS
    summary = (
        f"{binding.value}: {counts[Result.PASS]} pass, {counts[Result.FAIL]} fail, "
        f"{counts[Result.PARTIAL]} partial, {counts[Result.NOT_EVIDENCED]} not evidenced, "
        f"{counts[Result.NOT_APPLICABLE]} not applicable (of {len(bound)})"
    )
    others = [r for r in results if r.level is not binding]
    if others:
        failing = sum(1 for r in others if r.result is Result.FAIL)
        passing = sum(1 for r in others if r.result is Result.PASS)
        summary += f"; other requirements: {passing} pass, {failing} fail (of {len(others)})"
    return verdict, binding, summary


#: An edition suffix of a framework id ('-v2.1.1').
_EDITION = re.compile(r"-v\d+(?:\.\d+)*$")


@dataclass(frozen=True, slots=True)
class _Reach:
    mandatory: int
    requirements: int
    frameworks: int


def _reach(
    frameworks: Sequence[tuple[Framework, Sequence[RequirementResult]]],
) -> dict[str, _Reach]:
    """Per capability: the applicable, non-passing requirements (all frameworks) that map to it
    and do not pass — what fixing it would help."""
    reqs: dict[str, set[str]] = {}
    mandatory: dict[str, set[str]] = {}
    fws: dict[str, set[str]] = {}
    for fw, results in frameworks:
        if fw.based_on:
            continue  # an inherited copy of another framework's provisions counts once
        # Editions of one document (EN 303 645 V2.1.1 and V3.1.3) count as one framework, and
        # a provision they share (5.1-1) as one requirement.
        family = _EDITION.sub("", fw.id)
        for r in results:
            if not r.result.is_gap:
                continue
            key = f"{family}:{r.ref.partition(':')[2] or r.ref}"
            for link in r.links:
                if link.result.is_gap:
                    reqs.setdefault(link.capability, set()).add(key)
                    fws.setdefault(link.capability, set()).add(family)
                    if r.level is Level.MANDATORY:
                        mandatory.setdefault(link.capability, set()).add(key)
    return {
        cap: _Reach(len(mandatory.get(cap, ())), len(refs), len(fws.get(cap, ())))
        for cap, refs in reqs.items()
    }


def _actions(results: Iterable[CapabilityResult]) -> tuple[str, ...]:
    actions: list[str] = []
    for c in results:
        for e in c.evidence:
            if e.bearing is Bearing.REFUTES and e.remediation:
                actions.append(e.remediation)
            elif e.bearing is Bearing.REFUTES and e.kind is EvidenceKind.DECLARATION:
                actions.append(f"{c.capability}: declared not done ({e.ref})")
        if c.result is not Result.FAIL and c.unanswered:
            actions.append(f"answer {', '.join(c.unanswered)}")
    return tuple(dict.fromkeys(actions))[:6]


def _severity_rank(severity: Severity | None) -> int:
    return severity.rank if severity else len(Severity)


def _gaps(
    results: Sequence[RequirementResult],
    capabilities: Mapping[str, CapabilityResult],
    reach: Mapping[str, _Reach],
) -> tuple[Gap, ...]:
    """Gaps ranked by impact: level (mandatory first), result (fail, partial, not evidenced),
    worst finding severity, then how many requirements across all frameworks the same
    capabilities hold back, then the catalog order."""
    candidates = []
    for order, r in enumerate(results):
        if not r.result.is_gap:
            continue
        lacking = [capabilities[x.capability] for x in r.links if x.result.is_gap]
        severities = [c.worst_severity for c in lacking if c.worst_severity]
        severity = min(severities, key=lambda s: s.rank) if severities else None
        reach_req = max(
            (reach[c.capability].requirements for c in lacking if c.capability in reach), default=0
        )
        reach_fw = max(
            (reach[c.capability].frameworks for c in lacking if c.capability in reach), default=0
        )
        key = (
            _LEVEL_RANK[r.level],
            r.result.gap_rank,
            _severity_rank(severity),
            -reach_fw,
            -reach_req,
            order,
        )
        candidates.append((key, r, lacking, severity, reach_fw, reach_req))
    candidates.sort(key=lambda c: c[0])
    return tuple(
        Gap(
            rank=i + 1,
            requirement=r.id,
            ref=r.ref,
            title=r.title,
            level=r.level,
            result=r.result,
            reason=r.reason,
            capabilities=tuple(c.capability for c in lacking),
            severity=severity,
            frameworks_affected=reach_fw,
            requirements_affected=reach_req,
            actions=_actions(lacking),
        )
        for i, (_, r, lacking, severity, reach_fw, reach_req) in enumerate(candidates)
    )


def _priorities(
    capabilities: Sequence[CapabilityResult], reach: Mapping[str, _Reach]
) -> tuple[Priority, ...]:
    """Capabilities holding requirements back, most impact first: failures before partial
    results before missing evidence, then mandatory requirements held back, frameworks,
    requirements, and the worst finding severity."""
    rows = []
    for order, c in enumerate(capabilities):
        r = reach.get(c.capability)
        if r is None or not c.result.is_gap:
            continue
        key = (
            c.result.gap_rank,
            -r.mandatory,
            -r.frameworks,
            -r.requirements,
            _severity_rank(c.worst_severity),
            order,
        )
        rows.append((key, c, r))
    rows.sort(key=lambda x: x[0])
    return tuple(
        Priority(
            rank=i + 1,
            capability=c.capability,
            title=c.title,
            result=c.result,
            mandatory_requirements=r.mandatory,
            requirements=r.requirements,
            frameworks=r.frameworks,
            severity=c.worst_severity,
            actions=_actions([c]),
        )
        for i, (_, c, r) in enumerate(rows)
    )


def assess(
    catalogs: Catalogs,
    *,
    firmware: FirmwareEvidence | None = None,
    probes: Sequence[ProbeResult] = (),
    declarations: Declarations = NO_DECLARATIONS,
    today: dt.date | None = None,
    frameworks: Sequence[str] | None = None,
    coverage: Sequence[CheckCoverage] | None = None,
) -> Assessment:
    """Evaluate every capability, project the results onto every framework (or the ones named,
    by id or alias), and rank the gaps. Pure: reads nothing but its arguments (and, when
    ``coverage`` is None, the registered firmware checks' declarations)."""
    today = today or dt.date.today()
    if coverage is None:
        coverage = firmware_check_coverage() if firmware is not None else ()
    cap_results = tuple(
        evaluate_capability(
            cap,
            firmware=firmware,
            probes=probes,
            declarations=declarations,
            today=today,
            coverage=coverage,
        )
        for cap in catalogs.capabilities
    )
    by_cap = {c.capability: c for c in cap_results}
    facts = dict(declarations.facts)

    chosen = list(catalogs.frameworks)
    if frameworks:
        wanted = {catalogs.framework(name).id for name in frameworks}
        chosen = [fw for fw in chosen if fw.id in wanted]
    # Every framework is evaluated (deemed-compliance routes may point at unchosen ones).
    per_fw: dict[str, dict[str, RequirementResult]] = {
        fw.id: {r.id: _requirement_result(r, by_cap, facts) for r in fw.requirements}
        for fw in catalogs.frameworks
    }
    everything = {r.ref: r for results in per_fw.values() for r in results.values()}
    for fw in catalogs.frameworks:
        _deemed(fw, per_fw[fw.id], everything)
    pairs = [
        (fw, tuple(per_fw[fw.id][r.id] for r in fw.requirements)) for fw in catalogs.frameworks
    ]
    # What fixing a capability would help, counted in the frameworks being assessed.
    reach = _reach([(fw, results) for fw, results in pairs if fw in chosen])

    fw_results = []
    for fw, results in pairs:
        if fw not in chosen:
            continue
        verdict, binding, summary = _verdict(fw, results)
        fw_results.append(
            FrameworkResult(
                framework=fw.id,
                title=fw.short_title,
                verdict=verdict,
                binding=binding,
                verified=fw.verification.verified,
                requirements=results,
                gaps=_gaps(results, by_cap, reach),
                summary=summary,
            )
        )

    used_checks = {
        a.match
        for cap in catalogs.capabilities
        for a in cap.automatic
        if a.source is EvidenceSource.PROBE_CHECK and a.match
    }
    unused = tuple(sorted({p.check for p in probes} - used_checks))
    notes: list[str] = []
    if firmware is not None:
        notes += firmware.notes
    if firmware is not None and not firmware.checks:
        notes.append(
            "The firmware evidence has no check records (a build stored without its analysis "
            "keeps only its components): findings-based capabilities are not evidenced by it."
        )
    for fw in chosen:
        if not fw.verification.verified:
            notes.append(f"{fw.id}: catalog not verified against the published text.")
    subject = (
        declarations.subject.name if declarations.subject else (firmware.source if firmware else "")
    )
    return Assessment(
        subject=subject,
        assessed_on=today,
        capabilities=cap_results,
        frameworks=tuple(fw_results),
        priorities=_priorities(cap_results, reach),
        facts=facts,
        declarations=declarations,
        firmware=firmware,
        probes=tuple(probes),
        unused_probe_checks=unused,
        notes=tuple(notes),
    )
