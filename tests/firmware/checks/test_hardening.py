"""The hardening check over a tree of gcc-built binaries: findings per executable, the
per-image summary, and corrupt ELF files as failed attempts."""

from __future__ import annotations

from iotwarden.firmware.checks import AttemptStatus
from tests.firmware.checks.conftest import Scan
from tests.firmware.rootfs import RootFS, corrupt_elfs


def plant(fs: RootFS, elf_variants: dict[str, bytes], *names: str) -> None:
    for name in names:
        path = "/usr/lib/libvendor.so.1" if name == "library" else f"/usr/bin/{name}"
        fs.file(path, elf_variants[name], mode=0o755)


def test_hardened_binaries_give_no_findings(
    fs: RootFS, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    plant(fs, elf_variants, "hardened", "stripped", "library", "runpath_origin", "no_fortify")
    report = scan(fs)
    assert [f for f in report.findings if f.id.startswith("IW-FW-ELF-")] == []


def test_each_weak_binary_is_findable_by_its_path(
    fs: RootFS, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    plant(fs, elf_variants, "hardened", "no_canary", "execstack", "no_pie", "no_relro",
          "partial_relro", "rpath", "weak")  # fmt: skip
    report = scan(fs)
    by_path: dict[str, dict[str, object]] = {}
    for finding in report.findings:
        if finding.id.startswith("IW-FW-ELF-"):
            by_path.setdefault(finding.path, {})[finding.id] = finding.details.get("missing")
    assert by_path == {
        "/usr/bin/no_canary": {"IW-FW-ELF-WEAK-HARDENING": ["stack-canary"]},
        "/usr/bin/execstack": {"IW-FW-ELF-NO-NX": None},
        "/usr/bin/no_pie": {"IW-FW-ELF-WEAK-HARDENING": ["pie"]},
        "/usr/bin/no_relro": {"IW-FW-ELF-WEAK-HARDENING": ["relro"]},
        "/usr/bin/rpath": {"IW-FW-ELF-INSECURE-RPATH": None},
        "/usr/bin/weak": {"IW-FW-ELF-WEAK-HARDENING": ["stack-canary", "pie", "relro"]},
    }
    (no_nx,) = [f for f in report.findings if f.id == "IW-FW-ELF-NO-NX"]
    assert "PF_X" in no_nx.evidence and no_nx.capabilities == ("exploit-mitigations",)


def test_summary_counts_and_percentages(
    fs: RootFS, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    plant(fs, elf_variants, "hardened", "weak", "execstack", "static", "stripped", "library")
    summary = scan(fs).hardening_summary
    assert summary["elf_files"] == 6 and summary["executables"] == 5
    assert summary["shared_libraries"] == 1 and summary["unreadable"] == 0
    properties = summary["properties"]
    assert properties["nx"] == {"count": 5, "of": 6, "percent": 83.3}
    assert properties["pie"]["of"] == 5 and properties["pie"]["count"] == 3
    assert properties["static"]["count"] == 1
    assert properties["stripped"]["count"] >= 1
    assert properties["relro_none"]["count"] == 1  # 'weak'


def test_corrupt_elf_is_a_failed_attempt_not_a_crash(
    fs: RootFS, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    plant(fs, elf_variants, "hardened")
    for name, data in corrupt_elfs(elf_variants["hardened"]).items():
        fs.file(f"/usr/bin/{name}", data, mode=0o755)
    report = scan(fs)
    failed = {a.target: a for a in report.failed}
    assert set(failed) == {"/usr/bin/truncated", "/usr/bin/wrong_phoff"}
    assert all(a.check == "hardening" and a.status is AttemptStatus.ERROR for a in failed.values())
    assert "cannot parse ELF headers" in str(failed["/usr/bin/truncated"].error)
    (completed,) = [a for a in report.attempts if a.check == "hardening" and a.target is None]
    assert completed.status is AttemptStatus.COMPLETED
    assert report.hardening_summary["unreadable"] == 2
