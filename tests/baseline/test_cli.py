"""`iotwarden baseline list|show|crosswalk` driven through typer's CliRunner."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from iotwarden.cli.app import app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["baseline", *args])


def run_json(runner: CliRunner, *args: str) -> Any:
    result = run(runner, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_list_json_counts(runner: CliRunner) -> None:
    data = run_json(runner, "list")
    counts = {f["id"]: f["counts"]["requirements"] for f in data["frameworks"]}
    assert counts["etsi-en-303-645-v2.1.1"] == 68
    assert counts["uk-psti"] == 3
    assert counts["eu-cra"] == 22
    v3 = next(f for f in data["frameworks"] if f["id"] == "etsi-en-303-645-v3.1.3")
    assert v3["aliases"] == ["etsi-en-303-645"]
    assert v3["verification"]["verified"] is False


def test_list_table(runner: CliRunner) -> None:
    result = run(runner, "list")
    assert result.exit_code == 0
    assert "etsi-en-303-645-v2.1.1" in result.stdout
    assert "43 harmonised capabilities" in result.stdout


def test_show_framework(runner: CliRunner) -> None:
    data = run_json(runner, "show", "uk-psti")
    assert [r["id"] for r in data["requirements"]] == ["1", "2", "3"]
    assert data["deemed_compliance"][0]["routes"][0]["requirements"] == ["5.1-1", "5.1-2"]
    result = run(runner, "show", "uk-psti")
    assert result.exit_code == 0
    assert "Deemed compliance (Schedule 2, paragraph 1)" in result.stdout
    assert "etsi-en-303-645-v2.1.1 5.1-1, 5.1-2" in result.stdout


def test_show_etsi_table_groups_and_conditions(runner: CliRunner) -> None:
    result = run(runner, "show", "etsi-en-303-645")
    assert result.exit_code == 0
    assert "NOT verified" in result.stdout
    assert "5.1 No universal" in result.stdout
    assert "Where passwords" in result.stdout


def test_show_capability(runner: CliRunner) -> None:
    data = run_json(runner, "show", "defined-support-period")
    assert data["evidence"]["declarations"][0]["key"] == "support_period.end_date"
    assert "uk-psti:3" in {r["ref"] for r in data["requirements"]}
    result = run(runner, "show", "exploit-mitigations")
    assert "IW-FW-ELF-*" in result.stdout


def test_show_all_capabilities(runner: CliRunner) -> None:
    data = run_json(runner, "show", "capabilities")
    assert len(data["capabilities"]) == 43
    assert "uses-passwords" in {f["id"] for f in data["facts"]}


def test_show_one_requirement(runner: CliRunner) -> None:
    data = run_json(runner, "show", "eu-cra:I.2.l")
    assert data["section"] == "Annex I, Part I (2)(l)"
    assert data["capabilities"][0] == {"capability": "security-logging",
                                       "relationship": "equivalent"}  # fmt: skip


def test_crosswalk_requirement(runner: CliRunner) -> None:
    data = run_json(runner, "crosswalk", "etsi-en-303-645:5.1-1")
    assert data["requirement"]["ref"] == "etsi-en-303-645-v3.1.3:5.1-1"
    assert data["frameworks"]["uk-psti"] == ["1"]
    assert set(data["frameworks"]["eu-cra"]) == {"I.2.b", "I.2.d"}
    result = run(runner, "crosswalk", "etsi-en-303-645:5.1-1")
    assert result.exit_code == 0
    assert "unique-credentials" in result.stdout
    assert "uk-psti" in result.stdout
    assert "Corresponds to 8 requirements in 6 other frameworks." in result.stdout


def test_crosswalk_capability(runner: CliRunner) -> None:
    data = run_json(runner, "crosswalk", "sbom")
    assert {"eu-cra:II.1", "dhs-iot-principles:5.3"} <= {r["ref"] for r in data["requirements"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("crosswalk", "etsi:5.1-1"), "no framework 'etsi'"),
        (("crosswalk", "etsi-en-303-645:5.99-1"), "has no requirement '5.99-1'"),
        (("crosswalk", "not-a-capability"), "is not a capability"),
        (("show", "nothing"), "is neither a framework nor a capability"),
    ],
)
def test_errors_exit_1_with_a_message(
    runner: CliRunner, args: tuple[str, ...], message: str
) -> None:
    result = run(runner, *args)
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", " ")
