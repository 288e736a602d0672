"""What firmware analysis produces: evidence, identified components and security findings.

Extraction, component identification and the security checks each fill part of it; the
analysis entry point (``iotwarden.firmware.analyze``) joins them into one report. Every result
is a frozen dataclass that round-trips through ``to_dict``/``from_dict`` so per-file results can
be cached by content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from iotwarden.core.errors import IoTWardenError


class FirmwareError(IoTWardenError):
    """Base of the errors raised while analysing a firmware image."""


class Severity(StrEnum):
    """How bad a finding is (ordered, critical first)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Confidence(StrEnum):
    """How sure an identification is: several agreeing files or a package database is high."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: Harmonised baseline capabilities that firmware findings bear on. The full catalogue (with
#: the crosswalk to every framework) lives in ``iotwarden.baseline``; a test checks every id a
#: check names exists there.
CAP_UNIQUE_CREDENTIALS = "unique-credentials"
CAP_STRONG_AUTHENTICATION = "strong-authentication"
CAP_NO_HARD_CODED_SECRETS = "no-hard-coded-secrets"
CAP_SECURE_STORAGE_OF_SECRETS = "secure-storage-of-secrets"
CAP_MINIMAL_ATTACK_SURFACE = "minimal-attack-surface"
CAP_SECURE_COMMUNICATION = "secure-communication"
CAP_EXPLOIT_MITIGATIONS = "exploit-mitigations"
CAP_LEAST_PRIVILEGE = "least-privilege"
CAP_SECURE_UPDATE = "secure-update"
CAP_UPDATE_MECHANISM = "update-mechanism"
CAP_NO_KNOWN_VULNERABILITIES = "no-known-exploitable-vulnerabilities"
CAP_SBOM = "sbom"
CAP_SOFTWARE_INTEGRITY = "software-integrity"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why we believe something: the file (absolute path inside the image) and what was seen."""

    path: str
    detail: str
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "detail": self.detail, "offset": self.offset}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(path=data["path"], detail=data["detail"], offset=data.get("offset"))


@dataclass(frozen=True, slots=True)
class IdentifiedComponent:
    """A software component found in the image, with the evidence for it.

    ``version`` is None when the component is present but its version could not be read (a
    version-less hit is reported as such, never guessed).
    """

    name: str
    version: str | None
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    purl: str | None = None
    cpe: str | None = None
    supplier: str | None = None
    #: How it was found: 'signature', 'opkg', 'dpkg', 'kernel', ...
    source: str = "signature"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "cpe": self.cpe,
            "supplier": self.supplier,
            "confidence": self.confidence.value,
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IdentifiedComponent:
        return cls(
            name=data["name"],
            version=data.get("version"),
            confidence=Confidence(data["confidence"]),
            evidence=tuple(Evidence.from_dict(e) for e in data.get("evidence", ())),
            purl=data.get("purl"),
            cpe=data.get("cpe"),
            supplier=data.get("supplier"),
            source=data.get("source", "signature"),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One security finding: stable check id, what, where, why we say so, what to do."""

    id: str  # stable per kind of finding, e.g. 'IW-FW-ACCOUNT-DEFAULT-PASSWORD'
    title: str
    severity: Severity
    path: str  # absolute path inside the image ('/' for image-wide findings)
    evidence: str
    remediation: str
    capabilities: tuple[str, ...]
    #: Extra machine-readable facts (user name, cracked password, key fingerprint, ...).
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "path": self.path,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "capabilities": list(self.capabilities),
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            id=data["id"],
            title=data["title"],
            severity=Severity(data["severity"]),
            path=data["path"],
            evidence=data["evidence"],
            remediation=data["remediation"],
            capabilities=tuple(data.get("capabilities", ())),
            details=dict(data.get("details", {})),
        )
