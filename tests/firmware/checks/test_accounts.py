"""The accounts check: default passwords cracked in every supported crypt scheme, strong ones
left alone (but reported as a hash every unit shares), empty passwords, extra UID 0."""

from __future__ import annotations

import pytest

from iotwarden.firmware.checks import CheckReport
from tests.firmware.checks.conftest import Scan, ids
from tests.firmware.rootfs import (
    Account,
    RootFS,
    crypt_hash,
    passwd_line,
    shadow_line,
    strong_password,
    write_accounts,
)


def by_user(report: CheckReport, finding_id: str) -> dict[str, dict[str, object]]:
    return {f.details["user"]: f.details for f in report.findings if f.id == finding_id}


@pytest.mark.parametrize("scheme", ["des", "md5", "sha256", "sha512", "2a", "2b", "2y"])
def test_mirai_passwords_are_cracked_in_every_scheme(fs: RootFS, scan: Scan, scheme: str) -> None:
    write_accounts(
        fs,
        [
            Account("root", "xc3511", scheme, uid=0),
            Account("support", "support", scheme, uid=100),
            Account("operator", strong_password(), scheme, uid=101),
        ],
    )
    report = scan(fs)
    cracked = by_user(report, "IW-FW-ACCOUNT-DEFAULT-PASSWORD")
    assert {user: d["password"] for user, d in cracked.items()} == {
        "root": "xc3511",
        "support": "support",
    }
    assert cracked["root"]["source"] == "mirai"
    # The strong password is not cracked, but its fixed hash is the same in every unit.
    assert set(by_user(report, "IW-FW-ACCOUNT-SHARED-HASH")) == {"operator"}
    (finding,) = [f for f in report.findings if f.details.get("user") == "root"
                  and f.id == "IW-FW-ACCOUNT-DEFAULT-PASSWORD"]  # fmt: skip
    assert finding.severity.value == "critical" and finding.path == "/etc/shadow"
    assert "unique-credentials" in finding.capabilities
    # Evidence shows the line with the hash cut short, never the whole hash.
    full_hash = next(line for line in (fs.root / "etc/shadow").read_text().splitlines()
                     if line.startswith("root:")).split(":")[1]  # fmt: skip
    assert finding.evidence.startswith("root:") and full_hash not in finding.evidence


def test_weak_schemes_are_reported(fs: RootFS, scan: Scan) -> None:
    write_accounts(
        fs,
        [
            Account("root", strong_password(), "des", uid=0),
            Account("admin", strong_password(), "md5", uid=500),
            Account("user", strong_password(), "sha512", uid=501),
        ],
    )
    assert set(by_user(scan(fs), "IW-FW-ACCOUNT-WEAK-HASH")) == {"root", "admin"}


def test_empty_passwords_and_login_shells(fs: RootFS, scan: Scan) -> None:
    write_accounts(
        fs,
        [
            Account("root", "", uid=0),
            Account("ftp", "", uid=21, login_shell="/sbin/nologin"),
            Account("daemon", None, uid=2),
        ],
    )
    report = scan(fs)
    empty = {
        f.details["user"]: f for f in report.findings if f.id == "IW-FW-ACCOUNT-EMPTY-PASSWORD"
    }
    assert set(empty) == {"root", "ftp"}
    assert empty["root"].severity.value == "critical"
    assert empty["ftp"].severity.value == "medium"
    assert "daemon" not in {f.details.get("user") for f in report.findings}


def test_extra_uid0_account(fs: RootFS, scan: Scan) -> None:
    write_accounts(fs, [Account("root", None, uid=0), Account("admin2", None, uid=0)])
    report = scan(fs)
    (finding,) = [f for f in report.findings if f.id == "IW-FW-ACCOUNT-EXTRA-UID0"]
    assert finding.details["user"] == "admin2" and finding.path == "/etc/passwd"
    assert finding.capabilities == ("least-privilege",)


def test_vendor_copies_hashes_in_passwd_and_backups(fs: RootFS, scan: Scan) -> None:
    # Hash straight in a passwd file (no shadow), as many old vendor images ship.
    hashed = crypt_hash("vizxv", "md5")
    fs.file("/etc_ro/passwd", passwd_line(Account("root", uid=0), hashed) + "\n")
    admin_hash = crypt_hash("1234", "sha512")
    fs.file("/etc/shadow", shadow_line("admin", admin_hash) + "\n")
    fs.file("/etc/shadow-", shadow_line("admin", admin_hash) + "\n")
    fs.file(
        "/etc/config/passwd.bak",
        passwd_line(Account("guest", uid=9), crypt_hash("guest", "des")) + "\n",
    )
    report = scan(fs)
    cracked = {
        f.details["user"]: f for f in report.findings if f.id == "IW-FW-ACCOUNT-DEFAULT-PASSWORD"
    }
    assert {u: f.details["password"] for u, f in cracked.items()} == {
        "root": "vizxv", "admin": "1234", "guest": "guest",
    }  # fmt: skip
    assert cracked["root"].path == "/etc_ro/passwd"
    assert cracked["admin"].path == "/etc/shadow"
    assert cracked["admin"].details["also_in"] == ["/etc/shadow-"]
    assert cracked["guest"].path == "/etc/config/passwd.bak"


def test_hostile_account_files(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/shadow", "\n".join([
        shadow_line("root", "$6$rounds=999999999$salt$" + "a" * 86),  # would take hours
        shadow_line("bad", "$2b$04$tooshort"),
        shadow_line("yes", "$y$j9T$abc$def"),
        "not a shadow line at all",
        ":::::",
    ]) + "\n")  # fmt: skip
    fs.file("/usr/bin/passwd", b"\x7fELF\x02\x01\x01" + b"\0" * 200)  # the passwd binary
    fs.file("/etc/passwd", b"\xff\xfe garbage \x00\x01 root:x:0:0")
    report = scan(fs)
    assert report.failed == ()
    shared = by_user(report, "IW-FW-ACCOUNT-SHARED-HASH")
    assert set(shared) == {"root", "bad", "yes"}
    assert shared["root"]["tried"] == 0 and "rounds" in str(shared["root"]["note"])
    assert "not supported" in str(shared["yes"]["note"])
    assert "IW-FW-ACCOUNT-DEFAULT-PASSWORD" not in ids(report)
