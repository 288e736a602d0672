"""The acceptance case end to end: generated firmware trees through the real analysis pipeline
(each analysed once), then one assessment each, asserting requirement results by id.

The dirty tree has a Mirai password for root in shadow, telnetd started from inittab and opkg
without signature checking; the clean one has a locked root, no telnet, and usign keys with
check_signature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iotwarden.baseline import Catalogs, load_catalogs
from iotwarden.baseline.assess import (
    Assessment,
    FirmwareEvidence,
    Result,
    Verdict,
    assess,
    load_firmware_report,
)
from iotwarden.baseline.declarations import parse_declarations
from iotwarden.firmware.analyze import AnalysisOptions, FirmwareAnalysis, analyze_image
from iotwarden.report import firmware as firmware_report
from tests.baseline.test_assess import TODAY, complete_declarations
from tests.firmware.rootfs import Account, RootFS, clean_rootfs, write_accounts


def dirty_rootfs(root: Path) -> RootFS:
    """Mirai's root/xc3511 in shadow, telnetd at boot, opkg without signature checking."""
    fs = clean_rootfs(root, signed_updates=False)
    write_accounts(
        fs,
        [
            Account("root", "xc3511", scheme="md5", uid=0, login_shell="/bin/ash"),
            Account("nobody", None, uid=65534, login_shell="/bin/false", home="/nonexistent"),
        ],
    )
    fs.file(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/login\n",
    )
    fs.busybox_applets("telnetd")
    fs.file("/bin/opkg", b"opkg placeholder\n", mode=0o755)
    fs.file("/etc/opkg.conf", "dest root /\nsrc/gz base http://downloads.example.com/packages\n")
    return fs


def _analyse(root: Path) -> FirmwareAnalysis:
    return analyze_image(root, options=AnalysisOptions(use_cache=False, workers=0))


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> FirmwareAnalysis:
    root = tmp_path_factory.mktemp("dirty") / "rootfs"
    dirty_rootfs(root)
    return _analyse(root)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> FirmwareAnalysis:
    root = tmp_path_factory.mktemp("clean") / "rootfs"
    clean_rootfs(root)
    return _analyse(root)


@pytest.fixture(scope="module")
def dirty_assessment(catalogs: Catalogs, dirty: FirmwareAnalysis) -> Assessment:
    return assess(catalogs, firmware=FirmwareEvidence.from_analysis(dirty), today=TODAY)


def test_the_generated_trees_give_the_findings_the_acceptance_case_is_about(
    dirty: FirmwareAnalysis, clean: FirmwareAnalysis
) -> None:
    ids = {f.id for f in dirty.findings}
    assert {
        "IW-FW-ACCOUNT-DEFAULT-PASSWORD",
        "IW-FW-SERVICE-TELNET",
        "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD",
        "IW-FW-UPDATE-NO-SIGNED-MECHANISM",
    } <= ids
    assert clean.findings == ()


@pytest.mark.parametrize(
    "ref",
    [
        "etsi-en-303-645-v2.1.1:5.1-1",  # Mirai password
        "etsi-en-303-645-v2.1.1:5.6-1",  # telnet enabled
        "etsi-en-303-645-v2.1.1:5.6-5",
        "etsi-en-303-645-v2.1.1:5.3-2",  # no signed update mechanism
        "etsi-en-303-645-v2.1.1:5.3-7",
        "etsi-en-303-645-v2.1.1:5.3-9",
        "etsi-en-303-645-v2.1.1:5.3-10",
        "etsi-en-303-645-v3.1.3:5.1-1",
        "uk-psti:1",
        "eu-cra:I.2.b",
        "eu-cra:I.2.j",
        "nist-ir-8425:4a",  # interface access control (credentials, services)
        "nist-ir-8425:5a",  # verified software updates
        "nist-ir-8425:2b",  # secure default
    ],
)
def test_the_dirty_firmware_fails_the_corresponding_requirements_of_every_framework(
    dirty_assessment: Assessment, ref: str
) -> None:
    assert dirty_assessment.requirement(ref).result is Result.FAIL, dirty_assessment.requirement(
        ref
    ).reason


