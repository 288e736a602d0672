"""What a firmware security check is, what it is given and what it gives back.

A check is a declarative plugin: class attributes say what it looks for (finding ids,
capabilities, the files it reads); ``run`` turns an extracted root file system into findings.
The runner wraps every run in a ``CheckAttempt``, so a failing check is a result, not a crash.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from iotwarden.firmware.checks.facts import ElfFacts, KeyMaterial
from iotwarden.firmware.checks.tree import ImageTree
from iotwarden.firmware.model import Finding, FirmwareError, IdentifiedComponent

#: Version of the content-only logic (``inspect_elf``, ``find_key_material``): part of the
#: per-file cache key, bump it whenever what they return for the same bytes changes.
CHECKS_VERSION = "2"

_T = TypeVar("_T")


class CheckError(FirmwareError):
    """A check cannot look at the image (raised inside a run; recorded in its attempt)."""


@dataclass(frozen=True)
class CheckContext:
    """Everything the tree-level checks look at.

    ``root`` is the extracted root file system (links are resolved inside it, never out of
    it); ``elf`` and ``keys`` are the content-only facts per absolute image path;
    ``components`` are the identified components (may be empty).
    """

    root: Path
    elf: Mapping[str, ElfFacts] = field(default_factory=dict)
    keys: Mapping[str, Sequence[KeyMaterial]] = field(default_factory=dict)
    components: Sequence[IdentifiedComponent] = ()


class AttemptStatus(StrEnum):
    COMPLETED = "completed"
    ERROR = "error"


@dataclass(frozen=True)
class CheckAttempt:
    """One check run (``target`` None) or one file a check could not read (``target`` set).

    ``facts`` are what the check established besides findings (the update mechanisms seen,
    the services started at boot, ...), for reports and the baseline evaluator.
    """

    check: str
    status: AttemptStatus
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    target: str | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "target": self.target,
            "error": self.error,
            "findings": [f.to_dict() for f in self.findings],
            "facts": dict(self.facts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckAttempt:
        return cls(
            check=data["check"],
            status=AttemptStatus(data["status"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            error=data.get("error"),
            target=data.get("target"),
            facts=dict(data.get("facts", {})),
        )


@dataclass(frozen=True)
class CheckReport:
    """All findings (sorted: most severe first), every attempt, and the binary hardening
    summary (counts and percentages per property)."""

    findings: tuple[Finding, ...]
    attempts: tuple[CheckAttempt, ...]
    hardening_summary: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def failed(self) -> tuple[CheckAttempt, ...]:
        return tuple(a for a in self.attempts if a.status is AttemptStatus.ERROR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "attempts": [a.to_dict() for a in self.attempts],
            "hardening_summary": dict(self.hardening_summary),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        return cls(
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            attempts=tuple(CheckAttempt.from_dict(a) for a in data.get("attempts", ())),
            hardening_summary=dict(data.get("hardening_summary", {})),
        )


@dataclass
class CheckOutput:
    """What one ``run`` produces: findings, facts, and the files it could not read."""

    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (image path, error)


class CheckRun:
    """One run of all checks over one tree: the context, the tree reader, and analyses that
    several checks share (accounts, boot services), computed once."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context
        self.tree = ImageTree(context.root)
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, compute: Callable[[CheckRun], _T]) -> _T:
        if key not in self._shared:
            self._shared[key] = compute(self)
        value: _T = self._shared[key]
        return value


class FirmwareCheck(ABC):
    """One family of checks. The class attributes document it; ``run`` does the work."""

    #: Short stable name of the check family ('accounts', 'services', ...).
    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    #: Every finding id the check can produce.
    finding_ids: ClassVar[tuple[str, ...]]
    #: Harmonised baseline capabilities its findings bear on.
    capabilities: ClassVar[tuple[str, ...]]
    #: The files it reads (image path globs), for documentation and reports.
    looks_at: ClassVar[tuple[str, ...]]

    @abstractmethod
    def run(self, run: CheckRun) -> CheckOutput:
        """Look at the tree; problems with one file go to ``CheckOutput.problems``."""


def mask_secret(secret: str) -> str:
    """The first characters of a secret only, enough to recognise it, not to use it."""
    if len(secret) <= 4:
        return "*" * len(secret) if secret else ""
    shown = 2 if len(secret) < 10 else 4
    return secret[:shown] + "*" * min(len(secret) - shown, 8)


def abbreviate_hash(hashed: str) -> str:
    """A password hash cut short for evidence: scheme and salt prefix, not the digest."""
    if len(hashed) <= 16:
        return hashed[:4] + "…" if len(hashed) > 4 else hashed
    return hashed[:16] + "…"
