"""What a baseline catalog holds: frameworks, their requirements, the harmonised capabilities and
the crosswalk links between them.

Everything here is loaded from the versioned data files in ``iotwarden/data/baseline`` (see
``iotwarden.baseline.catalog``); these frozen dataclasses are the validated, typed view of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from iotwarden.core.errors import IoTWardenError


class BaselineError(IoTWardenError):
    """Base of the errors raised by the baseline catalogs and crosswalk."""


class CatalogError(BaselineError):
    """A catalog data file is unreadable or invalid: names the file and the field."""

    def __init__(self, origin: str, field_path: str, message: str) -> None:
        where = f"{origin} at {field_path}" if field_path else origin
        super().__init__(f"{where}: {message}")
        self.origin = origin
        self.field_path = field_path
        self.message = message

    def __reduce__(self) -> tuple[type[CatalogError], tuple[str, str, str]]:
        return (type(self), (self.origin, self.field_path, self.message))


class UnknownReferenceError(BaselineError):
    """A framework, requirement or capability id that no catalog defines."""


class Level(StrEnum):
    """How binding a requirement is in its own framework."""

    MANDATORY = "mandatory"
    RECOMMENDED = "recommended"
    #: Non-binding guidance (NIST, DHS, OWASP): neither 'shall' nor 'should' in the ETSI sense.
    GUIDANCE = "guidance"


class Relationship(StrEnum):
    """How a requirement relates to a capability, read as 'the requirement is ... the capability'.

    The set-theory relationships of NIST IR 8477 (and the OSCAL mapping model): *subset* means
    the requirement asks for part of what the capability covers, *superset* that it asks for
    more than the capability alone.
    """

    EQUIVALENT = "equivalent"
    SUBSET = "subset"
    SUPERSET = "superset"
    INTERSECTS = "intersects"


class FrameworkKind(StrEnum):
    STANDARD = "standard"
    REGULATION = "regulation"
    GUIDANCE = "guidance"


class EvidenceSource(StrEnum):
    """Where automatic evidence for a capability comes from."""

    FIRMWARE_FINDING = "firmware-finding"
    FIRMWARE_COMPONENTS = "firmware-components"
    PROBE_CHECK = "probe-check"


class EvidenceEffect(StrEnum):
    """Whether a matching result shows the capability missing or supports it."""

    REFUTES = "refutes"
    SUPPORTS = "supports"


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether the catalog entry was checked against the published document, and what was not."""

    verified: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "note": self.note}


@dataclass(frozen=True, slots=True)
class Condition:
    """When a conditional requirement applies: a short text and the facts that decide it.

    ``when`` maps an applicability fact id (e.g. ``uses-passwords``) to the answer that makes
    the requirement apply; all must hold.
    """

    text: str
    when: tuple[tuple[str, bool], ...]

    def applies(self, facts: dict[str, bool]) -> bool | None:
        """True/False from the declared facts; None when a needed fact is not declared and no
        declared one already rules the requirement out (the order of ``when`` does not matter)."""
        if any(fact in facts and facts[fact] is not wanted for fact, wanted in self.when):
            return False
        if any(fact not in facts for fact, _ in self.when):
            return None
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "when": dict(self.when)}


@dataclass(frozen=True, slots=True)
class CapabilityLink:
    """One crosswalk edge: this requirement relates to a capability in this way."""

    capability: str
    relationship: Relationship

    def to_dict(self) -> dict[str, Any]:
        return {"capability": self.capability, "relationship": self.relationship.value}


