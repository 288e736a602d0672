"""`iotwarden demo`, its second act: the bundled firmware of a build of the generated world is
analysed and recorded, the exposure engine covers the build from it, and the build is assessed
with the bundled declarations; every output file is written under WORKDIR.

(The Heartbleed response itself is tested in test_cli.py and test_response_cli.py.)"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from iotwarden.cli import demo as demo_module
from iotwarden.cli.app import app

HEARTBLEED = "CVE-2014-0160"
BUILD = "'Medico/InfuPump 3@7.1'"


@dataclass(frozen=True)
class DemoRun:
    workdir: Path
    data: dict[str, Any]


@pytest.fixture(autouse=True)
def _no_user_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets --db must never touch the user's real store."""
    monkeypatch.setenv("IOTWARDEN_DB", f"sqlite:///{tmp_path / 'env-default.db'}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One default demo (3,000 devices) with --json, shared by the tests that read it."""
    workdir = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir), "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return DemoRun(workdir, json.loads(result.stdout))


def test_firmware_components_and_findings(run: DemoRun) -> None:
    fw = run.data["firmware"]
    assert fw["build"] == {"vendor": "Medico", "product": "InfuPump 3", "version": "7.1"}
    assert fw["stored"] is True
    assert {(c["name"], c["version"]) for c in fw["components"]} == {
        ("busybox", "1.19.4"),
        ("dropbear", "2012.55"),
        ("openssl", "1.0.1e"),
        ("dnsmasq", "2.78"),
    }
    by_id = {f["id"]: f for f in fw["findings"]}
    password = by_id["IW-FW-ACCOUNT-DEFAULT-PASSWORD"]
    assert password["severity"] == "critical"
    assert password["path"] == "/etc/shadow"
    assert "'root'" in password["title"] and "xc3511" in password["title"]
    assert by_id["IW-FW-SERVICE-TELNET-NO-LOGIN"]["path"] == "/etc/inittab"
    assert fw["severity_counts"]["critical"] == 3

    [heartbleed] = fw["known_vulnerability"]
    assert heartbleed["id"] == "IW-FW-KNOWN-VULN"
    assert heartbleed["path"] == "/usr/lib/opkg/status"
    details = heartbleed["details"]
    assert details["vulnerability"] == HEARTBLEED
    assert details["matched"] == ["openssl 1.0.1e"]
    assert details["fixed_versions"] == ["1.0.1g"]
    assert details["kev"] is True


def test_the_build_goes_from_possibly_affected_to_affected(run: DemoRun) -> None:
    exposure = run.data["firmware"]["exposure"]
    assert exposure["query"] == HEARTBLEED
    before, after = exposure["before"], exposure["after"]
    # The inventory lists OpenSSL without a version; the firmware says 1.0.1e.
    assert before["status"] == "possibly_affected"
    assert any("openssl (version unknown)" in why for why in before["why"])
    assert after["status"] == "affected"
    assert after["why"] == [
        "openssl 1.0.1e in vers:generic/>=1.0.1|<1.0.1g (cpe, nvd:CVE-2014-0160)"
    ]
    assert after["devices"] == before["devices"] == 143
    assert exposure["owners"] == ["City Clinic Group", "Riverside Care", "St Mary Hospital"]
    # The first act's response is from before the analysis: the same build, still possibly.
    [first] = [
        b
        for b in run.data["exposure"]["builds"]
        if b["product"]["name"] == "InfuPump 3" and b["version"] == "7.1"
    ]
    assert first["status"] == "possibly_affected"


def test_assessment_verdicts(run: DemoRun) -> None:
    assessment = run.data["assessment"]
    assert assessment["subject"] == "Medico InfuPump 3 7.1"
    assert assessment["assessed_on"] == "2025-08-25"
    assert assessment["summary"] == {
        "etsi-en-303-645-v3.1.3": "fail",
        "eu-cra": "fail",
        "uk-psti": "fail",
    }
    psti = next(f for f in assessment["frameworks"] if f["framework"] == "uk-psti")
    assert psti["counts"]["mandatory"]["fail"] == 1
    # The one PSTI failure is the default password, whatever the declarations claim.
    full = json.loads((run.workdir / "assessment" / "assessment.json").read_text())
    passwords = next(
        r
        for f in full["frameworks"]
        if f["framework"] == "uk-psti"
        for r in f["requirements"]
        if r["id"] == "1"
    )
    assert passwords["result"] == "fail"
    unique = next(c for c in full["capabilities"] if c["capability"] == "unique-credentials")
    assert "refuted by IW-FW-ACCOUNT-DEFAULT-PASSWORD" in unique["reason"]
    assert "despite the declaration of credentials.unique_per_device" in unique["reason"]
    # Assessed as of a fixed day: the declared support period has not ended, whatever the date.
    support = full["inputs"]["declarations"]["answers"]["support_period.end_date"]
    assert (support["status"], support["value"]) == ("affirmed", "2030-12-31")
    period = next(c for c in full["capabilities"] if c["capability"] == "defined-support-period")
    assert period["result"] == "pass"


