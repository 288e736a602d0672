"""Firmware findings as SARIF 2.1.0, validated against the official OASIS schema (bundled in
tests/firmware/schemas, see its README for the source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from iotwarden.firmware.model import Finding, Severity
from iotwarden.report.sarif import artifact_uri, dumps, to_sarif
from tests.firmware.test_sbom import sample_analysis

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def errors(validator: jsonschema.Draft4Validator, log: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_the_log_validates_against_the_official_schema(
    validator: jsonschema.Draft4Validator,
) -> None:
    log = json.loads(dumps(sample_analysis()))

    assert errors(validator, log) == []
    assert log["version"] == "2.1.0"


def test_the_schema_catches_a_broken_log(validator: jsonschema.Draft4Validator) -> None:
    log = to_sarif(sample_analysis())
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][1]["level"] = "critical"

    assert len(errors(validator, log)) == 2


def test_one_result_per_finding_one_rule_per_finding_id() -> None:
    analysis = sample_analysis()

    run = to_sarif(analysis)["runs"][0]

    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f.id for f in analysis.findings]
    results = run["results"]
    assert len(results) == len(analysis.findings)
    for result, finding in zip(results, analysis.findings, strict=True):
        assert result["ruleId"] == finding.id
        assert rules[result["ruleIndex"]]["id"] == finding.id
        assert result["properties"]["severity"] == finding.severity.value
        assert result["properties"]["capabilities"] == list(finding.capabilities)
        assert finding.title in result["message"]["text"]


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [
        (Severity.CRITICAL, "error", "9.5"),
        (Severity.HIGH, "error", "8.0"),
        (Severity.MEDIUM, "warning", "5.5"),
        (Severity.LOW, "note", "3.0"),
        (Severity.INFO, "note", "0.0"),
    ],
)
def test_severity_maps_to_level_and_security_severity(
    severity: Severity, level: str, score: str
) -> None:
    finding = Finding("IW-FW-TEST", "t", severity, "/etc/x", "e", "r", ("sbom",))

    run = to_sarif(sample_analysis(findings=(finding,)))["runs"][0]

    assert run["results"][0]["level"] == level
    assert run["results"][0]["properties"]["security-severity"] == score
    assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == score


def test_paths_become_relative_uris_against_the_root_file_system() -> None:
    run = to_sarif(sample_analysis())["runs"][0]

    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert {loc["uriBaseId"] for loc in locations} == {"ROOTFS"}
    uris = [loc["uri"] for loc in locations]
    assert uris == [
        "usr/lib/libcrypto.so.1.0.0",
        "etc/shadow",
        "usr/bin/my%20tool%231%3F%C3%A9",
        "./",  # an image-wide finding points at the root itself
    ]
    assert "ROOTFS" in run["originalUriBaseIds"]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/", "./"),
        ("/etc/passwd", "etc/passwd"),
        ("/a b/c%d", "a%20b/c%25d"),
        ("/c:/x", "c%3A/x"),  # not a scheme
        ("/www/cgi-bin/login?.cgi", "www/cgi-bin/login%3F.cgi"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


def test_extraction_and_analysis_problems_are_tool_notifications() -> None:
    run = to_sarif(sample_analysis())["runs"][0]

    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert notes == ["a warning from the extractor", "/etc/broken: cannot be read"]
    assert run["invocations"][0]["executionSuccessful"] is True


def test_the_image_is_the_analysis_target_with_its_hash() -> None:
    run = to_sarif(sample_analysis())["runs"][0]

    (artifact,) = run["artifacts"]
    assert artifact["location"]["uri"] == "r500-2.1.0.bin"
    assert artifact["hashes"] == {"sha-256": "ab" * 32}
    assert artifact["roles"] == ["analysisTarget"]


def test_fingerprints_are_stable_and_distinct() -> None:
    first = to_sarif(sample_analysis())["runs"][0]["results"]
    second = to_sarif(sample_analysis())["runs"][0]["results"]

    prints = [r["partialFingerprints"]["iotwardenFinding/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["iotwardenFinding/v1"] for r in second]
    assert len(set(prints)) == len(prints)
