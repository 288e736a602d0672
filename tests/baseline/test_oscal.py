"""OSCAL exports validated against NIST's official OSCAL 1.2.3 JSON schema (bundled, see
schemas/SOURCE.md): every framework catalog, the capabilities catalog, the crosswalk as a
mapping collection, and an assessment as assessment results."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, ValidationError, validators

from iotwarden.baseline import Catalogs, load_catalogs
from iotwarden.baseline.assess import Assessment, assess
from iotwarden.baseline.declarations import parse_declarations
from iotwarden.baseline.oscal import (
    CAPABILITIES_FILE,
    all_documents,
    assessment_results,
    control_id,
    framework_catalog,
    mapping_collection,
    token,
)
from tests.baseline.test_assess import TODAY, complete_declarations, finding, firmware

SCHEMA = Path(__file__).parent / "schemas" / "oscal_complete_schema.json"
SCHEMA_SHA256 = "384324105c7a817af0f65b120a963146caa0e0d55d969cf0daf60e063b87a206"
WHEN = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """JSON Schema 'pattern' with the XML Schema classes \\p{L} and \\p{N}, which Python's re
    lacks, rewritten (see schemas/SOURCE.md)."""
    if not isinstance(instance, str):
        return
    translated = pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")
    if not re.search(translated, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def oscal_validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = validators.extend(Draft7Validator, {"pattern": _pattern})
    return cls(schema)  # type: ignore[no-any-return]


def errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in oscal_validator().iter_errors(document)
    ]


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


@pytest.fixture(scope="module")
def assessment(catalogs: Catalogs) -> Assessment:
    decl = parse_declarations(
        complete_declarations(catalogs, **{"logging.security_events": None}), catalogs, today=TODAY
    )
    mirai = finding("IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("unique-credentials",))
    return assess(catalogs, firmware=firmware(mirai), declarations=decl, today=TODAY)


def test_the_bundled_schema_is_the_official_release_file() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_the_validator_rejects_what_the_schema_forbids(catalogs: Catalogs) -> None:
    doc = framework_catalog(catalogs.framework("uk-psti"), when=WHEN)
    assert errors(doc) == []
    # A published id is not an OSCAL token: that is why controls are named req-...
    doc["catalog"]["controls"][0]["id"] = "1"
    assert errors(doc), "a control id must be a token"
    doc["catalog"]["controls"][0]["id"] = "req-1"
    del doc["catalog"]["metadata"]["oscal-version"]
    assert errors(doc), "metadata needs oscal-version"


def test_every_document_validates(catalogs: Catalogs, assessment: Assessment) -> None:
    docs = all_documents(assessment, catalogs, when=WHEN)
    assert set(docs) == {
        *(f"catalog-{fw.id}.json" for fw in catalogs.frameworks),
        CAPABILITIES_FILE,
        "mapping-crosswalk.json",
        "assessment-results.json",
    }
    for name, doc in docs.items():
        assert errors(doc) == [], name


def test_a_framework_catalog_keeps_ids_levels_and_conditions(catalogs: Catalogs) -> None:
    doc = framework_catalog(catalogs.framework("etsi-en-303-645-v2.1.1"), when=WHEN)["catalog"]
    group = next(g for g in doc["groups"] if g["id"] == "grp-5.1")
    control = next(c for c in group["controls"] if c["id"] == "req-5.1-1")
    props = {(p["name"], p["value"]) for p in control["props"]}
    assert ("label", "5.1-1") in props
    assert ("level", "mandatory") in props
    assert ("condition-fact", "uses-passwords=true") in props
    assert control["parts"][0]["name"] == "statement"
    assert sum(len(g["controls"]) for g in doc["groups"]) == 68
    assert doc["metadata"]["oscal-version"] == "1.2.3"
    assert doc["back-matter"]["resources"][0]["rlinks"][0]["href"].startswith(
        "https://www.etsi.org"
    )


def test_the_mapping_uses_the_nist_ir_8477_relationships(catalogs: Catalogs) -> None:
    doc = mapping_collection(catalogs, when=WHEN)["mapping-collection"]
    psti = next(
        m for m in doc["mappings"] if m["source-resource"]["href"] == "catalog-uk-psti.json"
    )
    assert psti["target-resource"]["href"] == CAPABILITIES_FILE
    assert [
        (m["sources"][0]["id-ref"], m["relationship"], m["targets"][0]["id-ref"])
        for m in psti["maps"]
    ] == [
        ("req-1", "equivalent-to", "unique-credentials"),
        ("req-2", "equivalent-to", "vulnerability-disclosure"),
        ("req-3", "equivalent-to", "defined-support-period"),
    ]
    relationships = {m["relationship"] for mapping in doc["mappings"] for m in mapping["maps"]}
    assert relationships <= {"equivalent-to", "subset-of", "superset-of", "intersects-with"}
    unverified = next(m for m in doc["mappings"] if "v3.1.3" in m["source-resource"]["href"])
    assert unverified["status"] == "draft"


def test_assessment_results_carry_each_requirement_result(
    catalogs: Catalogs, assessment: Assessment
) -> None:
    doc = assessment_results(assessment, catalogs, when=WHEN)["assessment-results"]
    etsi = next(r for r in doc["results"] if "ETSI EN 303 645 V2.1.1" in r["title"])
    findings = {f["target"]["target-id"]: f for f in etsi["findings"]}
    failed = findings["req-5.1-1"]["target"]["status"]
    assert failed == {"state": "not-satisfied", "reason": "fail"}
    assert findings["req-5.2-1"]["target"]["status"] == {"state": "satisfied", "reason": "pass"}
    assert "req-5.10-1" not in findings  # 5.10-1 does not apply: no telemetry declared
    excluded = etsi["reviewed-controls"]["control-selections"][0]["exclude-controls"]
    assert {"control-id": "req-5.10-1"} in excluded
    observations = {o["uuid"]: o for o in etsi["observations"]}
    related = findings["req-5.1-1"]["related-observations"][0]["observation-uuid"]
    evidence = observations[related]["relevant-evidence"]
    assert any("IW-FW-ACCOUNT-DEFAULT-PASSWORD" in e["description"] for e in evidence)
    assert observations[related]["methods"] == ["TEST", "INTERVIEW"]
    verdict = {p["name"]: p["value"] for p in etsi["props"]}["verdict"]
    assert verdict == "fail"


def test_exports_are_deterministic(catalogs: Catalogs, assessment: Assessment) -> None:
    first = all_documents(assessment, catalogs, when=WHEN)
    second = all_documents(assessment, catalogs, when=WHEN)
    assert first == second


def test_tokens_are_valid_for_any_published_id() -> None:
    assert control_id("5.1-1") == "req-5.1-1"
    assert control_id("I.2.b") == "req-I.2.b"
    assert token("1a") == "_1a"
    assert token("a b/c") == "a_b_c"
