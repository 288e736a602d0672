"""The remote-login check: a login service at boot plus a default or empty password."""

from __future__ import annotations

from tests.firmware.checks.conftest import Scan, ids
from tests.firmware.rootfs import Account, RootFS, strong_password, write_accounts

ID = "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD"


def test_telnetd_with_a_mirai_password_is_critical(fs: RootFS, scan: Scan) -> None:
    write_accounts(fs, [Account("root", "vizxv", "md5", uid=0), Account("ops", strong_password())])
    fs.file("/etc/inittab", "::respawn:/usr/sbin/telnetd -F\n")
    report = scan(fs)
    (finding,) = [f for f in report.findings if f.id == ID]
    assert finding.severity.value == "critical"
    assert finding.path == "/etc/inittab"
    assert finding.details["user"] == "root" and finding.details["password"] == "vizxv"
    assert finding.details["program"] == "telnetd"
    assert "/etc/shadow" in finding.evidence
    assert report.findings[0].id in {ID, "IW-FW-ACCOUNT-DEFAULT-PASSWORD"}  # critical first


def test_empty_password_with_ssh_password_login(fs: RootFS, scan: Scan) -> None:
    write_accounts(fs, [Account("root", None, uid=0), Account("admin", "", uid=500)])
    fs.script("/etc/init.d/S50dropbear", "/usr/sbin/dropbear -R -p 22\n")
    (finding,) = [f for f in scan(fs).findings if f.id == ID]
    assert finding.details["user"] == "admin" and finding.details["password"] == ""


def test_no_combination_without_both_halves(fs: RootFS, scan: Scan) -> None:
    # Default password, but no remote login service.
    write_accounts(fs, [Account("root", "admin", "sha512", uid=0)])
    assert ID not in ids(scan(fs))
    # Remote login, strong password only.
    write_accounts(fs, [Account("root", strong_password(), uid=0)])
    fs.file("/etc/inittab", "::respawn:/usr/sbin/telnetd -F\n")
    assert ID not in ids(scan(fs))


def test_login_refused_by_shell_or_service_options(fs: RootFS, scan: Scan) -> None:
    write_accounts(
        fs,
        [Account("root", "root", "sha512", uid=0),
         Account("ftp", "", uid=21, login_shell="/bin/false")],
    )  # fmt: skip
    fs.script("/etc/init.d/S50dropbear", "dropbear -s -g\n")  # no password logins at all
    fs.file("/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\n")
    fs.script("/etc/init.d/S51sshd", "/usr/sbin/sshd\n")
    assert ID not in ids(scan(fs))
