"""The bundled sample advisories are valid documents of their formats: checked against the
official JSON schemas in ../shared/data/schemas (OSV, CSAF 2.0 with the CVSS schemas it
references, CISA KEV)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from iotwarden.cli.demo import samples_dir


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def schemas(shared_data: Path) -> Path:
    return shared_data / "schemas"


def _errors(validator: Any, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def test_osv_sample_is_schema_valid(schemas: Path) -> None:
    validator = Draft202012Validator(_load(schemas / "osv.json"))
    assert _errors(validator, _load(samples_dir() / "DSA-2896-1.osv.json")) == []


def test_csaf_sample_is_schema_valid(schemas: Path) -> None:
    # CSAF 2.0 refers to FIRST's CVSS schemas by URL; serve them from the local copies.
    registry: Registry[Any] = Registry()
    for version, spec in (("2.0", DRAFT4), ("3.0", DRAFT4), ("3.1", DRAFT7)):
        resource = Resource(contents=_load(schemas / f"cvss-v{version}.json"), specification=spec)
        registry = registry.with_resource(
            f"https://www.first.org/cvss/cvss-v{version}.json", resource
        )
    validator = Draft202012Validator(_load(schemas / "csaf_2.0.json"), registry=registry)
    assert _errors(validator, _load(samples_dir() / "exg-2014-001.csaf.json")) == []


def test_kev_sample_is_schema_valid(schemas: Path) -> None:
    validator = Draft7Validator(_load(schemas / "kev.json"))
    assert _errors(validator, _load(samples_dir() / "known_exploited_vulnerabilities.json")) == []
