"""Baseline conformity: framework catalogs (ETSI EN 303 645, NIST IR 8259A/B and 8425, UK PSTI,
EU CRA, DHS principles, OWASP IoT Top 10), the harmonised capabilities they are mapped to, and
the crosswalk between them.

Start with ``load_catalogs()``; ``Catalogs.corresponding("etsi-en-303-645:5.1-1")`` answers
"what does this requirement correspond to everywhere else?".
"""

from __future__ import annotations

from .catalog import Catalogs, bundled_catalog_dir, load_catalogs
from .crosswalk import (
    CapabilityCorrespondence,
    Correspondence,
    Crosswalk,
    CrosswalkEntry,
    DeemedLink,
)
from .model import (
    AutomaticEvidence,
    BaselineError,
    Capability,
    CapabilityLink,
    CatalogError,
    Condition,
    Declaration,
    DeemedCompliance,
    DeemedComplianceRoute,
    EvidenceEffect,
    EvidenceSource,
    Fact,
    Framework,
    FrameworkKind,
    Level,
    Relationship,
    Requirement,
    RequirementGroup,
    UnknownReferenceError,
    Verification,
)

__all__ = [
    "AutomaticEvidence",
    "BaselineError",
    "Capability",
    "CapabilityCorrespondence",
    "CapabilityLink",
    "CatalogError",
    "Catalogs",
    "Condition",
    "Correspondence",
    "Crosswalk",
    "CrosswalkEntry",
    "Declaration",
    "DeemedCompliance",
    "DeemedComplianceRoute",
    "DeemedLink",
    "EvidenceEffect",
    "EvidenceSource",
    "Fact",
    "Framework",
    "FrameworkKind",
    "Level",
    "Relationship",
    "Requirement",
    "RequirementGroup",
    "UnknownReferenceError",
    "Verification",
    "bundled_catalog_dir",
    "load_catalogs",
]
