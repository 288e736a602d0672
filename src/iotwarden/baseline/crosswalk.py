"""The crosswalk: every framework requirement linked to harmonised capabilities, and the queries
that follow those links from one requirement to its counterparts in every other framework.

Links are data (``maps`` in each framework file); this module only indexes and walks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .model import (
    Capability,
    DeemedComplianceRoute,
    Framework,
    Relationship,
    Requirement,
)


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    """A requirement mapped to a capability, with how it relates to it."""

    requirement: Requirement
    relationship: Relationship

    def to_dict(self) -> dict[str, Any]:
        req = self.requirement
        return {
            "ref": req.ref,
            "framework": req.framework,
            "id": req.id,
            "title": req.title,
            "level": req.level.value,
            "relationship": self.relationship.value,
        }


@dataclass(frozen=True, slots=True)
class CapabilityCorrespondence:
    """One capability a requirement maps to, and the other frameworks' requirements mapped to it."""

    capability: Capability
    #: How the queried requirement relates to the capability.
    relationship: Relationship
    requirements: tuple[CrosswalkEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "capability": self.capability.id,
            "title": self.capability.title,
            "relationship": self.relationship.value,
            "requirements": [e.to_dict() for e in self.requirements],
        }


@dataclass(frozen=True, slots=True)
class DeemedLink:
    """A presumption of conformity stated by a framework itself (e.g. UK PSTI Schedule 2)."""

    #: The requirement that is deemed met ...
    deemed: Requirement
    #: ... by meeting these (another framework's requirements, or clauses of another standard).
    route: DeemedComplianceRoute
    section: str

    def to_dict(self) -> dict[str, Any]:
        return {"deemed": self.deemed.ref, "section": self.section, "route": self.route.to_dict()}


@dataclass(frozen=True, slots=True)
class Correspondence:
    """What one requirement corresponds to elsewhere: through each of its capabilities, and
    through any deemed-compliance rule that names it."""

    requirement: Requirement
    via: tuple[CapabilityCorrespondence, ...]
    deemed: tuple[DeemedLink, ...] = ()

    def frameworks(self) -> dict[str, tuple[str, ...]]:
        """Corresponding requirement ids per framework (via any capability), in catalog order."""
        found: dict[str, dict[str, None]] = {}
        for cap in self.via:
            for entry in cap.requirements:
                found.setdefault(entry.requirement.framework, {})[entry.requirement.id] = None
        return {fw: tuple(ids) for fw, ids in found.items()}

    def refs(self) -> set[str]:
        """Every corresponding ``framework:requirement`` (via capabilities)."""
        return {e.requirement.ref for cap in self.via for e in cap.requirements}

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement.to_dict(),
            "capabilities": [c.to_dict() for c in self.via],
            "frameworks": {fw: list(ids) for fw, ids in self.frameworks().items()},
            "deemed_compliance": [d.to_dict() for d in self.deemed],
        }


class Crosswalk:
    """Index of requirement -> capability links, in both directions."""

    def __init__(self, frameworks: Iterable[Framework], capabilities: Iterable[Capability]) -> None:
        self._frameworks = tuple(frameworks)
        self._capabilities = {c.id: c for c in capabilities}
        self._by_capability: dict[str, list[CrosswalkEntry]] = {c: [] for c in self._capabilities}
        for fw in self._frameworks:
            for req in fw.requirements:
                for link in req.capabilities:
                    self._by_capability[link.capability].append(
                        CrosswalkEntry(req, link.relationship)
                    )

    def for_capability(self, capability_id: str) -> tuple[CrosswalkEntry, ...]:
        """Every requirement, in every framework, mapped to this capability."""
        return tuple(self._by_capability.get(capability_id, ()))

    def unused_capabilities(self) -> tuple[str, ...]:
        """Capabilities no framework asks for (a catalog defect the tests guard against)."""
        return tuple(c for c, entries in self._by_capability.items() if not entries)

    def links(self) -> Iterator[CrosswalkEntry]:
        for entries in self._by_capability.values():
            yield from entries

    def corresponding(self, requirement: Requirement) -> Correspondence:
        """The requirement's capabilities and, through them, requirements in other frameworks."""
        via = []
        for link in requirement.capabilities:
            others = tuple(
                e
                for e in self._by_capability[link.capability]
                if e.requirement.framework != requirement.framework
            )
            via.append(
                CapabilityCorrespondence(
                    self._capabilities[link.capability], link.relationship, others
                )
            )
        return Correspondence(requirement, tuple(via), self._deemed_links(requirement))

    def _deemed_links(self, requirement: Requirement) -> tuple[DeemedLink, ...]:
        links = []
        for fw in self._frameworks:
            for rule in fw.deemed_compliance:
                deemed = fw.requirement(rule.requirement)
                if deemed is None:  # pragma: no cover - rejected when the catalog is loaded
                    continue
                for route in rule.routes:
                    names_it = route.framework == requirement.framework and any(
                        r.casefold() == requirement.id.casefold() for r in route.requirements
                    )
                    if deemed.ref == requirement.ref or names_it:
                        links.append(DeemedLink(deemed, route, rule.section))
        return tuple(links)

    def to_dict(self) -> dict[str, Any]:
        """The whole crosswalk as capability -> mapped requirements (machine use, OSCAL later)."""
        return {cap: [e.to_dict() for e in entries] for cap, entries in self._by_capability.items()}
