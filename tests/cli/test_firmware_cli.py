"""`iotwarden firmware analyze` end to end with typer's CliRunner on a temporary SQLite store:
the JSON report for machines, the report files, the exit statuses, and the build the
exposure engine covers afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from iotwarden.cli.app import app
from iotwarden.cli.demo import samples_dir
from tests.firmware.images import squashfs
from tests.firmware.test_analyze import router_tree

SARIF_SCHEMA = Path(__file__).parents[1] / "firmware" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(autouse=True)
def _no_user_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets --db must never touch the user's real store."""
    monkeypatch.setenv("IOTWARDEN_DB", f"sqlite:///{tmp_path / 'env-default.db'}")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return router_tree(tmp_path / "rootfs").root


def run(runner: CliRunner, db_url: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db_url, *args])


def analyze_json(runner: CliRunner, db_url: str, *args: str) -> Any:
    result = run(runner, db_url, "firmware", "analyze", *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def test_json_report_has_the_documented_shape(runner: CliRunner, db_url: str, tree: Path) -> None:
    report = analyze_json(runner, db_url, str(tree))

    assert {
        "image",
        "rootfs",
        "extraction",
        "hardening",
        "files",
        "timings",
        "components",
        "findings",
    } <= set(report)
    assert set(report["extraction"]) >= {"steps", "problems"}
    assert set(report["files"]) >= {"total", "analysed", "reused"}
    openssl = next(c for c in report["components"] if c["name"] == "openssl")
    assert set(openssl) >= {"name", "version", "purl", "cpe", "confidence", "evidence"}
    assert openssl["version"] == "1.0.1e"
    assert openssl["cpe"].startswith("cpe:2.3:a:openssl:openssl:1.0.1e:")
    assert {e["path"] for e in openssl["evidence"]} == {
        "/usr/lib/libcrypto.so.1.0.0",
        "/usr/lib/libssl.so.1.0.0",
    }
    keys = {"id", "title", "severity", "path", "evidence", "remediation", "capabilities"}
    assert all(keys <= set(f) for f in report["findings"])
    default_password = next(
        f for f in report["findings"] if f["id"] == "IW-FW-ACCOUNT-DEFAULT-PASSWORD"
    )
    assert (default_password["severity"], default_password["path"]) == ("critical", "/etc/shadow")
    assert report["stored"] is False
    assert report["files"]["analysed"] == 7


def test_analysing_again_reuses_the_cache(runner: CliRunner, db_url: str, tree: Path) -> None:
    analyze_json(runner, db_url, str(tree))

    again = analyze_json(runner, db_url, str(tree))

    assert (again["files"]["analysed"], again["files"]["reused"]) == (0, 7)


def test_after_analysis_and_an_advisory_the_exposure_command_lists_the_build(
    runner: CliRunner, db_url: str, tmp_path: Path, tree: Path
) -> None:
    image = squashfs(tree, tmp_path / "r500.sqsh")
    report = analyze_json(
        runner, db_url, str(image), "--product", "Acme/R500", "--version", "2.1.0"
    )
    assert report["stored"] is True
    assert report["build"] == {"vendor": "Acme", "product": "R500", "version": "2.1.0"}
    ingested = run(runner, db_url, "intel", "ingest", str(samples_dir()), "--json")
    assert ingested.exit_code == 0, ingested.stdout

    result = run(runner, db_url, "exposure", "CVE-2014-0160", "--json")

    assert result.exit_code == 0, result.stderr
    builds = json.loads(result.stdout)["builds"]
    assert [(b["product"]["vendor"], b["product"]["name"], b["version"]) for b in builds] == [
        ("Acme", "R500", "2.1.0")
    ]


def test_known_vulnerabilities_are_findings_once_advisories_are_in(
    runner: CliRunner, db_url: str, tree: Path
) -> None:
    assert run(runner, db_url, "intel", "ingest", str(samples_dir())).exit_code == 0

    report = analyze_json(runner, db_url, str(tree), "--no-store")

    known = [f for f in report["findings"] if f["id"] == "IW-FW-KNOWN-VULN"]
    assert [(f["severity"], f["details"]["vulnerability"]) for f in known] == [
        ("critical", "CVE-2014-0160")
    ]
    assert report["known_vulnerabilities"]["advisories_checked"] is True
    stats = run(runner, db_url, "fleet", "stats", "--json")
    assert json.loads(stats.stdout)["counts"]["firmware_builds"] == 0


def test_out_writes_every_report(
    runner: CliRunner, db_url: str, tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"

    result = run(runner, db_url, "firmware", "analyze", str(tree), "--out", str(out))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "report.html",
        "report.json",
        "report.sarif",
        "sbom.cdx.json",
        "sbom.spdx.json",
    ]
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    rule_ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "IW-FW-ACCOUNT-DEFAULT-PASSWORD" in rule_ids
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Account &#x27;root&#x27; has the default password" in page
    assert "<script" not in page
    cdx = json.loads((out / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in cdx["components"]} >= {"openssl", "busybox"}
    assert "wrote" in result.stdout


def test_sarif_and_html_files_and_one_sbom_format(
    runner: CliRunner, db_url: str, tree: Path, tmp_path: Path
) -> None:
    sarif, page, out = tmp_path / "x.sarif", tmp_path / "x.html", tmp_path / "o"

    result = run(
        runner,
        db_url,
        "firmware",
        "analyze",
        str(tree),
        "--sarif",
        str(sarif),
        "--html",
        str(page),
        "--out",
        str(out),
        "--sbom",
        "spdx",
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (out / "sbom.cdx.json").exists()
    assert json.loads((out / "sbom.spdx.json").read_text(encoding="utf-8"))["spdxVersion"] == (
        "SPDX-2.3"
    )


def test_sbom_without_out_goes_to_standard_output(
    runner: CliRunner, db_url: str, tree: Path
) -> None:
    result = run(runner, db_url, "firmware", "analyze", str(tree), "--sbom", "cyclonedx")

    assert result.exit_code == 0, result.stderr
    bom = json.loads(result.stdout)
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.6"


def test_the_human_summary_names_components_findings_and_cache_use(
    runner: CliRunner, db_url: str, tree: Path
) -> None:
    result = run(runner, db_url, "firmware", "analyze", str(tree))

    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "7 analysed, 0 reused from the cache" in text
    assert "openssl" in text and "1.0.1e" in text
    assert "IW-FW-ACCOUNT-DEFAULT-PASSWORD" in text
    assert "Known vulnerabilities not checked" in text
    assert "Not recorded in the inventory" in text


def test_a_missing_image_exits_1_with_a_clear_message(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    result = run(runner, db_url, "firmware", "analyze", str(tmp_path / "gone.bin"))

    assert result.exit_code == 1
    assert "gone.bin: no such file or folder" in " ".join(result.stderr.split())


def test_nothing_extractable_exits_1_naming_the_input(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(32 * 1024))

    result = run(runner, db_url, "firmware", "analyze", str(noise), "--json")

    assert result.exit_code == 1
    assert "noise.bin" in " ".join(result.stderr.split())
    assert result.stdout == ""


def test_a_product_without_a_version_is_a_usage_error(
    runner: CliRunner, db_url: str, tree: Path
) -> None:
    result = run(runner, db_url, "firmware", "analyze", str(tree), "--product", "Acme/R500")

    assert result.exit_code == 2
    assert "--version" in result.stderr


def test_a_product_must_name_vendor_and_product(runner: CliRunner, db_url: str, tree: Path) -> None:
    result = run(
        runner, db_url, "firmware", "analyze", str(tree), "--product", "R500", "--version", "1"
    )

    assert result.exit_code == 2
    assert "VENDOR/NAME" in result.stderr


def test_a_second_analysis_of_the_same_image_says_it_was_reused(tmp_path: Path) -> None:
    """The stored analysis of an unchanged image is reused: the JSON says so and when, and the
    text tells the reader known vulnerabilities were checked again."""
    from tests.firmware import images

    root = images.make_rootfs(tmp_path / "root")
    image = images.squashfs(root, tmp_path / "fw.sqfs", compression="gzip")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["--db", db, "firmware", "analyze", str(image), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["reused_image"] is False
    second = runner.invoke(app, ["--db", db, "firmware", "analyze", str(image), "--json"])
    report = json.loads(second.stdout)
    assert report["reused_image"] is True and report["reused_from"]
    assert report["files"]["analysed"] == 0
    text = runner.invoke(app, ["--db", db, "firmware", "analyze", str(image)])
    assert "Reused the stored analysis of this image" in text.output