def test_the_dirty_firmware_fails_each_framework_with_its_evidence(
    dirty_assessment: Assessment,
) -> None:
    for fw in ("etsi-en-303-645-v2.1.1", "uk-psti", "eu-cra", "nist-ir-8425"):
        assert dirty_assessment.framework(fw).verdict is Verdict.FAIL
    unique = dirty_assessment.capability("unique-credentials")
    refs = {e.ref: e.paths for e in unique.evidence if e.bearing.value == "refutes"}
    assert refs["IW-FW-ACCOUNT-DEFAULT-PASSWORD"] == ("/etc/shadow",)
    assert refs["IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD"] == ("/etc/inittab",)
    # opkg is there, so the mechanism exists; it is the signature that is missing.
    assert dirty_assessment.capability("update-mechanism").result is Result.PARTIAL
    assert dirty_assessment.capability("secure-update").result is Result.FAIL
    # The first gap of each mandatory framework is a mandatory failure with a critical finding.
    first = dirty_assessment.framework("etsi-en-303-645-v2.1.1").gaps[0]
    assert (first.level.value, first.result, first.severity) == (
        "mandatory",
        Result.FAIL,
        first.severity,
    )
    assert first.severity is not None and first.severity.value == "critical"
    assert dirty_assessment.priorities[0].result is Result.FAIL


def test_the_clean_firmware_with_complete_declarations_passes_the_mandatory_requirements(
    catalogs: Catalogs, clean: FirmwareAnalysis
) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    result = assess(
        catalogs, firmware=FirmwareEvidence.from_analysis(clean), declarations=decl, today=TODAY
    )
    for fw in result.frameworks:
        assert fw.verdict is Verdict.PASS, (fw.framework, fw.summary)
        for r in fw.requirements:
            assert r.result in (Result.PASS, Result.NOT_APPLICABLE), r.ref
    cap = result.capability("secure-update")
    assert cap.basis.value == "observed+declared"
    assert any("signature verification in the image: opkg" in e.detail for e in cap.evidence)
    assert result.requirement("etsi-en-303-645-v2.1.1:5.1-1").result is Result.PASS


def test_the_same_firmware_declared_dirty_is_still_a_failure(
    catalogs: Catalogs, dirty: FirmwareAnalysis
) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    result = assess(
        catalogs, firmware=FirmwareEvidence.from_analysis(dirty), declarations=decl, today=TODAY
    )
    assert result.requirement("uk-psti:1").result is Result.FAIL
    assert result.requirement("uk-psti:2").result is Result.PASS  # declared contact
    assert result.requirement("uk-psti:3").result is Result.PASS
    assert result.framework("uk-psti").verdict is Verdict.FAIL


def test_a_saved_firmware_report_gives_the_same_assessment(
    catalogs: Catalogs, dirty: FirmwareAnalysis, dirty_assessment: Assessment, tmp_path: Path
) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(firmware_report.dumps(dirty), encoding="utf-8")
    again = assess(catalogs, firmware=load_firmware_report(saved), today=TODAY)
    assert [(c.capability, c.result) for c in again.capabilities] == [
        (c.capability, c.result) for c in dirty_assessment.capabilities
    ]
    assert again.to_dict()["summary"] == dirty_assessment.to_dict()["summary"]


def test_assessing_twice_gives_the_same_result(
    catalogs: Catalogs, dirty: FirmwareAnalysis, dirty_assessment: Assessment
) -> None:
    again = assess(
        catalogs, firmware=FirmwareEvidence.from_analysis(dirty), today=dt.date(2025, 6, 1)
    )
    assert again.to_dict() == dirty_assessment.to_dict()