@dataclass(frozen=True, slots=True)
class RequirementGroup:
    """A clause, principle or criterion that groups requirements (not assessed on its own)."""

    id: str
    title: str
    section: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "section": self.section}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement of one framework, summarised in our own words, with its crosswalk links."""

    framework: str
    id: str
    title: str
    summary: str
    level: Level
    #: Where it is in the source document (clause, article, table).
    section: str
    capabilities: tuple[CapabilityLink, ...]
    group: str | None = None
    condition: Condition | None = None
    #: Set when this entry (not the whole framework) could not be checked.
    verification: Verification | None = None

    @property
    def ref(self) -> str:
        """The global id used on the command line and in reports: ``framework:requirement``."""
        return f"{self.framework}:{self.id}"

    @property
    def conditional(self) -> bool:
        return self.condition is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "framework": self.framework,
            "id": self.id,
            "group": self.group,
            "title": self.title,
            "summary": self.summary,
            "level": self.level.value,
            "section": self.section,
            "condition": self.condition.to_dict() if self.condition else None,
            "capabilities": [c.to_dict() for c in self.capabilities],
            "verification": self.verification.to_dict() if self.verification else None,
        }


@dataclass(frozen=True, slots=True)
class DeemedComplianceRoute:
    """One way a requirement is deemed met: other requirements of a catalogued framework, or
    clauses of a standard we do not catalogue (e.g. ISO/IEC 29147)."""

    framework: str | None = None
    requirements: tuple[str, ...] = ()
    standard: str | None = None
    clauses: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "requirements": list(self.requirements),
            "standard": self.standard,
            "clauses": list(self.clauses),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class DeemedCompliance:
    """A legal presumption of conformity stated by the framework itself (e.g. PSTI Schedule 2)."""

    requirement: str
    section: str
    routes: tuple[DeemedComplianceRoute, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "section": self.section,
            "routes": [r.to_dict() for r in self.routes],
        }


@dataclass(frozen=True, slots=True)
class Framework:
    """A catalogued standard, regulation or guidance document and its requirements."""

    id: str
    title: str
    short_title: str
    publisher: str
    version: str
    date: str
    url: str
    kind: FrameworkKind
    id_scheme: str
    verification: Verification
    requirements: tuple[Requirement, ...]
    groups: tuple[RequirementGroup, ...] = ()
    aliases: tuple[str, ...] = ()
    based_on: str | None = None
    deemed_compliance: tuple[DeemedCompliance, ...] = ()
    #: The data file it was loaded from (package-relative for bundled catalogs).
    source_file: str = ""
    _index: dict[str, Requirement] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for req in self.requirements:
            self._index[req.id.casefold()] = req

    def requirement(self, requirement_id: str) -> Requirement | None:
        """The requirement with this id (case-insensitive), or None."""
        return self._index.get(requirement_id.strip().casefold())

    def group(self, group_id: str) -> RequirementGroup | None:
        wanted = group_id.strip().casefold()
        return next((g for g in self.groups if g.id.casefold() == wanted), None)

    def counts(self) -> dict[str, int]:
        """Requirements in total, by level, and how many are conditional."""
        by_level = {level.value: 0 for level in Level}
        for req in self.requirements:
            by_level[req.level.value] += 1
        return {
            "requirements": len(self.requirements),
            **by_level,
            "conditional": sum(1 for r in self.requirements if r.conditional),
        }

    def summary_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "title": self.title,
            "short_title": self.short_title,
            "publisher": self.publisher,
            "version": self.version,
            "date": self.date,
            "url": self.url,
            "kind": self.kind.value,
            "id_scheme": self.id_scheme,
            "based_on": self.based_on,
            "verification": self.verification.to_dict(),
            "counts": self.counts(),
            "source_file": self.source_file,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "requirements": [r.to_dict() for r in self.requirements],
            "deemed_compliance": [d.to_dict() for d in self.deemed_compliance],
        }


@dataclass(frozen=True, slots=True)
class AutomaticEvidence:
    """Something IoT Warden observes itself that bears on a capability."""

    source: EvidenceSource
    effect: EvidenceEffect
    note: str
    #: Finding id or id prefix ending in ``*`` (firmware), or probe check id; None for
    #: firmware-components.
    match: str | None = None

    def matches(self, result_id: str) -> bool:
        """Whether a firmware finding id or probe check id falls under this evidence source."""
        if self.match is None:
            return False
        if self.match.endswith("*"):
            return result_id.startswith(self.match[:-1])
        return result_id == self.match

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "match": self.match,
            "effect": self.effect.value,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Declaration:
    """A questionnaire item: what the manufacturer declares as evidence for a capability."""

    key: str
    question: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "question": self.question}


@dataclass(frozen=True, slots=True)
class Capability:
    """A harmonised capability: assessed once, projected onto every framework via the crosswalk."""

    id: str
    title: str
    description: str
    automatic: tuple[AutomaticEvidence, ...] = ()
    declarations: tuple[Declaration, ...] = ()

    @property
    def evidenced_automatically(self) -> bool:
        return bool(self.automatic)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "evidence": {
                "automatic": [a.to_dict() for a in self.automatic],
                "declarations": [d.to_dict() for d in self.declarations],
            },
        }


@dataclass(frozen=True, slots=True)
class Fact:
    """An applicability question that conditional requirements depend on."""

    id: str
    question: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question}
