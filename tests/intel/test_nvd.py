"""NVD API 2.0 parser: real records from ../shared/data, API-response edge cases and streaming."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import Advisory, AdvisoryStatus, AffectedStatus, RangeKind
from iotwarden.core.versions import range_contains
from iotwarden.intel.cve5 import Cve5Parser
from iotwarden.intel.detect import WHOLE_READ_LIMIT, sniff
from iotwarden.intel.interface import InputDocument, ParseOutcome
from iotwarden.intel.nvd import NvdParser
from tests.conftest import document


def _outcomes(doc: InputDocument) -> list[ParseOutcome]:
    found = sniff(doc)
    assert NvdParser.accepts(found)
    return list(NvdParser().parse(doc, found))


def _advisory(advisories_dir: Path, name: str) -> Advisory:
    outcomes = _outcomes(document(advisories_dir / "nvd2" / f"{name}.json"))
    assert len(outcomes) == 1
    advisory = outcomes[0]
    assert isinstance(advisory, Advisory)
    return advisory


def _inline(value: dict[str, Any]) -> list[ParseOutcome]:
    return _outcomes(InputDocument.from_bytes("inline.json", json.dumps(value).encode()))


def _cve(cve_id: str, **extra: Any) -> dict[str, Any]:
    cve: dict[str, Any] = {
        "id": cve_id,
        "sourceIdentifier": "cve@mitre.org",
        "published": "2099-01-01T10:00:00.000",
        "lastModified": "2099-01-02T11:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "es", "value": "Un fallo."}, {"lang": "en", "value": "A flaw."}],
        "metrics": {
            "cvssMetricV31": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "cvssData": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                    },
                }
            ]
        },
        "references": [{"url": "https://example.org/advisory", "source": "cve@mitre.org"}],
    }
    cve.update(extra)
    return cve


def _response(*cves: dict[str, Any]) -> dict[str, Any]:
    return {
        "resultsPerPage": len(cves),
        "startIndex": 0,
        "totalResults": len(cves),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2099-01-03T00:00:00.000",
        "vulnerabilities": [{"cve": cve} for cve in cves],
    }


def test_every_nvd_file_parses_without_errors(advisories_dir: Path) -> None:
    files = sorted((advisories_dir / "nvd2").glob("*.json"))
    assert len(files) >= 20
    for path in files:
        doc = document(path)
        assert not Cve5Parser.accepts(sniff(doc)), path.name
        outcomes = _outcomes(doc)
        assert [type(o) for o in outcomes] == [Advisory], path.name
        advisory = outcomes[0]
        assert isinstance(advisory, Advisory)
        assert advisory.key == advisory.id == path.stem
        assert advisory.vuln_ids == (path.stem,)
        assert advisory.spec_version == "2.0"
        assert advisory.status is AdvisoryStatus.ACTIVE
        assert advisory.modified is not None
        assert advisory.revision is not None
        original = json.loads(path.read_bytes())["vulnerabilities"][0]
        assert json.loads(advisory.raw) == original
        assert advisory.scores, path.name


def test_and_configuration_gives_platform_conditions(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2020-13595")
    [product] = advisory.affected
    assert product.identity.cpe == "cpe:2.3:a:espressif:esp-idf:*:*:*:*:*:*:*:*"
    assert (product.identity.vendor, product.identity.product) == ("espressif", "esp-idf")
    assert product.status is AffectedStatus.AFFECTED
    # one AND-ed group holding the one hardware CPE the node names
    assert product.conditions == (("cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*",),)
    [rng] = product.ranges
    assert rng.vers == "vers:generic/>=4.0.0|<=4.2"  # versionStartIncluding / versionEndIncluding
    assert range_contains(rng, "4.0.0") is True
    assert range_contains(rng, "4.2") is True
    assert range_contains(rng, "4.2.1") is False
    assert range_contains(rng, "3.3") is False
    assert product.fixed_versions == ()
    assert product.source_path == "$.vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0]"
    assert advisory.published == dt.datetime(2020, 8, 31, 15, 15, 10, 680000, tzinfo=dt.UTC)
    assert advisory.revision == "2020-09-08T21:09:33.517"
    assert advisory.publisher == "cve@mitre.org"

    nio = _advisory(advisories_dir, "CVE-2023-24256")
    [product] = nio.affected
    assert product.conditions == (("cpe:2.3:h:nio:ec6:-:*:*:*:*:*:*:*",),)
    assert product.ranges[0].vers == "vers:generic/<3.3.0"
    assert product.fixed_versions == ("3.3.0",)


def test_version_bounds_and_fixed_versions(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2016-1585")
    assert [(p.ranges[0].vers, p.fixed_versions) for p in advisory.affected] == [
        ("vers:generic/<2.13.10", ("2.13.10",)),
        ("vers:generic/>=3.0.0|<3.0.12", ("3.0.12",)),
        ("vers:generic/>=3.1.0|<3.1.6", ("3.1.6",)),
    ]
    assert all(p.conditions == () for p in advisory.affected)
    assert advisory.weaknesses == ()  # NVD-CWE-noinfo names no CWE
    assert [(s.version, s.base_score, s.source) for s in advisory.scores] == [
        ("3.1", 9.8, "nvd@nist.gov"),
        ("3.0", 3.9, "security@ubuntu.com"),
        ("2.0", 7.5, "nvd@nist.gov"),
    ]

    apparmor = _advisory(advisories_dir, "CVE-2014-1424")
    first, second = apparmor.affected
    assert first.ranges[0].vers == "vers:generic/<=2.8.94-0ubuntu1.4"
    assert first.fixed_versions == ()  # versionEndIncluding names no fix
    assert second.identity.cpe == "cpe:2.3:o:canonical:ubuntu:14.04:*:*:*:lts:*:*:*"
    assert second.ranges[0].vers == "vers:generic/14.04"


def test_cpe_versions_any_na_and_update(advisories_dir: Path) -> None:
    tensorflow = _advisory(advisories_dir, "CVE-2022-29194")
    exact = [
        p.ranges[0].vers
        for p in tensorflow.affected
        if p.identity.cpe and ":2.9.0:" in p.identity.cpe
    ]
    assert exact == [
        "vers:generic/2.9.0-rc0",
        "vers:generic/2.9.0-rc1",
        "vers:generic/2.9.0-rc2",
    ]
    noxen = _advisory(advisories_dir, "CVE-2022-2956")
    [product] = noxen.affected
    assert product.ranges[0].kind is RangeKind.NONE  # cpe version '-'
    xen = _advisory(advisories_dir, "CVE-2022-33745")
    assert xen.affected[0].identity.cpe == "cpe:2.3:o:xen:xen:*:*:*:*:*:*:x86:*"
    assert xen.affected[0].ranges[0].kind is RangeKind.ALL  # cpe version '*' and no bounds


def test_kev_columns(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2023-4863")
    [kev] = advisory.kev
    assert kev.cve_id == "CVE-2023-4863"
    assert kev.date_added == dt.date(2023, 9, 13)
    assert kev.due_date == dt.date(2023, 10, 4)
    assert kev.name == "Google Chromium WebP Heap-Based Buffer Overflow Vulnerability"
    assert kev.required_action is not None
    assert kev.required_action.startswith("Apply mitigations per vendor instructions")
    assert kev.source == "nvd"
    libwebp = [p for p in advisory.affected if p.identity.product == "libwebp"]
    assert [p.ranges[0].vers for p in libwebp] == ["vers:generic/<1.3.2"]
    assert len(advisory.affected) == 14
    assert [w.cwe_id for w in advisory.weaknesses] == ["CWE-787"]


def test_xz_record_with_cna_affected_data_and_ssvc(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2024-3094")
    cpe_products = [
        p for p in advisory.affected if p.source_path and "configurations" in p.source_path
    ]
    assert [(p.identity.cpe, p.ranges[0].vers) for p in cpe_products] == [
        ("cpe:2.3:a:tukaani:xz:5.6.0:*:*:*:*:*:*:*", "vers:generic/5.6.0"),
        ("cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", "vers:generic/5.6.1"),
    ]
    cna = [p for p in advisory.affected if p.source_path and ".affectedData[" in p.source_path]
    assert cna[0].identity.product == "xz"
    assert cna[0].identity.ecosystem == "https://github.com/tukaani-project/xz"
    assert [r.vers for r in cna[0].ranges] == ["vers:generic/5.6.0", "vers:generic/5.6.1"]
    assert cna[0].default_status is AffectedStatus.NOT_AFFECTED
    assert cna[0].source_path == "$.vulnerabilities[0].cve.affected[0].affectedData[0]"
    ssvc = {s.category: s.details for s in advisory.statements if s.kind == "ssvc"}
    assert ssvc == {"Exploitation": "none", "Automatable": "yes", "Technical Impact": "total"}
    assert [w.cwe_id for w in advisory.weaknesses] == ["CWE-506"]
    assert advisory.description is not None
    assert advisory.description.startswith("Malicious code was discovered in the upstream tarballs")
    first = advisory.references[0]
    assert first.url == "https://access.redhat.com/security/cve/CVE-2024-3094"
    assert first.type == "Vendor Advisory"


def test_duplicate_cwes_are_kept_once(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2022-1122")
    assert [w.cwe_id for w in advisory.weaknesses] == ["CWE-665", "CWE-824"]


def test_response_with_a_bad_record_in_the_middle() -> None:
    bad = _cve("CVE-2099-0002")
    del bad["metrics"]["cvssMetricV31"][0]["cvssData"]["vectorString"]
    outcomes = _inline(_response(_cve("CVE-2099-0001"), bad, _cve("CVE-2099-0003")))
    assert [type(o) for o in outcomes] == [Advisory, DocumentError, Advisory]
    first, error, third = outcomes
    assert isinstance(first, Advisory)
    assert isinstance(third, Advisory)
    assert isinstance(error, DocumentError)
    assert (first.id, third.id) == ("CVE-2099-0001", "CVE-2099-0003")
    assert (
        error.json_path == "$.vulnerabilities[1].cve.metrics.cvssMetricV31[0].cvssData.vectorString"
    )
    assert error.message == "required field is missing"
    assert first.description == "A flaw."  # the English one, not the first one
    assert first.published == dt.datetime(2099, 1, 1, 10, tzinfo=dt.UTC)
    [score] = first.scores
    assert (score.base_score, score.severity, score.source) == (9.8, "CRITICAL", "nvd@nist.gov")


def test_wrong_types_name_the_json_path() -> None:
    bad = _cve(
        "CVE-2099-0004",
        configurations=[
            {
                "nodes": [
                    {
                        "operator": "OR",
                        "cpeMatch": [
                            {"vulnerable": "yes", "criteria": "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*"}
                        ],
                    }
                ]
            }
        ],
    )
    [error] = _inline(_response(bad))
    assert isinstance(error, DocumentError)
    assert (
        error.json_path
        == "$.vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0].vulnerable"
    )
    bad = _cve(
        "CVE-2099-0005",
        configurations=[
            {
                "nodes": [
                    {"operator": "OR", "cpeMatch": [{"vulnerable": True, "criteria": "acme web"}]}
                ]
            }
        ],
    )
    [error] = _inline(_response(bad))
    assert isinstance(error, DocumentError)
    assert (
        error.json_path
        == "$.vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0].criteria"
    )
    [error] = _inline(_response({"sourceIdentifier": "x"}))
    assert isinstance(error, DocumentError)
    assert error.json_path == "$.vulnerabilities[0].cve.id"


def test_negated_nodes_duplicates_and_rejection() -> None:
    web = "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*"
    match = {"vulnerable": True, "criteria": web, "versionEndExcluding": "2.0"}
    cve = _cve(
        "CVE-2099-0006",
        vulnStatus="Rejected",
        descriptions=[{"lang": "en", "value": "** REJECT ** Duplicate of CVE-2099-0001."}],
        configurations=[
            {"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [match, dict(match)]}]},
            {
                "operator": "AND",
                "nodes": [
                    {"operator": "OR", "negate": False, "cpeMatch": [match]},
                    {
                        "operator": "OR",
                        "negate": True,
                        "cpeMatch": [
                            {"vulnerable": False, "criteria": "cpe:2.3:o:acme:os:1:*:*:*:*:*:*:*"}
                        ],
                    },
                    {
                        "operator": "OR",
                        "negate": False,
                        "cpeMatch": [
                            {"vulnerable": False, "criteria": "cpe:2.3:h:acme:box:-:*:*:*:*:*:*:*"}
                        ],
                    },
                ],
            },
        ],
    )
    [advisory] = _inline({"cve": cve})
    assert isinstance(advisory, Advisory)
    assert advisory.status is AdvisoryStatus.REJECTED
    assert advisory.withdrawn_at == dt.datetime(2099, 1, 2, 11, tzinfo=dt.UTC)
    assert [(p.ranges[0].vers, p.conditions) for p in advisory.affected] == [
        ("vers:generic/<2.0", ()),
        ("vers:generic/<2.0", (("cpe:2.3:h:acme:box:-:*:*:*:*:*:*:*",),)),
    ]
    assert all(p.fixed_versions == ("2.0",) for p in advisory.affected)


def _match(criteria: str, vulnerable: bool, **bounds: str) -> dict[str, Any]:
    return {"vulnerable": vulnerable, "criteria": criteria, **bounds}


FW1 = "cpe:2.3:o:acme:fw:1.0:*:*:*:*:*:*:*"
FW2 = "cpe:2.3:o:acme:fw:1.1:*:*:*:*:*:*:*"
HW_A = "cpe:2.3:h:acme:cam_a:-:*:*:*:*:*:*:*"
HW_B = "cpe:2.3:h:acme:cam_b:-:*:*:*:*:*:*:*"
APP = "cpe:2.3:a:acme:viewer:-:*:*:*:*:*:*:*"


def test_and_configuration_keeps_alternatives_and_requirements_apart() -> None:
    cve = _cve(
        "CVE-2099-0010",
        configurations=[
            {
                "operator": "AND",
                "nodes": [
                    {"operator": "OR", "cpeMatch": [_match(FW1, True), _match(FW2, True)]},
                    # the firmware runs on either camera: one group of two alternatives
                    {"operator": "OR", "cpeMatch": [_match(HW_A, False), _match(HW_B, False)]},
                    # ... and is affected only with the viewer: a second group
                    {"operator": "OR", "cpeMatch": [_match(APP, False)]},
                ],
            }
        ],
    )
    [advisory] = _inline({"cve": cve})
    assert isinstance(advisory, Advisory)
    assert [(p.identity.cpe, p.conditions) for p in advisory.affected] == [
        (FW1, ((HW_A, HW_B), (APP,))),
        (FW2, ((HW_A, HW_B), (APP,))),
    ]


def test_and_configuration_with_both_sides_vulnerable_and_an_and_node() -> None:
    cve = _cve(
        "CVE-2099-0011",
        configurations=[
            {
                "operator": "AND",
                "nodes": [
                    {"operator": "OR", "cpeMatch": [_match(FW1, True)]},
                    {"operator": "OR", "cpeMatch": [_match(HW_A, True), _match(HW_B, False)]},
                ],
            },
            {
                # a node whose matches must all hold: each other CPE is its own group
                "nodes": [
                    {
                        "operator": "AND",
                        "cpeMatch": [_match(FW2, True), _match(HW_A, False), _match(APP, False)],
                    }
                ]
            },
        ],
    )
    [advisory] = _inline({"cve": cve})
    assert isinstance(advisory, Advisory)
    assert [(p.identity.cpe, p.conditions) for p in advisory.affected] == [
        (FW1, ((HW_A, HW_B),)),  # the hardware node holds with either camera
        (HW_A, ((FW1,),)),  # the camera is affected when it runs the firmware
        (FW2, ((HW_A,), (APP,))),
    ]


def test_empty_version_end_is_unparsed_not_all() -> None:
    web = "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*"
    cve = _cve(
        "CVE-2099-0012",
        configurations=[
            {
                "nodes": [
                    {
                        "operator": "OR",
                        "cpeMatch": [
                            _match(web, True, versionEndExcluding=""),
                            _match(
                                web, True, versionStartIncluding="1.0", versionEndExcluding="2*"
                            ),
                        ],
                    }
                ]
            }
        ],
    )
    [advisory] = _inline({"cve": cve})
    assert isinstance(advisory, Advisory)
    empty, star = advisory.affected
    assert empty.ranges[0].kind is RangeKind.UNPARSED
    assert empty.ranges[0].raw == '{"versionEndExcluding":""}'
    assert range_contains(empty.ranges[0], "1.0") is None
    assert empty.fixed_versions == ()
    assert star.ranges[0].kind is RangeKind.UNPARSED
    assert star.ranges[0].raw == '{"versionEndExcluding":"2*","versionStartIncluding":"1.0"}'
    assert star.fixed_versions == ()  # '2*' is not a version to upgrade to


def test_bare_single_record_is_accepted() -> None:
    [advisory] = _inline(_cve("CVE-2099-0007"))
    assert isinstance(advisory, Advisory)
    assert advisory.id == "CVE-2099-0007"
    assert advisory.spec_version is None
    osv = {"id": "GHSA-xxxx", "modified": "2024-01-01T00:00:00Z", "affected": []}
    assert not NvdParser.accepts(
        sniff(InputDocument.from_bytes("osv.json", json.dumps(osv).encode()))
    )


@pytest.mark.slow
def test_large_response_is_streamed(advisories_dir: Path, tmp_path: Path) -> None:
    template = json.loads((advisories_dir / "nvd2" / "CVE-2024-3094.json").read_bytes())
    record = template["vulnerabilities"][0]
    size = len(json.dumps(record))
    count = (9 * 1024 * 1024) // size + 1
    items = []
    for index in range(count):
        item = copy.deepcopy(record)
        item["cve"]["id"] = f"CVE-2099-{index + 10000}"
        items.append(item)
    items[3]["cve"]["published"] = 12  # one bad record in the stream
    response = dict(template, resultsPerPage=count, totalResults=count, vulnerabilities=items)
    path = tmp_path / "nvd-large.json"
    path.write_text(json.dumps(response))
    assert path.stat().st_size > WHOLE_READ_LIMIT

    doc = document(path)
    found = sniff(doc)
    assert found.document is None
    assert NvdParser.accepts(found)
    outcomes = list(NvdParser().parse(doc, found))
    assert len(outcomes) == count
    errors = [o for o in outcomes if isinstance(o, DocumentError)]
    assert [e.json_path for e in errors] == ["$.vulnerabilities[3].cve.published"]
    advisories = [o for o in outcomes if isinstance(o, Advisory)]
    assert advisories[0].id == "CVE-2099-10000"
    assert advisories[-1].id == f"CVE-2099-{count - 1 + 10000}"
    assert advisories[0].spec_version == "2.0"
    assert advisories[0].scores[0].base_score == 10.0
    assert [p.ranges[0].vers for p in advisories[0].affected[:2]] == [
        "vers:generic/5.6.0",
        "vers:generic/5.6.1",
    ]
