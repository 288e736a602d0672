"""The Heartbleed response from the command line: fleet import, exposure, situation,
alerts (and ingest --alert), outreach, and the demo's files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotwarden.cli.app import app
from iotwarden.cli.demo import samples_dir
from iotwarden.fleet.sample import generate_world
from iotwarden.report.response import response_html


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def world(runner: CliRunner, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = runner.invoke(app, ["--db", url, "fleet", "import", str(samples_dir("fleet"))])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["--db", url, "intel", "ingest", str(samples_dir())])
    assert result.exit_code == 0, result.output
    return url


def run_json(runner: CliRunner, url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--db", url, *args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_exposure_json_ranks_and_explains(runner: CliRunner, world: str) -> None:
    data = run_json(runner, world, "exposure", "CVE-2014-0160", "--devices", "3")
    assert data["devices"] == 19
    top = data["priorities"][0]
    assert top["band"] == "P1"
    assert top["group"]["internet_exposed"] is True
    assert top["group"]["sector"] == "energy"
    builds = {f"{b['product']['name']} {b['version']}": b for b in data["builds"]}
    assert builds["ExGate 100 4.2.0"]["fixed_versions"] == ["V4.3.0", "1.0.1g"]
    assert [d["device_id"] for d in data["exposed_devices"]] == [
        "grid-0000",
        "grid-0003",
        "home-0003",
    ]


def test_situation_json(runner: CliRunner, world: str) -> None:
    data = run_json(runner, world, "situation", "CVE-2014-0160")
    assert data["total"]["devices"] == 19
    assert data["by_sector"]["health"]["possibly_affected"] == 5


def test_situation_of_every_vulnerability_with_history(runner: CliRunner, world: str) -> None:
    data = run_json(runner, world, "situation")
    first = data["vulnerabilities"][0]
    assert (first["name"], first["devices"], first["on_kev"]) == ("CVE-2014-0160", 19, True)
    assert data["exposed_devices"] >= 19
    assert len(data["history"]) == 1
    result = runner.invoke(app, ["--db", world, "situation", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "CVE-2014-0160" in result.output
    assert "Over time (recorded pictures)" in result.output  # the second picture
    unrecorded = run_json(runner, world, "situation", "--no-record")
    assert len(unrecorded["history"]) == 3  # two recorded, plus this one shown unrecorded


def test_alerts_written_in_three_formats(runner: CliRunner, world: str, tmp_path: Path) -> None:
    out = tmp_path / "alerts"
    result = runner.invoke(app, ["--db", world, "alerts", "CVE-2014-0160", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert "cve-2014-0160-owner-north-grid.html" in names
    assert len(names) == 6 * 3  # 3 owners and 3 vendors, json + md + html
    north = json.loads((out / "cve-2014-0160-owner-north-grid.json").read_text())
    assert north["priority"]["band"] == "P1"
    assert (
        "Apply updates per vendor instructions."
        in (out / "cve-2014-0160-owner-north-grid.md").read_text()
    )


def test_ingest_alert_only_for_what_changed(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert (
        runner.invoke(app, ["--db", url, "fleet", "import", str(samples_dir("fleet"))]).exit_code
        == 0
    )
    out = tmp_path / "alerts"
    first = runner.invoke(
        app, ["--db", url, "intel", "ingest", str(samples_dir()), "--alert", str(out)]
    )
    assert first.exit_code == 0, first.output
    assert len(list(out.iterdir())) == 18
    again = runner.invoke(
        app, ["--db", url, "intel", "ingest", str(samples_dir()), "--alert", str(out)]
    )
    assert again.exit_code == 0
    assert "no alert" in again.stdout


def test_outreach_moves_and_errors(runner: CliRunner, world: str) -> None:
    moved = run_json(
        runner,
        world,
        "outreach",
        "CVE-2014-0160",
        "--set",
        "North Grid",
        "--status",
        "notified",
        "--by",
        "alice",
        "--history",
    )
    north = next(i for i in moved["outreach"] if i["recipient"] == "North Grid")
    assert north["status"] == "notified"
    assert moved["history"][0]["by"] == "alice"
    bad = runner.invoke(
        app, ["--db", world, "outreach", "CVE-2014-0160", "--set", "North Grid", "--status", "new"]
    )
    assert bad.exit_code != 0
    assert "cannot go from notified to new" in str(bad.exception)


def test_fleet_import_reports_and_stores_nothing_on_errors(
    runner: CliRunner, tmp_path: Path
) -> None:
    devices = tmp_path / "devices.csv"
    devices.write_text("device_id,vendor,product\nd-1,Nobody,Box\n")
    url = f"sqlite:///{tmp_path / 'f.db'}"
    result = runner.invoke(app, ["--db", url, "fleet", "import", str(devices), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["stored"] is False
    assert data["problems"][0]["where"] == "line 2"
    assert "product Nobody Box is unknown" in data["problems"][0]["message"]


def test_demo_writes_the_world_alerts_and_report(runner: CliRunner, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--workdir", str(workdir), "--devices", "500", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["fleet"]["records"]["devices"] == 500
    assert data["situation"]["total"]["devices"] > 0
    report = (workdir / "heartbleed-response.html").read_text()
    assert "Response to CVE-2014-0160" in report
    assert 'href="alerts/cve-2014-0160-owner-' in report
    assert (workdir / "alerts").is_dir()


def test_demo_with_a_relative_workdir(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--devices", "50"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert (tmp_path / "iotwarden-demo" / "heartbleed-response.html").is_file()


def test_sample_world_is_deterministic_and_sized() -> None:
    world = generate_world(1200, seed=7)
    assert len(world["devices"]) == 1200
    assert world == generate_world(1200, seed=7)
    sectors = {p["sector"] for p in world["products"]}
    assert {"energy", "health", "water", "consumer"} <= sectors


def test_response_report_escapes_inventory_values() -> None:
    from iotwarden.exposure.situation import Situation, Tally

    picture = Situation("CVE-1", ["CVE-1"], True, 0.5, 9.8)
    picture.total = Tally(devices=1, affected=1)
    picture.by_owner = {"<script>alert(1)</script>": Tally(devices=1)}
    page = response_html(picture, [], {})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
