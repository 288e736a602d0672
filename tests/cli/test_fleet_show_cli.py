"""`iotwarden fleet show VENDOR/PRODUCT@VERSION`: a build's components and the summary of its
latest firmware analysis (text and --json), a build without one, and bad references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotwarden.cli.app import app
from tests.firmware.test_analyze import SAMPLES, router_tree


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    ingested = runner.invoke(app, ["--db", url, "intel", "ingest", str(SAMPLES / "advisories")])
    assert ingested.exit_code == 0, ingested.stderr
    return url


def show(runner: CliRunner, db: str, *args: str) -> Any:
    return runner.invoke(app, ["--db", db, "fleet", "show", *args])


def test_an_analysed_build_shows_its_components_and_latest_findings(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    root = router_tree(tmp_path / "rootfs").root
    analysed = runner.invoke(
        app,
        ["--db", db, "firmware", "analyze", str(root), "--product", "Acme/R500",
         "--version", "2.1.0", "--json"],
    )  # fmt: skip
    assert analysed.exit_code == 0, analysed.stderr
    report = json.loads(analysed.stdout)

    data = json.loads(show(runner, db, "acme/r500@2.1.0", "--json").stdout)

    assert data["build"]["vendor"] == "Acme" and data["build"]["version"] == "2.1.0"
    assert [(c["name"], c["version"]) for c in data["components"]] == [
        ("busybox", "1.19.4"),
        ("dropbear", "2012.55"),
        ("openssl", "1.0.1e"),
    ]
    analysis = data["analysis"]
    assert analysis["analysed_at"] == report["analysed_at"]
    assert analysis["image"] == {"name": "rootfs", "sha256": None}
    assert analysis["known_vulnerabilities"]["advisories_checked"] is True
    assert [f["id"] for f in analysis["findings"]] == [f["id"] for f in report["findings"]]
    assert analysis["severity_counts"]["critical"] == 3

    text = show(runner, db, "Acme/R500@2.1.0")
    assert text.exit_code == 0, text.stderr
    out = " ".join(text.stdout.split())
    assert f"Latest analysis: rootfs at {report['analysed_at']}; findings: 3 critical" in out
    assert "IW-FW-KNOWN-VULN" in out and "openssl" in out


def test_a_build_without_an_analysis_says_how_to_get_one(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    inventory = tmp_path / "fleet.json"
    inventory.write_text(
        json.dumps(
            {
                "products": [{"vendor": "Acme", "product": "Cam"}],
                "firmware_builds": [
                    {"vendor": "Acme", "product": "Cam", "version": "2.0",
                     "release_date": "2024-05-01",
                     "components": [{"name": "busybox", "version": "1.36.1"}]}
                ],
            }
        )
    )  # fmt: skip
    assert runner.invoke(app, ["--db", db, "fleet", "import", str(inventory)]).exit_code == 0

    data = json.loads(show(runner, db, "Acme/Cam@2.0", "--json").stdout)
    text = " ".join(show(runner, db, "Acme/Cam@2.0").stdout.split())

    assert data["analysis"] is None
    assert data["build"]["release_date"] == "2024-05-01"
    assert "Acme/Cam@2.0 (released 2024-05-01)" in text
    assert "No firmware analysis is kept with this build" in text


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Acme/Cam@9.9", "no build Acme/Cam@9.9 in the inventory"),
        ("Acme", "build 'Acme': expected VENDOR/PRODUCT@VERSION"),
    ],
)
def test_a_bad_reference_exits_1_naming_it(
    runner: CliRunner, db: str, ref: str, message: str
) -> None:
    result = show(runner, db, ref)
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
