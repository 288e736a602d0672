"""CycloneDX VEX parser: inline CycloneDX 1.5 documents in the shape of the specification's
VEX examples (no public CycloneDX VEX is among the shared reference data), their edge cases
and malformed input."""

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
    Reference,
    RemediationCategory,
    Weakness,
)
from iotwarden.intel.cyclonedx_vex import CycloneDxVexParser
from iotwarden.intel.detect import choose_parser, sniff
from iotwarden.intel.interface import InputDocument
from iotwarden.intel.openvex import OpenVexParser
from iotwarden.intel.registry import PARSERS

SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"


def exgate_vex(**extra: Any) -> dict[str, Any]:
    """Example Controls says its ExGate 100 firmware 4.2.0 is not affected by Heartbleed (the
    code cannot be reached) and that its BusyBox has an exploitable flaw fixed by an update."""
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": SERIAL,
        "version": 3,
        "metadata": {
            "timestamp": "2024-05-01T08:00:00Z",
            "manufacture": {"name": "Example Controls"},
            "component": {
                "bom-ref": "exgate-100@4.2.0",
                "type": "firmware",
                "name": "ExGate 100",
                "version": "4.2.0",
            },
        },
        "components": [
            {
                "bom-ref": "busybox",
                "type": "application",
                "name": "busybox",
                "version": "1.36.1",
                "purl": "pkg:generic/busybox@1.36.1",
                "supplier": {"name": "BusyBox"},
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2014-0160",
                "source": {"name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2014-0160"},
                "ratings": [
                    {
                        "source": {"name": "NVD"},
                        "score": 7.5,
                        "severity": "high",
                        "method": "CVSSv31",
                        "vector": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                    },
                    {"method": "other", "severity": "medium", "score": 5.0},
                ],
                "cwes": [119],
                "analysis": {
                    "state": "not_affected",
                    "justification": "code_not_reachable",
                    "detail": "the TLS heartbeat extension is disabled at build time",
                    "firstIssued": "2024-04-30T00:00:00Z",
                    "lastUpdated": "2024-05-02T00:00:00Z",
                },
                "affects": [{"ref": "exgate-100@4.2.0"}],
            },
            {
                "id": "CVE-2023-42366",
                "references": [
                    {
                        "id": "GHSA-0000-busybox",
                        "source": {"name": "GitHub", "url": "https://github.com/advisories"},
                    }
                ],
                "ratings": [{"method": "CVSSv31", "vector": V31, "score": 7.5}],
                "analysis": {"state": "exploitable", "response": ["update", "will_not_fix"]},
                "recommendation": "Upgrade to firmware 4.3.0",
                "advisories": [{"url": "https://example-controls.example/psirt/EXG-2024-7"}],
                "affects": [
                    {
                        "ref": "busybox",
                        "versions": [
                            {"range": "vers:generic/>=1.36.0|<1.36.2"},
                            {"version": "1.37.0", "status": "unaffected"},
                        ],
                    }
                ],
            },
        ],
    }
    doc.update(extra)
    return doc


def parse_outcomes(value: Any) -> list[Any]:
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(value))
    found = sniff(doc)
    assert choose_parser(doc, found, PARSERS) is CycloneDxVexParser
    return list(CycloneDxVexParser().parse(doc, found))


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
    advisory = parse_json(exgate_vex())
    assert advisory.source is AdvisoryFormat.CYCLONEDX_VEX
    assert advisory.key == SERIAL
    assert advisory.id == SERIAL
    assert advisory.vuln_ids == ("CVE-2014-0160", "CVE-2023-42366")
    assert advisory.aliases == ("GHSA-0000-busybox",)
    assert advisory.revision == "3"
    assert advisory.spec_version == "1.5"
    assert advisory.publisher == "Example Controls"
    assert advisory.published == dt.datetime(2024, 4, 30, tzinfo=dt.UTC)
    assert advisory.modified == dt.datetime(2024, 5, 2, tzinfo=dt.UTC)
    assert orjson.loads(advisory.raw) == exgate_vex()


def test_the_device_product_is_not_affected() -> None:
    advisory = parse_json(exgate_vex())
    entry = advisory.affected[0]
    assert entry.vuln_id == "CVE-2014-0160"
    assert entry.status is AffectedStatus.NOT_AFFECTED
    assert entry.identity.vendor == "Example Controls"
    assert entry.identity.product == "ExGate 100"
    assert entry.identity.product_ref == "exgate-100@4.2.0"
    assert entry.identity.purl is None
    (version_range,) = entry.ranges
    assert version_range.constraints == (Constraint("=", "4.2.0"),)
    assert entry.justification == (
        "code_not_reachable: the TLS heartbeat extension is disabled at build time"
    )
    assert entry.conditions == ()
    assert entry.source_path == "$.vulnerabilities[0].affects[0]"