def test_files_written(run: DemoRun) -> None:
    fw_dir, as_dir = run.workdir / "firmware", run.workdir / "assessment"
    assert run.data["firmware"]["files"] == [
        str(fw_dir / name) for name in ("sbom.cdx.json", "report.sarif", "report.html")
    ]
    sbom = json.loads((fw_dir / "sbom.cdx.json").read_text())
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")
    subject = sbom["metadata"]["component"]
    assert (subject["supplier"]["name"], subject["name"], subject["version"]) == (
        "Medico",
        "InfuPump 3",
        "7.1",
    )
    assert {"purl": "pkg:generic/openssl@1.0.1e"}.items() <= next(
        c for c in sbom["components"] if c["name"] == "openssl"
    ).items()
    sarif = json.loads((fw_dir / "report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"IW-FW-ACCOUNT-DEFAULT-PASSWORD", "IW-FW-KNOWN-VULN"} <= rules
    assert "xc3511" in (fw_dir / "report.html").read_text()

    written = {str(Path(p).relative_to(as_dir)) for p in run.data["assessment"]["files"]}
    assert {"conformity.html", "label.svg", "label.html", "assessment.json"} <= written
    assert {
        "oscal/catalog-uk-psti.json",
        "oscal/catalog-eu-cra.json",
        "oscal/catalog-etsi-en-303-645-v3.1.3.json",
        "oscal/assessment-results.json",
    } <= written
    assert all((as_dir / name).is_file() for name in written)
    assert "InfuPump 3" in (as_dir / "conformity.html").read_text()
    label = (as_dir / "label.svg").read_text()
    assert label.startswith("<svg") and "Medico InfuPump 3" in label
    results = json.loads((as_dir / "oscal" / "assessment-results.json").read_text())
    assert "assessment-results" in results
    # The user's copy of the declarations, for the assess command the demo suggests.
    copy = yaml.safe_load((run.workdir / "declarations.yaml").read_text())
    assert copy["subject"] == {"manufacturer": "Medico", "product": "InfuPump 3", "version": "7.1"}


def test_the_stored_build_is_assessed_the_same_later(run: DemoRun) -> None:
    """The loop is closed: the build keeps its analysis in the demo store, and the assess
    command the demo suggests gives the same verdicts from it."""
    result = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{run.workdir / 'demo.db'}",
            "assess",
            "--firmware",
            BUILD.strip("'"),
            "--declarations",
            str(run.workdir / "declarations.yaml"),
            "--today",
            "2025-08-25",
            *("-f", "etsi-en-303-645", "-f", "uk-psti", "-f", "eu-cra"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assessed = json.loads(result.stdout)
    assert assessed["summary"] == run.data["assessment"]["summary"]
    assert assessed["inputs"]["firmware"]["build"] == "Medico/InfuPump 3@7.1"
    assert assessed["inputs"]["firmware"]["findings"] == 7


def test_human_output_tells_the_second_act(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir)])
    assert result.exit_code == 0, (result.output, result.exception)
    out = " ".join(result.stdout.split())  # the console wraps long lines
    assert "Firmware analysis: infupump3-7.1-rootfs" in out
    assert "Account 'root' has the default password 'xc3511'" in out
    assert (
        f"{HEARTBLEED}: openssl 1.0.1e in /usr/lib/opkg/status is affected (CVSS 7.5, on "
        "CISA KEV, EPSS 0.94358); fixed in 1.0.1g." in out
    )
    assert (
        f"Exposure to {HEARTBLEED} now matches Medico InfuPump 3 7.1 by its firmware: affected "
        "(was possibly affected from the inventory): 143 devices (7 on the internet) at City "
        "Clinic Group, Riverside Care, St Mary Hospital." in out
    )
    assert "Conformity: Medico InfuPump 3 7.1" in out
    assert "UK PSTI Regulations 2023 │ fail" in out
    assert "Fix first #1:" in out
    assert f"sbom.cdx.json, report.sarif, report.html in {workdir / 'firmware'}" in out
    assert (
        "conformity.html, label.svg, label.html, assessment.json and 6 OSCAL documents in "
        f"oscal/ in {workdir / 'assessment'}" in out
    )
    assert f"fleet show {BUILD}" in out
    assert f"assess --firmware {BUILD} --declarations {workdir / 'declarations.yaml'}" in out


def test_a_world_without_devices_on_the_build(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path / "d"), "--devices", "1"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = " ".join(result.stdout.split())
    assert (
        "now matches Medico InfuPump 3 7.1 by its firmware: affected (was possibly affected "
        "from the inventory); no device in this world runs it" in out
    )


def test_a_missing_sample_fails_after_the_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_module, "SAMPLE_ROOTFS", "no-such-rootfs")
    workdir = tmp_path / "d"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir), "--devices", "20"])
    assert result.exit_code == 1
    assert "the firmware and conformity part of the demo failed" in result.stderr
    assert "no-such-rootfs: no such file or folder" in " ".join(result.stderr.split())
    # The Heartbleed response stands.
    assert (workdir / "heartbleed-response.html").is_file()
    assert HEARTBLEED in result.stdout
