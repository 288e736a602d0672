"""The updates check: signed update mechanisms found, or the finding that none was."""

from __future__ import annotations

import pytest

from iotwarden.firmware.checks import CheckReport
from tests.firmware.checks.conftest import Scan
from tests.firmware.rootfs import RootFS

ID = "IW-FW-UPDATE-NO-SIGNED-MECHANISM"


def update_facts(report: CheckReport) -> dict[str, object]:
    (attempt,) = [a for a in report.attempts if a.check == "updates"]
    return attempt.facts


def test_nothing_found_is_a_finding(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/hostname", "device\n")
    report = scan(fs)
    (finding,) = [f for f in report.findings if f.id == ID]
    assert finding.path == "/" and "no update mechanism found" in finding.evidence
    assert finding.capabilities == ("secure-update", "update-mechanism")


def test_unsigned_mechanism_is_still_a_finding(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/opkg.conf", "dest root /\nsrc/gz base http://downloads.example/packages\n")
    fs.file("/bin/opkg", b"\x7fELF placeholder", mode=0o755)
    fs.file("/usr/sbin/fw_upgrade", b"#!/bin/sh\nmtd write $1 firmware\n", mode=0o755)
    report = scan(fs)
    (finding,) = [f for f in report.findings if f.id == ID]
    assert finding.details["mechanisms"] == ["opkg", "vendor"]
    assert "without signature verification" in finding.evidence


@pytest.mark.parametrize(
    ("path", "content", "mechanism"),
    [
        ("/etc/opkg/keys/4cd0c5a1f2c0e5b7", "untrusted comment: usign key\nRWRM0M...\n", "opkg"),
        ("/lib/upgrade/common.sh", 'usign -q -V -m "$img" -P /etc/opkg/keys\n', "sysupgrade"),
        ("/etc/rauc/system.conf", "[system]\ncompatible=x\n[keyring]\npath=ca.cert.pem\n", "rauc"),
        ("/etc/swupdate.cfg", 'globals: { public-key-file = "/etc/swupdate.pem"; };\n',
         "swupdate"),
        ("/etc/mender/mender.conf", '{"ArtifactVerifyKey": "/etc/mender/artifact-verify-key.pem"}',
         "mender"),
        ("/etc/ostree/remotes.d/os.conf", '[remote "os"]\nurl=https://x\ngpg-verify=true\n',
         "ostree"),
    ],
)  # fmt: skip
def test_signed_mechanisms(fs: RootFS, scan: Scan, path: str, content: str, mechanism: str) -> None:
    fs.file(path, content)
    report = scan(fs)
    assert ID not in {f.id for f in report.findings}
    assert update_facts(report)["signed"] == [mechanism]


def test_signature_words_in_the_wrong_place_are_not_evidence(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/opkg.conf", "# option check_signature (disabled by vendor)\n")
    fs.file("/etc/rauc/system.conf", "[system]\ncompatible=x\n")
    report = scan(fs)
    assert ID in {f.id for f in report.findings}
    assert update_facts(report)["signed"] == []
