"""Run every registered check over one extracted tree, each inside an attempt record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from iotwarden.firmware.checks.elf import ELF_MAGIC, inspect_elf
from iotwarden.firmware.checks.facts import ElfFacts, KeyMaterial
from iotwarden.firmware.checks.hardening import hardening_summary
from iotwarden.firmware.checks.interface import (
    AttemptStatus,
    CheckAttempt,
    CheckContext,
    CheckReport,
    CheckRun,
    FirmwareCheck,
)
from iotwarden.firmware.checks.keymaterial import find_key_material
from iotwarden.firmware.checks.registry import CHECKS
from iotwarden.firmware.checks.tree import ImageTree
from iotwarden.firmware.model import Finding, IdentifiedComponent

#: build_context reads at most this much of one file for the content-only facts.
MAX_CONTENT_BYTES = 64 << 20


def run_checks(
    context: CheckContext, checks: Iterable[type[FirmwareCheck]] = CHECKS
) -> CheckReport:
    """All checks over ``context``: findings sorted most severe first, every attempt (one
    per check, plus one per file a check could not read) and the hardening summary."""
    run = CheckRun(context)
    attempts: list[CheckAttempt] = []
    for check_type in checks:
        check = check_type()
        try:
            output = check.run(run)
        except Exception as error:  # noqa: BLE001 - a failing check is a result, not a crash
            attempts.append(
                CheckAttempt(
                    check=check.name,
                    status=AttemptStatus.ERROR,
                    error=f"{type(error).__name__}: {error}",
                )
            )
            continue
        attempts.append(
            CheckAttempt(
                check=check.name,
                status=AttemptStatus.COMPLETED,
                findings=tuple(output.findings),
                facts=output.facts,
            )
        )
        attempts.extend(
            CheckAttempt(check=check.name, status=AttemptStatus.ERROR, error=error, target=path)
            for path, error in output.problems
        )
    findings = sorted(
        (f for a in attempts for f in a.findings), key=lambda f: (f.severity.rank, f.id, f.path)
    )
    return CheckReport(
        findings=tuple(_unique(findings)),
        attempts=tuple(attempts),
        hardening_summary=hardening_summary(context.elf),
    )


def _unique(findings: Iterable[Finding]) -> Iterable[Finding]:
    seen: set[tuple[str, str, str, str]] = set()
    for finding in findings:
        key = (finding.id, finding.path, finding.title, finding.evidence)
        if key not in seen:
            seen.add(key)
            yield finding


def build_context(root: object, components: Sequence[IdentifiedComponent] = ()) -> CheckContext:
    """A context for a tree, computing the content-only facts of every regular file (the
    analysis pipeline does this itself with its per-file cache; tests and one-off runs use
    this)."""
    from pathlib import Path

    tree = ImageTree(Path(str(root)))
    elf: dict[str, ElfFacts] = {}
    keys: dict[str, tuple[KeyMaterial, ...]] = {}
    for path in tree.files():
        data = tree.read_bytes(path, MAX_CONTENT_BYTES)
        if not data:
            continue
        if data.startswith(ELF_MAGIC):
            facts = inspect_elf(data)
            if facts is not None:
                elf[path] = facts
        material = find_key_material(data)
        if material:
            keys[path] = material
    return CheckContext(root=tree.root, elf=elf, keys=keys, components=tuple(components))
