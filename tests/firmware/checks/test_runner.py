"""run_checks as a whole: precision on clean trees, one planted tree with every kind of
problem, failing checks as results, and the report's round trip."""

from __future__ import annotations

from pathlib import Path

from iotwarden.firmware.checks import (
    AttemptStatus,
    CheckContext,
    CheckReport,
    FirmwareCheck,
    build_context,
    run_checks,
)
from iotwarden.firmware.checks.interface import CheckOutput, CheckRun
from iotwarden.firmware.checks.registry import CHECKS
from tests.firmware.checks.conftest import Scan, ids
from tests.firmware.rootfs import (
    Account,
    RootFS,
    certificate,
    clean_rootfs,
    pem_certificate,
    pem_private,
    rsa_key,
    write_accounts,
)


def test_clean_tree_has_no_findings(
    tmp_path: Path, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    fs = clean_rootfs(tmp_path / "clean")
    fs.file("/usr/bin/app", elf_variants["hardened"], mode=0o755)
    report = scan(fs)
    assert report.findings == ()
    assert report.failed == ()
    assert {a.check for a in report.attempts} == {c.name for c in CHECKS}


def test_clean_tree_without_updates_has_only_the_update_finding(tmp_path: Path, scan: Scan) -> None:
    report = scan(clean_rootfs(tmp_path / "clean", signed_updates=False))
    assert ids(report) == {"IW-FW-UPDATE-NO-SIGNED-MECHANISM"}


def test_planted_tree_reports_each_problem_once(
    tmp_path: Path, scan: Scan, elf_variants: dict[str, bytes]
) -> None:
    fs = clean_rootfs(tmp_path / "planted")
    write_accounts(fs, [Account("root", "xc3511", "md5", uid=0), Account("daemon", None, uid=1)])
    fs.file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F\n"
                            "ttyS0::askfirst:-/bin/sh\n")  # fmt: skip
    fs.busybox_applets("telnetd", "sh")
    key = rsa_key(1024)
    fs.file("/etc/ssl/server.pem", pem_private(key) + pem_certificate(certificate(key)))
    fs.script("/etc/init.d/S60cloud", "cloudagent --password=Cl0udAgent7 &\n")
    fs.file("/usr/bin/legacy", elf_variants["weak"], mode=0o755)
    report = scan(fs)
    assert ids(report) == {
        "IW-FW-ACCOUNT-DEFAULT-PASSWORD",
        "IW-FW-ACCOUNT-WEAK-HASH",
        "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD",
        "IW-FW-SERVICE-TELNET",
        "IW-FW-SERVICE-CONSOLE-SHELL",
        "IW-FW-KEY-PRIVATE-KEY",
        "IW-FW-KEY-WEAK",
        "IW-FW-CERT-SELF-SIGNED",
        "IW-FW-CREDS-HARDCODED-PASSWORD",
        "IW-FW-ELF-WEAK-HARDENING",
    }
    ranks = [f.severity.rank for f in report.findings]
    assert ranks == sorted(ranks) and report.findings[0].severity.value == "critical"
    assert len(report.findings) == len(
        {(f.id, f.path, f.title, f.evidence) for f in report.findings}
    )


class _Broken(FirmwareCheck):
    name = "broken"
    title = "Always fails"
    description = "Raises, to show a failing check is a result."
    finding_ids = ()
    capabilities = ()
    looks_at = ()

    def run(self, run: CheckRun) -> CheckOutput:
        raise OSError("disk on fire")


def test_a_failing_check_is_an_attempt_with_its_error(tmp_path: Path) -> None:
    fs = clean_rootfs(tmp_path / "clean")
    report = run_checks(build_context(fs.root), checks=(_Broken, *CHECKS))
    (broken,) = report.failed
    assert broken.check == "broken" and broken.error == "OSError: disk on fire"
    assert broken.status is AttemptStatus.ERROR
    assert len(report.attempts) == len(CHECKS) + 1


def test_report_round_trip(tmp_path: Path, scan: Scan) -> None:
    fs = RootFS(tmp_path / "tree")
    write_accounts(fs, [Account("root", "admin", "sha256", uid=0)])
    report = scan(fs)
    again = CheckReport.from_dict(report.to_dict())
    assert again == report
    assert again.hardening_summary == report.hardening_summary
    assert [a.facts for a in again.attempts] == [a.facts for a in report.attempts]


def test_context_defaults_and_missing_root(tmp_path: Path) -> None:
    report = run_checks(CheckContext(root=tmp_path / "does-not-exist"))
    assert ids(report) == {"IW-FW-UPDATE-NO-SIGNED-MECHANISM"}
    assert report.failed == ()