def test_component_with_ranges_and_unaffected_version() -> None:
    advisory = parse_json(exgate_vex())
    affected, unaffected = advisory.affected[1], advisory.affected[2]
    assert affected.status is AffectedStatus.AFFECTED
    assert affected.identity.purl == "pkg:generic/busybox@1.36.1"
    assert affected.identity.vendor == "BusyBox"
    assert affected.identity.product == "busybox"
    assert [str(r) for r in affected.ranges] == ["vers:generic/>=1.36.0|<1.36.2"]
    # BusyBox is (not) affected as it sits in the product the document describes.
    assert affected.conditions == (("Example Controls ExGate 100 4.2.0",),)
    assert unaffected.status is AffectedStatus.NOT_AFFECTED
    assert unaffected.justification is None
    assert unaffected.ranges[0].constraints == (Constraint("=", "1.37.0"),)


def test_scores_weaknesses_references_and_remediations() -> None:
    advisory = parse_json(exgate_vex())
    first, second = advisory.scores
    assert (first.vector, first.base_score, first.source, first.vuln_id) == (
        V31,
        7.5,
        "NVD",
        "CVE-2014-0160",
    )
    assert first.valid
    assert second.vuln_id == "CVE-2023-42366"
    assert advisory.weaknesses == (Weakness("CWE-119", "CVE-2014-0160"),)
    assert advisory.references == (
        Reference("https://nvd.nist.gov/vuln/detail/CVE-2014-0160", "NVD"),
        Reference("https://github.com/advisories", "GitHub"),
        Reference("https://example-controls.example/psirt/EXG-2024-7", "advisory"),
    )
    assert [(r.category, r.details, r.product_refs) for r in advisory.remediations] == [
        (RemediationCategory.UPGRADE, "Upgrade to firmware 4.3.0", ("busybox",)),
        (RemediationCategory.NO_FIX_PLANNED, "Upgrade to firmware 4.3.0", ("busybox",)),
    ]
    rating = next(s for s in advisory.statements if s.kind == "rating")
    assert (rating.category, rating.details) == ("other", "medium 5.0")


def test_no_versions_and_no_component_version_means_every_version() -> None:
    doc = exgate_vex()
    del doc["components"][0]["version"]
    doc["components"][0]["purl"] = "pkg:generic/busybox"
    del doc["vulnerabilities"][1]["affects"][0]["versions"]
    advisory = parse_json(doc)
    assert advisory.affected[1].ranges == ()


def test_free_text_range_is_kept_verbatim() -> None:
    doc = exgate_vex()
    doc["vulnerabilities"][1]["affects"][0]["versions"] = [{"range": "every odd release"}]
    advisory = parse_json(doc)
    (version_range,) = advisory.affected[1].ranges
    assert version_range.kind is RangeKind.UNPARSED
    assert version_range.raw == "every odd release"


def test_standalone_vex_refers_by_purl_and_bom_link() -> None:
    doc = exgate_vex()
    doc["vulnerabilities"][0]["affects"] = [
        {"ref": "pkg:generic/openssl@1.0.1e"},
        {"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#openssl"},
    ]
    advisory = parse_json(doc)
    by_purl, by_link = advisory.affected[0], advisory.affected[1]
    assert by_purl.identity.purl == "pkg:generic/openssl@1.0.1e"
    assert by_purl.ranges[0].constraints == (Constraint("=", "1.0.1e"),)
    assert by_link.identity.product_ref == "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#openssl"
    assert by_link.ranges == ()
    assert by_link.conditions == (("Example Controls ExGate 100 4.2.0",),)


def test_standalone_vex_without_a_product_has_no_condition() -> None:
    doc = exgate_vex()
    del doc["metadata"]["component"]
    doc["vulnerabilities"][0]["affects"] = [{"ref": "pkg:generic/openssl@1.0.1e"}]
    advisory = parse_json(doc)
    assert advisory.key == SERIAL
    assert advisory.affected[0].conditions == ()


def test_states_map_to_statuses() -> None:
    expected = {
        "false_positive": AffectedStatus.NOT_AFFECTED,
        "resolved": AffectedStatus.FIXED,
        "resolved_with_pedigree": AffectedStatus.FIXED,
        "exploitable": AffectedStatus.AFFECTED,
        "in_triage": AffectedStatus.UNDER_INVESTIGATION,
    }
    for state, status in expected.items():
        doc = exgate_vex()
        doc["vulnerabilities"][0]["analysis"] = {"state": state}
        entry = parse_json(doc).affected[0]
        assert entry.status is status, state
        assert entry.justification == ("false_positive" if state == "false_positive" else None)


def test_without_analysis_a_listed_vulnerability_is_a_finding() -> None:
    doc = exgate_vex()
    del doc["vulnerabilities"][0]["analysis"]
    assert parse_json(doc).affected[0].status is AffectedStatus.AFFECTED


