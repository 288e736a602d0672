"""CSAF 2.0/2.1 parser: real CISA ICS, Red Hat, Cisco, BSI and OASIS VEX documents, plus small
inline documents for the edge cases and malformed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    Constraint,
    RangeKind,
    RemediationCategory,
    Weakness,
)
from iotwarden.core.versions import range_contains
from iotwarden.intel.csaf import CsafParser
from iotwarden.intel.detect import sniff
from iotwarden.intel.interface import InputDocument, Sniff
from tests.conftest import document

CVSS4_VECTOR = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"

# --- helpers ----------------------------------------------------------------------------------


def parse_file(path: Path) -> Advisory:
    doc = document(path)
    found = sniff(doc)
    assert CsafParser.accepts(found), path
    outcomes = list(CsafParser().parse(doc, found))
    assert len(outcomes) == 1
    advisory = outcomes[0]
    assert isinstance(advisory, Advisory)
    return advisory


def parse_json(value: Any) -> Advisory:
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(value))
    found = sniff(doc)
    outcomes = list(CsafParser().parse(doc, found))
    assert len(outcomes) == 1
    advisory = outcomes[0]
    assert isinstance(advisory, Advisory)
    return advisory


def parse_error(value: Any) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse_json(value)
    assert info.value.origin == "inline.json"
    return info.value


def affected(advisory: Advisory, product_ref: str, vuln_id: str | None = None) -> AffectedProduct:
    found = [
        a
        for a in advisory.affected
        if a.identity.product_ref == product_ref and (vuln_id is None or a.vuln_id == vuln_id)
    ]
    assert len(found) == 1, (product_ref, vuln_id, found)
    return found[0]


def minimal(**document_extra: Any) -> dict[str, Any]:
    """A small valid CSAF 2.0 document to vary in the edge-case tests."""
    doc: dict[str, Any] = {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Inline test",
            "publisher": {
                "category": "vendor",
                "name": "Example PSIRT",
                "namespace": "https://PSIRT.example.com/",
            },
            "tracking": {
                "id": "EX-2024-0001",
                "status": "final",
                "version": "2",
                "initial_release_date": "2024-01-02T03:04:05Z",
                "current_release_date": "2024-02-03T04:05:06+01:00",
                "revision_history": [],
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "Gateway",
                            "branches": [
                                {
                                    "category": "product_version",
                                    "name": "1.0",
                                    "product": {"name": "Gateway 1.0", "product_id": "P1"},
                                },
                                {
                                    "category": "product_version",
                                    "name": "1.1",
                                    "product": {"name": "Gateway 1.1", "product_id": "P2"},
                                },
                                {
                                    "category": "product_version",
                                    "name": "2.0",
                                    "product": {"name": "Gateway 2.0", "product_id": "P3"},
                                },
                            ],
                        }
                    ],
                }
            ]
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2024-0001",
                "product_status": {"known_affected": ["P1", "P2"], "fixed": ["P3"]},
            }
        ],
    }
    doc["document"].update(document_extra)
    return doc


# --- the real documents -----------------------------------------------------------------------


def test_every_real_csaf_document_parses(advisories_dir: Path) -> None:
    files = sorted((advisories_dir / "csaf").rglob("*.json"))
    assert len(files) == 87
    for path in files:
        advisory = parse_file(path)
        original = json.loads(path.read_text(encoding="utf-8"))
        assert advisory.source is AdvisoryFormat.CSAF
        assert advisory.id == original["document"]["tracking"]["id"]
        assert advisory.spec_version == original["document"]["csaf_version"]
        assert advisory.revision == original["document"]["tracking"]["version"]
        assert advisory.published is not None
        assert advisory.published.tzinfo is not None
        assert orjson.loads(advisory.raw) == original  # lossless
        assert advisory.id not in advisory.aliases
        for entry in advisory.affected:
            assert entry.source_path is not None
            assert entry.source_path.startswith("$.vulnerabilities[")
            assert entry.identity.product_ref is not None
            # never "all versions" unless the source said so
            for version_range in entry.ranges:
                if version_range.kind is RangeKind.ALL:
                    assert version_range.raw is not None
                    assert version_range.raw.lstrip().startswith(("vers:all/*", "*", "All"))


def test_csaf_21_documents_say_21_and_share_keys_with_20(advisories_dir: Path) -> None:
    oasis = advisories_dir / "csaf" / "oasis"
    v21 = {p.name: parse_file(p) for p in sorted((oasis / "csaf_2.1").glob("*.json"))}
    assert {a.spec_version for a in v21.values()} == {"2.1"}
    common = sorted(p.name for p in (oasis / "csaf_2.0").glob("*.json") if p.name in v21)
    assert len(common) == 19
    for name in common:
        v20 = parse_file(oasis / "csaf_2.0" / name)
        assert v20.spec_version == "2.0"
        assert v20.key == v21[name].key
        assert v20.vuln_ids == v21[name].vuln_ids


def test_cisa_siemens_sinec_identity_range_remediation_score(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "cisa-ics" / "icsa-24-165-13.json")
    assert advisory.key == "https://www.cisa.gov/ICSA-24-165-13"
    assert advisory.publisher == "CISA"
    assert advisory.vuln_ids[:2] == ("CVE-2022-41742", "CVE-2024-35206")
    assert len(advisory.vuln_ids) == 8
    entry = affected(advisory, "CSAFPID-0001", "CVE-2022-41742")
    assert entry.status is AffectedStatus.AFFECTED
    assert entry.identity.vendor == "Siemens"
    assert entry.identity.product == "SINEC Traffic Analyzer (6GK8822-1BG01-0BA0)"
    assert entry.identity.model_numbers == ("6GK8822-1BG01-0BA0",)
    assert entry.identity.cpe is None
    assert entry.source_path == "$.vulnerabilities[0].product_status.known_affected[0]"
    (version_range,) = entry.ranges
    assert version_range.kind is RangeKind.CONSTRAINTS
    assert version_range.constraints == (Constraint("<", "V1.2"),)
    assert version_range.raw == "<V1.2"
    remediation = next(r for r in advisory.remediations if r.vuln_id == "CVE-2022-41742")
    assert remediation.category is RemediationCategory.VENDOR_FIX
    assert remediation.details == "Update to V1.2 or later version"
    assert remediation.product_refs == ("CSAFPID-0001",)
    assert remediation.url == "https://support.industry.siemens.com/cs/ww/en/view/109954887/"
    score = next(s for s in advisory.scores if s.vuln_id == "CVE-2022-41742")
    assert score.vector == "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:H"
    assert score.base_score == 7.1
    assert score.severity == "HIGH"
    assert score.source == "CISA"
    assert score.valid
    assert Weakness("CWE-787", "CVE-2022-41742") in advisory.weaknesses


def test_cisa_ruggedcom_vers_all_ranges_and_interim_status(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "cisa-ics" / "icsa-23-222-12.json")
    i800 = affected(advisory, "1")
    assert i800.identity.vendor == "Siemens"
    assert i800.identity.product == "RUGGEDCOM i800"
    (bounded,) = i800.ranges
    assert bounded.kind is RangeKind.CONSTRAINTS
    assert bounded.scheme == "generic"
    assert bounded.constraints == (Constraint("<", "V4.3.8"),)
    assert bounded.raw == "vers:all/<V4.3.8"
    (every,) = affected(advisory, "10").ranges  # RUGGEDCOM M2100F: vers:all/*
    assert every.kind is RangeKind.ALL
    assert every.raw == "vers:all/*"
    assert len(advisory.affected) == 148
    notes = [s for s in advisory.statements if s.category == "tracking_status"]
    assert [(s.kind, s.details) for s in notes] == [("note", "interim")]


def test_cisa_mitsubishi_free_text_bounds_and_remediations(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "cisa-ics" / "icsa-21-131-02.json")
    assert advisory.title == "Mitsubishi Electric GOT and Tension Controller (Update A)"
    gt23 = affected(advisory, "CSAFPID-0001")
    assert gt23.identity.vendor == "Mitsubishi Electric"
    assert gt23.identity.product == "GT23 model"
    assert gt23.ranges[0].constraints == (
        Constraint(">=", "01.19.000"),
        Constraint("<=", "01.38.000"),
    )
    assert gt23.ranges[0].raw == ">= 01.19.000 | <= 01.38.000"
    softgot = affected(advisory, "CSAFPID-0006")
    assert softgot.ranges[0].constraints == (Constraint(">=", "1.170C"), Constraint("<=", "1.250L"))
    le7 = affected(advisory, "CSAFPID-0002")  # a product_version branch: one exact version
    assert le7.ranges[0].constraints == (Constraint("=", "1"),)
    categories = [r.category for r in advisory.remediations]
    assert categories.count(RemediationCategory.MITIGATION) == 8
    (fix,) = [r for r in advisory.remediations if r.category is RemediationCategory.VENDOR_FIX]
    assert fix.details == "GOT2000 series: GT21 model: update to 01.40.000 or later."
    assert fix.product_refs == tuple(f"CSAFPID-000{i}" for i in range(1, 8))
    assert fix.fixed_versions == ()  # free text is not read as versions


def test_cisa_unreadable_range_is_kept_verbatim(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "cisa-ics" / "icsa-19-164-01.json")
    (version_range,) = affected(advisory, "CSAFPID-0001").ranges
    assert version_range.kind is RangeKind.UNPARSED
    assert version_range.raw == (
        "<= 5.12.2 | all microsoft windows operating systems (except microsoft windows server)"
    )


def test_cisa_product_version_star_means_all_versions(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "cisa-ics" / "icsa-19-344-06.json")
    drive = affected(advisory, "CSAFPID-0001", "CVE-2019-10929")
    assert drive.identity.product == "SIMATIC Drive Controller family"
    assert drive.ranges[0].kind is RangeKind.ALL
    assert drive.ranges[0].raw == "* (only affected by CVE-2019-10943)"
    later = affected(advisory, "CSAFPID-0007", "CVE-2019-10929")
    assert later.ranges[0].constraints == (Constraint(">=", "2.8.1"),)


def test_vex_not_affected_justification_from_impact_threat(advisories_dir: Path) -> None:
    for version in ("csaf_2.0", "csaf_2.1"):
        path = advisories_dir / "csaf" / "oasis" / version / "2022-evd-uc-01-na-001.json"
        advisory = parse_file(path)
        assert advisory.key == "https://psirt.example.com/2022-EVD-UC-01-NA-001"
        assert advisory.description == (
            "Example Company VEX document. Unofficial content for demonstration purposes only."
        )
        (entry,) = advisory.affected
        assert entry.status is AffectedStatus.NOT_AFFECTED
        assert entry.vuln_id == "CVE-2021-44228"
        assert entry.identity.vendor == "Example Company"
        assert entry.identity.product == "ABC"
        assert entry.ranges[0].constraints == (Constraint("=", "4.2"),)
        assert entry.justification == "Class with vulnerable code was removed before shipping."
        (threat,) = [s for s in advisory.statements if s.kind == "threat"]
        assert threat.category == "impact"
        assert threat.product_refs == ("CSAFPID-0001",)


def test_vex_flag_label_is_the_justification(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "oasis" / "csaf_2.0" / "sec-vex-2022-0001.json")
    assert advisory.vuln_ids == ("CVE-2021-44228", "CVE-2021-45046", "CVE-2021-45105")
    for entry in advisory.affected:
        assert entry.status is AffectedStatus.NOT_AFFECTED
        assert entry.justification == "component_not_present"
        assert entry.identity.product == "Secvisogram"
        assert entry.ranges[0].constraints == (Constraint("<=", "1.14.0"),)
    flags = [s for s in advisory.statements if s.kind == "flag"]
    assert len(flags) == 3
    assert flags[0].category == "component_not_present"
    assert flags[0].product_refs == ("CSAFPID-0001",)
    assert flags[0].date is not None
    assert flags[0].date.isoformat() == "2022-05-27T10:00:00+00:00"


def test_vex_statuses_and_fixed_versions_of_siblings(advisories_dir: Path) -> None:
    advisory = parse_file(
        advisories_dir / "csaf" / "oasis" / "csaf_2.0" / "2022-evd-uc-07-001.json"
    )
    jkl = affected(advisory, "CSAFPID-0008")
    assert jkl.status is AffectedStatus.AFFECTED
    assert jkl.identity.product == "JKL"
    assert jkl.ranges[0].vers == "vers:generic/>=4.5|<=5.0"
    assert jkl.fixed_versions == ("5.1",)  # CSAFPID-0010 JKL 5.1 is fixed
    abc = affected(advisory, "CSAFPID-0002")
    assert abc.fixed_versions == ()  # no fixed ABC listed
    assert affected(advisory, "CSAFPID-0010").status is AffectedStatus.FIXED
    assert affected(advisory, "CSAFPID-0009").justification == (
        "Log4j was not included in those versions at all."
    )
    investigating = parse_file(
        advisories_dir / "csaf" / "oasis" / "csaf_2.1" / "2022-evd-uc-01-ui-001.json"
    )
    assert investigating.affected[0].status is AffectedStatus.UNDER_INVESTIGATION


def test_redhat_relationships_and_product_paths(advisories_dir: Path) -> None:
    product_id = "7Server-7.6.AUS:telnet-1:0.17-65.el7_6.src"
    for version in ("csaf_2.0", "csaf_2.1"):  # 2.0 relationships, 2.1 product_paths
        advisory = parse_file(advisories_dir / "csaf" / "oasis" / version / "rhsa-2022_0011.json")
        assert advisory.key == "https://www.redhat.com/RHSA-2022:0011"
        assert advisory.vuln_ids == ("CVE-2020-10188",)
        assert advisory.aliases == (
            "CVE-2020-10188",
            "https://bugzilla.redhat.com/show_bug.cgi?id=1811673",
        )
        assert len(advisory.affected) == 15
        entry = affected(advisory, product_id)
        assert entry.status is AffectedStatus.FIXED
        assert entry.identity.vendor == "Red Hat"
        assert entry.identity.product == "telnet-1:0.17-65.el7_6.src"
        assert entry.ranges[0].constraints == (Constraint("=", "telnet-1:0.17-65.el7_6.src"),)
        # one group per platform it relates to, each naming that one platform: its label,
        # then what an inventory can check (its CPE, its vendor and product name)
        assert entry.conditions == (
            (
                "csaf:7Server-7.6.AUS Red Hat Enterprise Linux Server AUS (v. 7.6)",
                "cpe:/o:redhat:rhel_aus:7.6::server",
                "product:Red Hat|Red Hat Enterprise Linux Server AUS (v. 7.6)|",
            ),
        )
        (remediation,) = advisory.remediations
        assert remediation.category is RemediationCategory.VENDOR_FIX
        assert remediation.url == "https://access.redhat.com/errata/RHSA-2022:0011"
        assert len(remediation.product_refs) == 15
        assert remediation.product_refs[0] == product_id
        assert Weakness("CWE-119", "CVE-2020-10188") in advisory.weaknesses


def test_cisco_service_pack_is_the_version(advisories_dir: Path) -> None:
    advisory = parse_file(
        advisories_dir / "csaf" / "oasis" / "csaf_2.0" / "cisco-sa-20180328-smi2.json"
    )
    entry = affected(advisory, "CVRFPID-103763")  # IOS / 12.2SE / 12.2(55)SE
    assert entry.identity.vendor == "Cisco"
    assert entry.identity.product == "IOS"
    assert entry.ranges[0].constraints == (Constraint("=", "12.2(55)SE"),)
    assert advisory.aliases == ("CVE-2018-0171", "CSCvg76186")
    (workaround,) = advisory.remediations
    assert workaround.category is RemediationCategory.WORKAROUND


def test_csaf_21_metrics_cwes_and_cpe(advisories_dir: Path) -> None:
    advisory = parse_file(advisories_dir / "csaf" / "oasis" / "csaf_2.1" / "bsi-2022-0001.json")
    (score,) = advisory.scores
    assert score.vector == "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C"
    assert score.base_score == 6.1
    assert score.vuln_id == "CVE-2022-27193"
    assert advisory.weaknesses == (Weakness("CWE-611", "CVE-2022-27193"),)
    assert advisory.aliases == ("CVE-2022-27193", "csaf-tools/CVRF-CSAF-Converter#78")
    alpha = affected(advisory, "CSAFPID-0001")
    assert alpha.identity.cpe == "cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha"
    assert alpha.fixed_versions == ("1.0.0-rc2",)
    # first_fixed and fixed both name CSAFPID-0006: one entry per (product, status)
    fixed = affected(advisory, "CSAFPID-0006")
    assert fixed.source_path == "$.vulnerabilities[0].product_status.first_fixed[0]"
    (remediation,) = advisory.remediations
    assert remediation.date is not None
    assert remediation.date.isoformat() == "2022-03-14T12:10:55+00:00"


def test_csaf_21_vulnerability_without_cve_gets_a_document_scoped_id(
    advisories_dir: Path,
) -> None:
    path = advisories_dir / "csaf" / "oasis" / "csaf_2.1" / "oasis_csaf_tc-csaf_2_1-2024-d-14.json"
    advisory = parse_file(path)
    assert advisory.vuln_ids == ()
    entry = affected(advisory, "CSAFPID-908070608")
    assert entry.vuln_id == "OASIS_CSAF_TC-CSAF_2.1-2024-D-14#vuln0"
    assert entry.status is AffectedStatus.UNDER_INVESTIGATION
    assert entry.identity.product == "Product A"
    assert entry.ranges[0].constraints == (Constraint("=", "1.0.0"),)
    assert entry.conditions == (
        (
            "csaf:CSAFPID-908070604 Example Company Product B 2024",
            "product:Example Company|Product B|2024",
        ),
    )


# --- inline edge cases ------------------------------------------------------------------------


def test_minimal_document_fields() -> None:
    advisory = parse_json(minimal())
    assert advisory.key == "https://psirt.example.com/EX-2024-0001"
    assert advisory.title == "Inline test"
    assert advisory.published is not None
    assert advisory.published.isoformat() == "2024-01-02T03:04:05+00:00"
    assert advisory.modified is not None
    assert advisory.modified.isoformat() == "2024-02-03T03:05:06+00:00"
    assert advisory.status is AdvisoryStatus.ACTIVE
    assert advisory.withdrawn_at is None
    assert advisory.statements == ()
    assert affected(advisory, "P1").fixed_versions == ("2.0",)
    assert affected(advisory, "P3").status is AffectedStatus.FIXED


def test_withdrawn_csaf_21_document() -> None:
    value = minimal(category="csaf_withdrawn", csaf_version="2.1")
    del value["vulnerabilities"]
    advisory = parse_json(value)
    assert advisory.status is AdvisoryStatus.WITHDRAWN
    assert advisory.withdrawn_at == advisory.modified


def test_groups_unknown_remediation_scores_and_dangling_refs() -> None:
    value = minimal(csaf_version="2.1")
    value["product_tree"]["product_groups"] = [{"group_id": "G1", "product_ids": ["P1", "P2"]}]
    value["vulnerabilities"] = [
        {
            "ids": [{"system_name": "Example", "text": "EX-BUG-7"}],
            "product_status": {"known_affected": ["P1", "P404"], "unknown": ["P2"]},
            "remediations": [
                {"category": "vendor_fix", "group_ids": ["G1"], "product_ids": ["P3"]},
                {"category": "fix_planned", "group_ids": ["G1"], "details": "Q3"},
                {"category": "brand_new_kind", "product_ids": ["P1"], "details": "later"},
            ],
            "flags": [{"label": "vulnerable_code_not_present", "group_ids": ["G1"]}],
            "metrics": [
                {
                    "content": {
                        "cvss_v4": {
                            "version": "4.0",
                            "vectorString": CVSS4_VECTOR,
                            "baseScore": 9.3,
                        },
                        "cvss_v3": {
                            "version": "3.1",
                            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                            "baseScore": 9.8,
                        },
                    },
                    "products": ["P1"],
                },
                {
                    "content": {
                        "cvss_v3": {
                            "version": "3.1",
                            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                            "baseScore": 9.8,
                        }
                    },
                    "products": ["P2"],
                },
            ],
        }
    ]
    advisory = parse_json(value)
    assert advisory.vuln_ids == ("EX-BUG-7",)
    dangling = affected(advisory, "P404")
    assert dangling.identity.product is None
    assert dangling.identity.vendor is None
    assert dangling.ranges == ()
    assert affected(advisory, "P2").status is AffectedStatus.UNKNOWN
    assert affected(advisory, "P1").vuln_id == "EX-BUG-7"
    vendor_fix, planned = advisory.remediations
    assert vendor_fix.product_refs == ("P3", "P1", "P2")
    assert planned.category is RemediationCategory.FIX_PLANNED
    (kept,) = [s for s in advisory.statements if s.kind == "remediation"]
    assert (kept.category, kept.details, kept.product_refs) == ("brand_new_kind", "later", ("P1",))
    (flag,) = [s for s in advisory.statements if s.kind == "flag"]
    assert flag.product_refs == ("P1", "P2")
    # the same vector stated for P1 and for P2 is one score that applies to both
    assert [(s.version, s.base_score, s.product_refs) for s in advisory.scores] == [
        ("3.1", 9.8, ("P1", "P2")),
        ("4.0", 9.3, ("P1",)),
    ]


def test_scores_keep_their_own_products() -> None:
    value = minimal()
    value["product_tree"]["product_groups"] = [{"group_id": "OLD", "product_ids": ["P1", "P2"]}]
    value["vulnerabilities"][0]["scores"] = [
        {
            "cvss_v3": {
                "version": "3.1",
                "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "baseScore": 9.8,
            },
            "products": ["P1"],
        },
        {
            "cvss_v3": {
                "version": "3.1",
                "vectorString": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
                "baseScore": 5.5,
            },
            "products": ["P2"],
        },
    ]
    advisory = parse_json(value)
    assert [(s.base_score, s.product_refs) for s in advisory.scores] == [
        (9.8, ("P1",)),
        (5.5, ("P2",)),
    ]
    assert all(s.vuln_id == "CVE-2024-0001" for s in advisory.scores)


def test_product_paths_give_one_condition_group_per_step() -> None:
    value = minimal(csaf_version="2.1")
    value["product_tree"]["full_product_names"] = [
        {"name": "Example OS 12", "product_id": "OS12"},
        {"name": "Rack 9", "product_id": "RACK"},
    ]
    value["product_tree"]["product_paths"] = [
        {
            "beginning_product_reference": "P1",
            "subpaths": [
                {"category": "installed_on", "next_product_reference": "OS12"},
                {"category": "installed_on", "next_product_reference": "RACK"},
            ],
            "full_product_name": {"name": "Gateway 1.0 on OS 12 in Rack 9", "product_id": "PATH"},
        }
    ]
    value["vulnerabilities"][0]["product_status"] = {"known_affected": ["PATH"]}
    advisory = parse_json(value)
    assert affected(advisory, "PATH").conditions == (
        ("csaf:OS12 Example OS 12",),
        ("csaf:RACK Rack 9",),
    )


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("<V2.3", "V2.0", "V2.3"),
        ("<= 1.4", "1.4", "1.5"),
        ("=> 3.0", "3.1", "2.9"),
        ("prior to 4.0", "3.9", "4.0"),
        ("V1.2 and earlier", "V1.1", "V1.3"),
        ("2.0 and later", "2.5", "1.9"),
        ("1.0 to 1.4", "1.2", "1.5"),
        ("before 7", "6.9", "7.0"),
    ],
)
def test_product_version_that_is_a_range(name: str, inside: str, outside: str) -> None:
    value = minimal()
    value["product_tree"]["branches"][0]["branches"][0]["branches"][0]["name"] = name
    advisory = parse_json(value)
    entry = affected(advisory, "P1")
    [rng] = entry.ranges
    assert rng.kind is RangeKind.CONSTRAINTS
    assert rng.raw == name
    assert range_contains(rng, inside) is True
    assert range_contains(rng, outside) is False
    # a range is not a version that fixes its siblings
    assert affected(advisory, "P3").ranges[0].constraints == (Constraint("=", "2.0"),)


def test_undefined_group_is_reported_and_the_document_still_read() -> None:
    value = minimal()
    value["product_tree"]["product_groups"] = [{"group_id": "G1", "product_ids": ["P1"]}]
    value["vulnerabilities"][0]["remediations"] = [
        {"category": "vendor_fix", "group_ids": ["G1", "G404"], "details": "update"}
    ]
    value["vulnerabilities"][0]["threats"] = [
        {"category": "impact", "details": "x", "group_ids": ["G405"]}
    ]
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(value))
    outcomes = list(CsafParser().parse(doc, sniff(doc)))
    [advisory] = [o for o in outcomes if isinstance(o, Advisory)]
    errors = [o for o in outcomes if isinstance(o, DocumentError)]
    assert [(e.origin, e.json_path, e.message) for e in errors] == [
        (
            "inline.json",
            "$.vulnerabilities[0].threats[0].group_ids[0]",
            "product group 'G405' is not defined in the product tree",
        ),
        (
            "inline.json",
            "$.vulnerabilities[0].remediations[0].group_ids[1]",
            "product group 'G404' is not defined in the product tree",
        ),
    ]
    [fix] = advisory.remediations
    assert fix.product_refs == ("P1",)


def test_relationship_chain_and_product_without_version() -> None:
    value = minimal()
    value["product_tree"]["full_product_names"] = [
        {
            "name": "Example OS 12",
            "product_id": "OS12",
            "product_identification_helper": {"cpe": "cpe:2.3:o:example:os:12:*:*:*:*:*:*:*"},
        }
    ]
    value["product_tree"]["relationships"] = [
        {  # refers to the next relationship's product: resolved whatever the order
            "category": "installed_on",
            "product_reference": "P1-ON-OS",
            "relates_to_product_reference": "RACK",
            "full_product_name": {"name": "Gateway 1.0 on OS 12 in rack", "product_id": "CHAIN"},
        },
        {
            "category": "default_component_of",
            "product_reference": "P1",
            "relates_to_product_reference": "OS12",
            "full_product_name": {"name": "Gateway 1.0 on Example OS 12", "product_id": "P1-ON-OS"},
        },
        {
            "category": "default_component_of",
            "product_reference": "NOPE",
            "relates_to_product_reference": "OS12",
            "full_product_name": {"name": "ghost", "product_id": "GHOST"},
        },
    ]
    value["vulnerabilities"][0]["product_status"] = {"known_affected": ["CHAIN", "OS12", "GHOST"]}
    advisory = parse_json(value)
    chain = affected(advisory, "CHAIN")
    assert chain.identity.vendor == "Example"
    assert chain.identity.product == "Gateway"
    assert chain.ranges[0].constraints == (Constraint("=", "1.0"),)
    # every platform of the chain must hold: separate groups
    platform = ("csaf:OS12 Example OS 12", "cpe:2.3:o:example:os:12:*:*:*:*:*:*:*")
    assert chain.conditions == (platform, ("csaf:RACK",))
    os12 = affected(advisory, "OS12")
    assert os12.identity.product == "Example OS 12"
    assert os12.identity.cpe == "cpe:2.3:o:example:os:12:*:*:*:*:*:*:*"
    assert os12.ranges == ()
    ghost = affected(advisory, "GHOST")
    assert ghost.identity.product is None
    assert ghost.conditions == (platform,)


def test_helper_purls_and_model_numbers() -> None:
    value = minimal(csaf_version="2.1")
    product = value["product_tree"]["branches"][0]["branches"][0]["branches"][0]["product"]
    product["product_identification_helper"] = {
        "purls": ["pkg:generic/example/gateway@1.0", "pkg:generic/example/gw@1.0"],
        "model_numbers": ["GW-100", "GW-100X"],
    }
    entry = affected(parse_json(value), "P1")
    assert entry.identity.purl == "pkg:generic/example/gateway@1.0"
    assert entry.identity.model_numbers == ("GW-100", "GW-100X")


def test_accepts() -> None:
    assert CsafParser.accepts(Sniff(kind="json-object", top_keys=frozenset({"document"})))
    assert not CsafParser.accepts(Sniff(kind="json-object", top_keys=frozenset({"id"})))
    assert not CsafParser.accepts(Sniff(kind="json-array", first_item_keys=frozenset({"id"})))
    other = {"document": {"kind": "not csaf"}}
    assert not CsafParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset(other), document=other)
    )
    future = minimal(csaf_version="3.0")
    assert CsafParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset(future), document=future)
    )


# --- malformed input --------------------------------------------------------------------------


def test_document_not_an_object() -> None:
    error = parse_error({"document": ["csaf"]})
    assert error.json_path == "$.document"
    assert error.message == "expected an object, found an array"


def test_unsupported_csaf_version() -> None:
    error = parse_error(minimal(csaf_version="3.0"))
    assert error.json_path == "$.document.csaf_version"
    assert "unsupported CSAF version '3.0'" in error.message


def test_missing_tracking_id() -> None:
    value = minimal()
    del value["document"]["tracking"]["id"]
    error = parse_error(value)
    assert error.json_path == "$.document.tracking.id"
    assert error.message == "required field is missing"


def test_missing_publisher_namespace() -> None:
    value = minimal()
    del value["document"]["publisher"]["namespace"]
    error = parse_error(value)
    assert error.json_path == "$.document.publisher.namespace"
    assert error.message == "required field is missing"


def test_product_status_not_an_array_of_strings() -> None:
    value = minimal()
    value["vulnerabilities"][0]["product_status"] = {"known_affected": "P1"}
    error = parse_error(value)
    assert error.json_path == "$.vulnerabilities[0].product_status.known_affected"
    assert error.message == "expected an array, found a string"
    value["vulnerabilities"][0]["product_status"] = {"fixed": ["P1", 7]}
    error = parse_error(value)
    assert error.json_path == "$.vulnerabilities[0].product_status.fixed[1]"
    assert error.message == "expected a string, found a number"


def test_remediation_without_category() -> None:
    value = minimal()
    value["vulnerabilities"][0]["remediations"] = [{"details": "update", "product_ids": ["P1"]}]
    error = parse_error(value)
    assert error.json_path == "$.vulnerabilities[0].remediations[0].category"
    assert error.message == "required field is missing"


def test_wrong_types_in_the_product_tree_and_scores() -> None:
    value = minimal()
    value["product_tree"]["branches"][0]["branches"][0]["branches"][1]["name"] = 11
    error = parse_error(value)
    assert error.json_path == "$.product_tree.branches[0].branches[0].branches[1].name"
    assert error.message == "expected a string, found a number"
    value = minimal()
    value["vulnerabilities"][0]["scores"] = [
        {
            "cvss_v3": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            "products": ["P1"],
        },
        {"cvss_v3": {"vectorString": "CVSS:3.0/AV:N", "baseScore": "high"}},
    ]
    error = parse_error(value)
    assert error.json_path == "$.vulnerabilities[0].scores[1].cvss_v3.baseScore"


# --- scale ------------------------------------------------------------------------------------


def test_fifty_thousand_products_are_all_read() -> None:
    count = 50_000
    versions = [
        {
            "category": "product_version",
            "name": f"1.{i}",
            "product": {"name": f"Big 1.{i}", "product_id": f"P{i}"},
        }
        for i in range(count)
    ]
    value = minimal()
    value["product_tree"] = {
        "branches": [
            {
                "category": "vendor",
                "name": "Example",
                "branches": [{"category": "product_name", "name": "Big", "branches": versions}],
            }
        ]
    }
    ids = [f"P{i}" for i in range(count)]
    value["vulnerabilities"] = [
        {
            "cve": "CVE-2024-0002",
            "product_status": {"known_affected": ids},
            "remediations": [{"category": "vendor_fix", "product_ids": ids}],
        }
    ]
    # Speed belongs in benchmarks, not in timed tests: this checks it is all read, linearly.
    advisory = parse_json(value)
    assert len(advisory.affected) == count
    last = advisory.affected[-1]
    assert last.identity.product_ref == f"P{count - 1}"
    assert last.ranges[0].constraints == (Constraint("=", f"1.{count - 1}"),)
    assert len(advisory.remediations[0].product_refs) == count
