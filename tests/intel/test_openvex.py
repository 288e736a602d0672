"""OpenVEX parser: inline documents in the shape of the OpenVEX v0.2.0 specification's
examples (no public OpenVEX document is among the shared reference data), their edge cases and
malformed input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AffectedStatus,
    Constraint,
    RangeKind,
    RemediationCategory,
)
from iotwarden.intel.cyclonedx_vex import CycloneDxVexParser
from iotwarden.intel.detect import choose_parser, sniff
from iotwarden.intel.interface import InputDocument
from iotwarden.intel.openvex import OpenVexParser
from iotwarden.intel.registry import PARSERS

DOC_ID = "https://openvex.dev/docs/example/vex-9fb3463de1b57"
ROUTER = "pkg:generic/acme/router-5@1.0"
OPENSSL = "pkg:generic/openssl@1.0.1e"


def heartbleed_vex(**extra: Any) -> dict[str, Any]:
    """Acme says its Router 5 firmware 1.0 is not affected by Heartbleed through the OpenSSL
    1.0.1e it carries, and states two more things about other products."""
    doc: dict[str, Any] = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": DOC_ID,
        "author": "Acme Product Security <psirt@acme.example>",
        "role": "Document Creator",
        "timestamp": "2024-03-01T10:00:00Z",
        "version": 2,
        "statements": [
            {
                "vulnerability": {
                    "@id": "https://nvd.nist.gov/vuln/detail/CVE-2014-0160",
                    "name": "CVE-2014-0160",
                    "aliases": ["GHSA-xxxx-heartbleed"],
                },
                "timestamp": "2024-03-02T11:00:00Z",
                "products": [
                    {
                        "@id": ROUTER,
                        "subcomponents": [{"@id": OPENSSL}],
                    }
                ],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "the firmware builds OpenSSL without the heartbeat extension",
            },
            {
                "vulnerability": {"name": "CVE-2014-0160"},
                "products": [
                    {
                        "@id": "https://acme.example/products/camera-2",
                        "identifiers": {
                            "cpe23": "cpe:2.3:h:acme:camera_2:3.1:*:*:*:*:*:*:*",
                        },
                    }
                ],
                "status": "affected",
                "action_statement": "Disable the web UI until firmware 3.2 is installed",
                "status_notes": "fixed firmware is being validated",
            },
            {
                "vulnerability": {"name": "CVE-2024-3094"},
                "products": [{"@id": "pkg:deb/debian/xz-utils"}],
                "status": "fixed",
            },
            {
                "vulnerability": {"name": "CVE-2023-0001"},
                "products": [{"@id": "pkg:npm/left-pad@1.3.0"}],
                "status": "under_investigation",
            },
        ],
    }
    doc.update(extra)
    return doc


def parse_outcomes(value: Any) -> list[Any]:
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(value))
    found = sniff(doc)
    assert choose_parser(doc, found, PARSERS) is OpenVexParser
    return list(OpenVexParser().parse(doc, found))


def parse_json(value: Any) -> Advisory:
    outcomes = parse_outcomes(value)
    assert len(outcomes) == 1, outcomes
    advisory = outcomes[0]
    assert isinstance(advisory, Advisory)
    return advisory


def parse_error(value: Any) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse_outcomes(value)
    assert info.value.origin == "inline.json"
    return info.value


# --- the document -----------------------------------------------------------------------------


def test_document_fields() -> None:
    advisory = parse_json(heartbleed_vex())
    assert advisory.source is AdvisoryFormat.OPENVEX
    assert advisory.key == DOC_ID
    assert advisory.id == DOC_ID
    assert advisory.vuln_ids == ("CVE-2014-0160", "CVE-2024-3094", "CVE-2023-0001")
    assert advisory.aliases == (
        "GHSA-xxxx-heartbleed",
        "https://nvd.nist.gov/vuln/detail/CVE-2014-0160",
    )
    assert advisory.publisher == "Acme Product Security <psirt@acme.example>"
    assert advisory.revision == "2"
    assert advisory.spec_version == "0.2.0"
    assert advisory.published == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    # The latest statement timestamp, as the document has no last_updated.
    assert advisory.modified == dt.datetime(2024, 3, 2, 11, tzinfo=dt.UTC)
    assert orjson.loads(advisory.raw) == heartbleed_vex()


def test_last_updated_is_the_modification_date() -> None:
    advisory = parse_json(heartbleed_vex(last_updated="2024-04-01T00:00:00+02:00"))
    assert advisory.modified == dt.datetime(2024, 3, 31, 22, tzinfo=dt.UTC)


def test_subcomponent_is_what_is_not_affected_and_the_product_its_condition() -> None:
    advisory = parse_json(heartbleed_vex())
    entry = advisory.affected[0]
    assert entry.status is AffectedStatus.NOT_AFFECTED
    assert entry.vuln_id == "CVE-2014-0160"
    assert entry.identity.purl == OPENSSL
    assert entry.identity.product_ref == OPENSSL
    assert entry.conditions == ((ROUTER,),)
    (version_range,) = entry.ranges
    assert version_range.kind is RangeKind.CONSTRAINTS
    assert version_range.constraints == (Constraint("=", "1.0.1e"),)
    assert entry.justification == (
        "vulnerable_code_not_in_execute_path: "
        "the firmware builds OpenSSL without the heartbeat extension"
    )
    assert entry.source_path == "$.statements[0].products[0].subcomponents[0]"


def test_affected_product_by_cpe_with_action_statement() -> None:
    advisory = parse_json(heartbleed_vex())
    entry = advisory.affected[1]
    assert entry.status is AffectedStatus.AFFECTED
    assert entry.identity.cpe == "cpe:2.3:h:acme:camera_2:3.1:*:*:*:*:*:*:*"
    assert entry.identity.purl is None
    assert entry.identity.product_ref == "https://acme.example/products/camera-2"
    assert entry.conditions == ()
    assert entry.justification is None
    assert [str(r) for r in entry.ranges] == ["vers:generic/3.1"]
    (remediation,) = advisory.remediations
    assert remediation.category is RemediationCategory.MITIGATION
    assert remediation.details == "Disable the web UI until firmware 3.2 is installed"
    assert remediation.product_refs == ("https://acme.example/products/camera-2",)
    assert remediation.vuln_id == "CVE-2014-0160"
    (note,) = advisory.statements
    assert (note.kind, note.category, note.details) == (
        "note",
        "status_notes",
        "fixed firmware is being validated",
    )


def test_fixed_and_under_investigation_and_versionless_purl() -> None:
    advisory = parse_json(heartbleed_vex())
    fixed, investigating = advisory.affected[2], advisory.affected[3]
    assert fixed.status is AffectedStatus.FIXED
    assert fixed.identity.purl == "pkg:deb/debian/xz-utils"
    assert fixed.ranges == ()  # the purl names no version: every version of it
    assert investigating.status is AffectedStatus.UNDER_INVESTIGATION
    # The range is compared in the package's own scheme.
    assert investigating.ranges[0].scheme == "npm"


def test_v0_0_x_strings_and_statement_level_subcomponents() -> None:
    advisory = parse_json(
        {
            "@context": "https://openvex.dev/ns",
            "@id": "https://example.com/vex/1",
            "author": "Example",
            "timestamp": "2023-01-08T18:02:03Z",
            "version": "1",
            "statements": [
                {
                    "vulnerability": "CVE-2014-0160",
                    "products": ["pkg:oci/router-image@sha256%3Aabc"],
                    "subcomponents": ["pkg:generic/openssl@1.0.1e"],
                    "status": "not_affected",
                    "justification": "component_not_present",
                }
            ],
        }
    )
    (entry,) = advisory.affected
    assert advisory.vuln_ids == ("CVE-2014-0160",)
    assert advisory.spec_version == "https://openvex.dev/ns"
    assert entry.identity.purl == "pkg:generic/openssl@1.0.1e"
    assert entry.conditions == (("pkg:oci/router-image@sha256%3Aabc",),)
    assert entry.justification == "component_not_present"
    assert entry.source_path == "$.statements[0].subcomponents[0]"


def test_context_as_a_list_is_accepted() -> None:
    advisory = parse_json(
        heartbleed_vex(**{"@context": ["https://www.w3.org/ns/x", "https://openvex.dev/ns/v0.2.0"]})
    )
    assert advisory.spec_version == "0.2.0"


def test_detection() -> None:
    doc = InputDocument.from_bytes("x.json", orjson.dumps(heartbleed_vex()))
    found = sniff(doc)
    assert OpenVexParser.accepts(found)
    assert not CycloneDxVexParser.accepts(found)
    other = InputDocument.from_bytes(
        "y.json", orjson.dumps({"@context": "https://schema.org", "statements": []})
    )
    assert not OpenVexParser.accepts(sniff(other))


# --- malformed input --------------------------------------------------------------------------


def test_missing_id_is_fatal() -> None:
    doc = heartbleed_vex()
    del doc["@id"]
    error = parse_error(doc)
    assert error.json_path == "$.@id"
    assert error.message == "required field is missing"


def test_statements_must_be_a_list() -> None:
    error = parse_error(heartbleed_vex(statements={"a": 1}))
    assert error.json_path == "$.statements"
    assert error.message == "expected an array, found an object"


def test_bad_version_type() -> None:
    error = parse_error(heartbleed_vex(version=[1]))
    assert error.json_path == "$.version"


def test_a_bad_statement_is_reported_and_the_others_kept() -> None:
    doc = heartbleed_vex()
    doc["statements"][1]["status"] = "maybe"
    doc["statements"][2]["vulnerability"] = {"aliases": []}
    doc["statements"][3]["products"] = []
    outcomes = parse_outcomes(doc)
    advisory, *errors = outcomes
    assert isinstance(advisory, Advisory)
    assert [a.vuln_id for a in advisory.affected] == ["CVE-2014-0160"]
    assert advisory.vuln_ids == ("CVE-2014-0160",)
    assert [(e.json_path, e.message) for e in errors] == [
        (
            "$.statements[1].status",
            "unknown status 'maybe': expected one of not_affected, affected, fixed, "
            "under_investigation",
        ),
        ("$.statements[2].vulnerability.name", "required field is missing"),
        ("$.statements[3].products", "a statement names no product"),
    ]


def test_a_bad_product_is_reported_and_its_siblings_kept() -> None:
    doc = heartbleed_vex()
    doc["statements"][0]["products"].append({"identifiers": {"purl": "not-a-purl"}})
    doc["statements"][0]["products"].append({"identifiers": {}})
    doc["statements"][0]["products"].append(7)
    advisory, *errors = parse_outcomes(doc)
    assert isinstance(advisory, Advisory)
    assert advisory.affected[0].identity.purl == OPENSSL
    assert [e.json_path for e in errors] == [
        "$.statements[0].products[1].identifiers.purl",
        "$.statements[0].products[2]",
        "$.statements[0].products[3]",
    ]
    assert "not a valid package URL" in errors[0].message
    assert errors[1].message == "a product needs an @id or a purl or CPE among its identifiers"
    assert errors[2].message == "expected an object, found a number"


def test_bad_timestamp() -> None:
    error = parse_error(heartbleed_vex(timestamp="yesterday"))
    assert error.json_path == "$.timestamp"
    assert error.message == "not a valid date-time: 'yesterday'"


def test_not_an_object() -> None:
    doc = InputDocument.from_bytes("inline.json", b"[1]")
    with pytest.raises(DocumentError) as info:
        list(OpenVexParser().parse(doc, sniff(doc)))
    assert info.value.json_path == "$"