def test_key_without_serial_number() -> None:
    doc = exgate_vex()
    del doc["serialNumber"]
    advisory = parse_json(doc)
    assert advisory.key == advisory.id == "ExGate 100@4.2.0"


def test_detection() -> None:
    found = sniff(InputDocument.from_bytes("x.json", orjson.dumps(exgate_vex())))
    assert CycloneDxVexParser.accepts(found)
    assert not OpenVexParser.accepts(found)
    sbom = exgate_vex()
    del sbom["vulnerabilities"]
    assert not CycloneDxVexParser.accepts(
        sniff(InputDocument.from_bytes("s.json", orjson.dumps(sbom)))
    )
    sbom["vulnerabilities"] = []
    assert not CycloneDxVexParser.accepts(
        sniff(InputDocument.from_bytes("s.json", orjson.dumps(sbom)))
    )


# --- malformed input --------------------------------------------------------------------------


def test_old_spec_version_is_refused() -> None:
    error = parse_error(exgate_vex(specVersion="1.3"))
    assert error.json_path == "$.specVersion"
    assert "unsupported CycloneDX version '1.3'" in error.message


def test_vulnerabilities_must_be_a_list() -> None:
    error = parse_error(exgate_vex(vulnerabilities={"id": "CVE-1"}))
    assert error.json_path == "$.vulnerabilities"
    assert error.message == "expected an array, found an object"


def test_empty_vulnerabilities_on_a_streamed_document_is_an_sbom() -> None:
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(exgate_vex(vulnerabilities=[])))
    found = sniff(doc)
    streamed = type(found)(kind=found.kind, top_keys=found.top_keys, top_scalars=found.top_scalars)
    assert CycloneDxVexParser.accepts(streamed)
    with pytest.raises(DocumentError) as info:
        list(CycloneDxVexParser().parse(doc, streamed))
    assert info.value.json_path == "$.vulnerabilities"
    assert "it is an SBOM, not a VEX" in info.value.message


def test_no_key_at_all() -> None:
    doc = exgate_vex()
    del doc["serialNumber"]
    del doc["metadata"]["component"]
    doc["vulnerabilities"] = doc["vulnerabilities"][1:]
    error = parse_error(doc)
    assert error.json_path == "$.serialNumber"


def test_bad_vulnerabilities_are_reported_and_the_others_kept() -> None:
    doc = exgate_vex()
    doc["vulnerabilities"][1]["analysis"]["state"] = "probably"
    doc["vulnerabilities"].append({"affects": [{"ref": "busybox"}]})
    doc["vulnerabilities"].append({"id": "CVE-2024-1", "affects": [{"ref": "nowhere"}]})
    doc["vulnerabilities"].append(
        {"id": "CVE-2024-2", "cwes": ["CWE-79"], "affects": [{"ref": "busybox"}]}
    )
    advisory, *errors = parse_outcomes(doc)
    assert isinstance(advisory, Advisory)
    # The one whose only affects entry is bad is kept, naming nothing.
    assert advisory.vuln_ids == ("CVE-2014-0160", "CVE-2024-1")
    assert [a.vuln_id for a in advisory.affected] == ["CVE-2014-0160"]
    assert [(e.json_path, e.message) for e in errors] == [
        (
            "$.vulnerabilities[1].analysis.state",
            "unknown analysis state 'probably': expected one of not_affected, false_positive, "
            "resolved, resolved_with_pedigree, exploitable, in_triage",
        ),
        ("$.vulnerabilities[2].id", "required field is missing"),
        ("$.vulnerabilities[3].affects[0].ref", "'nowhere' names no component of this BOM"),
        ("$.vulnerabilities[4].cwes[0]", "expected a number, found a string"),
    ]


def test_bad_version_entries() -> None:
    doc = exgate_vex()
    doc["vulnerabilities"][1]["affects"][0]["versions"] = [{"status": "affected"}]
    doc["vulnerabilities"][0]["affects"].append(
        {"ref": "busybox", "versions": [{"version": "1", "status": "gone"}]}
    )
    advisory, *errors = parse_outcomes(doc)
    assert isinstance(advisory, Advisory)
    assert [(e.json_path, e.message) for e in errors] == [
        (
            "$.vulnerabilities[0].affects[1].versions[0].status",
            "unknown version status 'gone': expected one of affected, unaffected, unknown",
        ),
        ("$.vulnerabilities[1].affects[0].versions[0]", "a version or a range is required"),
    ]


def test_bad_component_purl() -> None:
    doc = exgate_vex()
    doc["components"][0]["purl"] = "busybox"
    advisory, *errors = parse_outcomes(doc)
    assert isinstance(advisory, Advisory)
    assert [e.json_path for e in errors] == [
        "$.components[0].purl",
        "$.vulnerabilities[1].affects[0].ref",
    ]
