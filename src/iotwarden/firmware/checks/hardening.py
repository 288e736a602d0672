"""Binary hardening of every ELF in the image: findings per executable (no NX, missing stack
canary / PIE / RELRO, insecure RPATH) and a per-image summary of each property."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from iotwarden.firmware.checks.facts import ElfFacts, ElfKind, RelroLevel
from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck
from iotwarden.firmware.model import CAP_EXPLOIT_MITIGATIONS, Finding, Severity

ID_NO_NX = "IW-FW-ELF-NO-NX"
ID_WEAK_HARDENING = "IW-FW-ELF-WEAK-HARDENING"
ID_INSECURE_RPATH = "IW-FW-ELF-INSECURE-RPATH"

#: Library search paths anyone may write to on a running device (or relative ones, which
#: depend on the working directory).
# Paths on the device, compared with, never opened here.
_WRITABLE_PREFIXES = (
    "/tmp", "/var/tmp", "/dev/shm", "/mnt", "/media", "/home", "/var/run",  # noqa: S108
)  # fmt: skip


def _insecure(entry: str) -> bool:
    if entry.startswith("$ORIGIN") or entry.startswith("${ORIGIN}"):
        return False
    if not entry.startswith("/"):
        return True
    return any(entry == p or entry.startswith(p + "/") for p in _WRITABLE_PREFIXES)


def _share(count: int, total: int) -> dict[str, Any]:
    return {
        "count": count,
        "of": total,
        "percent": round(100.0 * count / total, 1) if total else None,
    }


def hardening_summary(elf: Mapping[str, ElfFacts]) -> dict[str, Any]:
    """Counts and percentages of each hardening property over the image's ELF files.

    NX, canary, RELRO, FORTIFY and RPATH are over executables and shared libraries; PIE and
    static linking over executables; stripped over all readable ELF files.
    """
    readable = [f for f in elf.values() if f.error is None]
    executables = [f for f in readable if f.kind.is_executable]
    linked = [f for f in readable if f.kind.is_executable or f.kind is ElfKind.SHARED_LIBRARY]

    def share(items: list[ElfFacts], test: Callable[[ElfFacts], bool]) -> dict[str, Any]:
        return _share(sum(1 for f in items if test(f)), len(items))

    return {
        "elf_files": len(elf),
        "unreadable": len(elf) - len(readable),
        "executables": len(executables),
        "shared_libraries": sum(1 for f in readable if f.kind is ElfKind.SHARED_LIBRARY),
        "properties": {
            "nx": share(linked, lambda f: f.nx),
            "canary": share(linked, lambda f: f.canary),
            "pie": share(executables, lambda f: bool(f.pie)),
            "relro_full": share(linked, lambda f: f.relro is RelroLevel.FULL),
            "relro_partial": share(linked, lambda f: f.relro is RelroLevel.PARTIAL),
            "relro_none": share(linked, lambda f: f.relro is RelroLevel.NONE),
            "fortify": share(linked, lambda f: f.fortify),
            "rpath": share(linked, lambda f: bool(f.rpath or f.runpath)),
            "static": share(executables, lambda f: f.static),
            "stripped": share(readable, lambda f: f.stripped),
        },
    }


class HardeningCheck(FirmwareCheck):
    name = "hardening"
    title = "Binary hardening"
    description = (
        "For every ELF: NX stack, PIE, RELRO, stack canary, FORTIFY, RPATH/RUNPATH and "
        "stripping. Executables without NX, canary, PIE or RELRO and insecure library search "
        "paths are findings; every property is summarised per image."
    )
    finding_ids = (ID_NO_NX, ID_WEAK_HARDENING, ID_INSECURE_RPATH)
    capabilities = (CAP_EXPLOIT_MITIGATIONS,)
    looks_at = ("every ELF file",)

    def run(self, run: CheckRun) -> CheckOutput:
        output = CheckOutput()
        for path in sorted(run.context.elf):
            facts = run.context.elf[path]
            if facts.error is not None:
                output.problems.append((path, facts.error))
                continue
            if not (facts.kind.is_executable or facts.kind is ElfKind.SHARED_LIBRARY):
                continue
            details = {
                "kind": facts.kind.value,
                "machine": facts.machine,
                "nx": facts.nx,
                "pie": facts.pie,
                "relro": facts.relro.value,
                "canary": facts.canary,
                "fortify": facts.fortify,
                "static": facts.static,
                "stripped": facts.stripped,
            }
            if not facts.nx:
                output.findings.append(
                    Finding(
                        id=ID_NO_NX,
                        title="Executable stack (no NX)",
                        severity=Severity.MEDIUM,
                        path=path,
                        evidence=(
                            "PT_GNU_STACK has PF_X (executable stack)"
                            if facts.gnu_stack
                            else "no PT_GNU_STACK header: the stack is executable by default"
                        ),
                        remediation=(
                            "Link with -z noexecstack and remove assembly that asks for an "
                            "executable stack; one such library makes every process's stack "
                            "executable."
                        ),
                        capabilities=(CAP_EXPLOIT_MITIGATIONS,),
                        details=details,
                    )
                )
            if facts.kind.is_executable:
                missing = [
                    name
                    for name, present in (
                        ("stack-canary", facts.canary),
                        ("pie", bool(facts.pie)),
                        ("relro", facts.relro is not RelroLevel.NONE),
                    )
                    if not present
                ]
                if missing:
                    output.findings.append(
                        Finding(
                            id=ID_WEAK_HARDENING,
                            title="Executable built without " + ", ".join(missing),
                            severity=Severity.LOW,
                            path=path,
                            evidence="missing: " + ", ".join(missing),
                            remediation=(
                                "Build with -fstack-protector-strong, -fPIE -pie and "
                                "-Wl,-z,relro,-z,now (and -D_FORTIFY_SOURCE=2 -O2)."
                            ),
                            capabilities=(CAP_EXPLOIT_MITIGATIONS,),
                            details={**details, "missing": missing},
                        )
                    )
            insecure = [p for p in (*facts.rpath, *facts.runpath) if _insecure(p)]
            if insecure:
                output.findings.append(
                    Finding(
                        id=ID_INSECURE_RPATH,
                        title="Library search path that others can write to",
                        severity=Severity.MEDIUM,
                        path=path,
                        evidence=f"RPATH {list(facts.rpath)} RUNPATH {list(facts.runpath)}",
                        remediation=(
                            "Drop RPATH/RUNPATH or point it at read-only system directories "
                            "($ORIGIN-relative paths are fine)."
                        ),
                        capabilities=(CAP_EXPLOIT_MITIGATIONS,),
                        details={**details, "insecure": insecure},
                    )
                )
        output.facts["summary"] = hardening_summary(run.context.elf)
        return output
