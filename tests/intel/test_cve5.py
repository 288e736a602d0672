"""CVE JSON 5 parser: real cvelistV5 records from ../shared/data and small inline edge cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    RangeKind,
    RemediationCategory,
)
from iotwarden.core.versions import range_contains
from iotwarden.intel.cve5 import Cve5Parser
from iotwarden.intel.detect import sniff
from iotwarden.intel.interface import InputDocument, ParseOutcome
from iotwarden.intel.nvd import NvdParser
from tests.conftest import document


def _outcomes(doc: InputDocument) -> list[ParseOutcome]:
    found = sniff(doc)
    assert Cve5Parser.accepts(found)
    return list(Cve5Parser().parse(doc, found))


def _advisory(advisories_dir: Path, name: str) -> Advisory:
    outcomes = _outcomes(document(advisories_dir / "cve5" / f"{name}.json"))
    assert len(outcomes) == 1
    advisory = outcomes[0]
    assert isinstance(advisory, Advisory)
    return advisory


def _inline(record: dict[str, Any]) -> list[ParseOutcome]:
    return _outcomes(InputDocument.from_bytes("inline.json", json.dumps(record).encode()))


def _record(**cna: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "providerMetadata": {"orgId": "x", "shortName": "example"},
        "descriptions": [{"lang": "en", "value": "A flaw."}],
    }
    base.update(cna)
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": "CVE-2099-0001",
            "state": "PUBLISHED",
            "assignerShortName": "example",
            "datePublished": "2099-01-02T03:04:05.000Z",
            "dateUpdated": "2099-02-03T00:00:00Z",
        },
        "containers": {"cna": base},
    }


def _affected_of(advisory: Advisory, status: AffectedStatus) -> list[AffectedProduct]:
    return [p for p in advisory.affected if p.status is status]


def test_every_cve5_file_parses_without_errors(advisories_dir: Path) -> None:
    files = sorted((advisories_dir / "cve5").glob("*.json"))
    assert len(files) >= 20
    for path in files:
        doc = document(path)
        found = sniff(doc)
        assert not NvdParser.accepts(found), path.name
        outcomes = _outcomes(doc)
        assert [type(o) for o in outcomes] == [Advisory], path.name
        advisory = outcomes[0]
        assert isinstance(advisory, Advisory)
        assert advisory.key == advisory.id == path.stem
        assert advisory.vuln_ids == (path.stem,)
        assert advisory.aliases == ()
        assert json.loads(advisory.raw) == json.loads(path.read_bytes())
        assert advisory.published is not None
        assert advisory.published.tzinfo is not None
        assert advisory.affected, path.name


def test_log4shell_changes_split_into_intervals(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2021-44228")
    assert advisory.publisher == "apache"
    assert advisory.revision == "5.1"
    assert advisory.published == dt.datetime(2021, 12, 10, tzinfo=dt.UTC)
    assert advisory.modified == dt.datetime(2025, 2, 4, 14, 25, 37, 215000, tzinfo=dt.UTC)
    assert advisory.title is not None
    assert advisory.title.startswith("Apache Log4j2 JNDI features")
    assert advisory.description is not None
    assert advisory.description.startswith("Apache Log4j2 2.0-beta9 through 2.15.0")

    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    [unaffected] = _affected_of(advisory, AffectedStatus.NOT_AFFECTED)
    assert affected.identity.vendor == "Apache Software Foundation"
    assert affected.identity.product == "Apache Log4j2"
    assert affected.source_path == "$.containers.cna.affected[0]"
    # version 2.0-beta9 lessThan 'log4j-core*' with changes at 2.3.1, 2.4, 2.12.2, 2.13.0, 2.15.0
    assert [r.vers for r in affected.ranges] == [
        "vers:generic/>=2.0-beta9|<2.3.1",
        "vers:generic/>=2.4|<2.12.2",
        "vers:generic/>=2.13.0|<2.15.0",
    ]
    # the wildcard upper bound 'log4j-core*' is an open end, kept in raw
    assert [r.vers for r in unaffected.ranges] == [
        "vers:generic/>=2.3.1|<2.4",
        "vers:generic/>=2.12.2|<2.13.0",
        "vers:generic/>=2.15.0",
    ]
    assert all("log4j-core*" in (r.raw or "") for r in affected.ranges)
    assert affected.fixed_versions == ("2.3.1", "2.12.2", "2.15.0")
    assert unaffected.fixed_versions == ()
    assert any(range_contains(r, "2.14.1") for r in affected.ranges)
    assert not any(range_contains(r, "2.12.2") for r in affected.ranges)
    assert not any(range_contains(r, "2.16.0") for r in affected.ranges)
    [upgrade] = [r for r in advisory.remediations if r.category is RemediationCategory.UPGRADE]
    assert upgrade.fixed_versions == ("2.3.1", "2.12.2", "2.15.0")

    # CISA ADP: a CVSS 3.1 score, SSVC decisions and the KEV entry
    [score] = advisory.scores
    assert (score.source, score.version, score.base_score) == ("CISA-ADP", "3.1", 10.0)
    assert score.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    ssvc = {s.category: s.details for s in advisory.statements if s.kind == "ssvc"}
    assert ssvc == {"Exploitation": "active", "Automatable": "yes", "Technical Impact": "total"}
    [kev] = advisory.kev
    assert kev.cve_id == "CVE-2021-44228"
    assert kev.date_added == dt.date(2021, 12, 10)
    assert kev.source == "cve5:CISA-ADP"
    assert [w.cwe_id for w in advisory.weaknesses] == ["CWE-502", "CWE-400", "CWE-20"]
    # the CVE Program ADP repeats the CNA's references: merged by URL
    urls = [r.url for r in advisory.references]
    assert len(urls) == len(set(urls))
    assert "https://logging.apache.org/log4j/2.x/security.html" in urls


def test_na_product_and_version_is_unparsed_not_all(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2023-38408")
    [product] = advisory.affected
    assert product.identity.vendor is None
    assert product.identity.product is None
    assert product.status is AffectedStatus.AFFECTED
    [rng] = product.ranges
    assert rng.kind is RangeKind.UNPARSED
    assert rng.raw == "n/a"
    assert range_contains(rng, "9.3p1") is None
    assert advisory.revision == "5.0"
    assert advisory.publisher == "mitre"


def test_cisa_adp_ssvc_statements(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2016-15012")
    ssvc = [s for s in advisory.statements if s.kind == "ssvc"]
    assert [(s.category, s.details) for s in ssvc] == [
        ("Exploitation", "none"),
        ("Automatable", "yes"),
        ("Technical Impact", "total"),
    ]
    stamp = dt.datetime(2025, 4, 8, 20, 30, 4, 355647, tzinfo=dt.UTC)
    assert all(s.date == stamp and s.vuln_id == "CVE-2016-15012" for s in ssvc)
    assert advisory.kev == ()
    assert [(s.version, s.base_score, s.source) for s in advisory.scores] == [
        ("3.1", 5.5, "VulDB"),
        ("3.0", 5.5, "VulDB"),
        ("2.0", 5.2, "VulDB"),
    ]
    # '4.x' is the 4 series
    [product] = advisory.affected
    assert product.identity.product == "SalesforceMobileSDK-Windows"
    assert [r.vers for r in product.ranges] == ["vers:generic/>=4|<5"]
    assert product.ranges[0].raw == "4.x"


def test_github_free_text_versions(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2023-22466")
    [product] = advisory.affected
    assert (product.identity.vendor, product.identity.product) == ("tokio-rs", "tokio")
    assert [r.vers for r in product.ranges] == [
        "vers:generic/>=1.7.0|<1.18.4",
        "vers:generic/>=1.19.0|<1.20.3",
        "vers:generic/>=1.21.0|<1.23.1",
    ]
    assert product.ranges[0].raw == ">= 1.7.0, < 1.18.4"


def test_snyk_unspecified_bounds(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2022-25929")
    [product] = advisory.affected
    assert product.identity.vendor is None  # 'n/a'
    assert product.identity.product == "smoothie"
    first, second = product.ranges
    # 1.31.0 lessThan 'unspecified': the upper bound is unknown, so nothing is guessed
    assert first.kind is RangeKind.UNPARSED
    assert first.raw is not None
    assert '"lessThan":"unspecified"' in first.raw
    # 'unspecified' lessThan 1.36.1: before 1.36.1
    assert second.vers == "vers:generic/<1.36.1"


def test_linux_kernel_git_and_series_wildcards(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2025-21772")
    git_entry = [p for p in advisory.affected if p.source_path == "$.containers.cna.affected[0]"]
    [git_product] = git_entry
    assert git_product.status is AffectedStatus.AFFECTED
    assert git_product.default_status is AffectedStatus.NOT_AFFECTED
    assert len(git_product.ranges) == 8
    assert all(r.kind is RangeKind.GIT and r.scheme == "git" for r in git_product.ranges)
    assert "a3e77da9f843e4ab93917d30c314f0283e28c124" in (git_product.ranges[0].raw or "")

    [semver_entry] = [
        p for p in advisory.affected if p.source_path == "$.containers.cna.affected[1]"
    ]
    assert semver_entry.status is AffectedStatus.NOT_AFFECTED
    assert semver_entry.default_status is AffectedStatus.AFFECTED
    vers = [r.vers for r in semver_entry.ranges]
    # 5.4.291 lessThanOrEqual 5.4.* -> the rest of the 5.4 series
    assert vers[0] == "vers:semver/>=5.4.291|<5.5"
    assert vers[-1] == "vers:generic/>=6.14"  # 6.14 lessThanOrEqual '*'
    assert range_contains(semver_entry.ranges[0], "5.4.300") is True
    assert range_contains(semver_entry.ranges[0], "5.4.290") is False
    [upgrade] = [r for r in advisory.remediations if r.category is RemediationCategory.UPGRADE]
    assert upgrade.fixed_versions == (
        "5.4.291",
        "5.10.235",
        "5.15.179",
        "6.1.129",
        "6.6.79",
        "6.12.16",
        "6.13.4",
        "6.14",
    )
    # cpeApplicability: NVD-style CPE matches
    cpe_products = [p for p in advisory.affected if p.identity.cpe]
    assert len(cpe_products) == 8
    assert cpe_products[0].identity.cpe == "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*"
    assert cpe_products[0].ranges[0].vers == "vers:generic/<5.4.291"
    assert cpe_products[0].fixed_versions == ("5.4.291",)
    assert cpe_products[0].source_path == (
        "$.containers.cna.cpeApplicability[0].nodes[0].cpeMatch[0]"
    )


def test_red_hat_default_status_cpes_and_package(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2024-2002")
    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    assert affected.identity.product == "libdwarf"
    assert affected.identity.product_ref == "libdwarf"
    assert affected.identity.ecosystem == "https://github.com/davea42/libdwarf-code/"
    assert affected.default_status is AffectedStatus.NOT_AFFECTED
    assert [r.vers for r in affected.ranges] == ["vers:generic/0.1.0"]
    assert affected.fixed_versions == ("0.9.2",)  # unaffected 0.9.2 above affected 0.1.0
    [rhel7] = [p for p in advisory.affected if p.identity.product == "Red Hat Enterprise Linux 7"]
    assert rhel7.identity.cpe == "cpe:2.3:o:redhat:enterprise_linux:7:*:*:*:*:*:*:*"
    assert rhel7.status is AffectedStatus.UNKNOWN
    assert rhel7.default_status is AffectedStatus.UNKNOWN
    assert rhel7.ranges[0].kind is RangeKind.ALL
    assert rhel7.ranges[0].raw == "defaultStatus: unknown"
    workarounds = [r for r in advisory.remediations if r.category is RemediationCategory.WORKAROUND]
    assert len(workarounds) == 1
    assert workarounds[0].details is not None
    assert workarounds[0].details.startswith("Mitigation for this issue is either not available")
    assert advisory.revision == "5.2"
    severity = [s for s in advisory.statements if s.kind == "metric"]
    assert [(s.category, s.details) for s in severity] == [("Red Hat severity rating", "Moderate")]


def test_curl_single_version_bounds_are_exact(advisories_dir: Path) -> None:
    advisory = _advisory(advisories_dir, "CVE-2024-7264")
    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    assert affected.ranges[0].vers == "vers:semver/8.9.0"  # 8.9.0 lessThanOrEqual 8.9.0
    assert affected.default_status is AffectedStatus.NOT_AFFECTED


def test_rejected_record() -> None:
    record = {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": "CVE-2099-0002",
            "state": "REJECTED",
            "assignerShortName": "mitre",
            "dateUpdated": "2099-03-01T00:00:00Z",
            "dateRejected": "2099-03-01T00:00:00Z",
        },
        "containers": {
            "cna": {
                "providerMetadata": {"orgId": "x"},
                "rejectedReasons": [{"lang": "en", "value": "DO NOT USE. Duplicate."}],
            }
        },
    }
    [advisory] = _inline(record)
    assert isinstance(advisory, Advisory)
    assert advisory.status is AdvisoryStatus.REJECTED
    assert advisory.description == "DO NOT USE. Duplicate."
    assert advisory.withdrawn_at == dt.datetime(2099, 3, 1, tzinfo=dt.UTC)
    assert advisory.affected == ()


def test_star_is_all_and_extra_cpes_repeat_ranges() -> None:
    record = _record(
        affected=[
            {
                "vendor": "Acme",
                "product": "Router",
                "cpes": ["cpe:2.3:h:acme:router:-:*:*:*:*:*:*:*", "cpe:/o:acme:router_fw"],
                "versions": [
                    {"version": "*", "status": "affected"},
                    {"version": "2.0", "status": "unaffected"},
                ],
            }
        ]
    )
    [advisory] = _inline(record)
    assert isinstance(advisory, Advisory)
    affected = _affected_of(advisory, AffectedStatus.AFFECTED)
    assert [p.identity.cpe for p in affected] == [
        "cpe:2.3:h:acme:router:-:*:*:*:*:*:*:*",
        "cpe:2.3:o:acme:router_fw:*:*:*:*:*:*:*:*",
    ]
    assert all(p.ranges[0].kind is RangeKind.ALL for p in affected)
    assert all(p.fixed_versions == ("2.0",) for p in affected)
    assert advisory.title is None
    assert advisory.description == "A flaw."


def _one_entry(versions: list[dict[str, Any]], default: str | None) -> Advisory:
    entry: dict[str, Any] = {"vendor": "Acme", "product": "Router", "versions": versions}
    if default is not None:
        entry["defaultStatus"] = default
    [advisory] = _inline(_record(affected=[entry]))
    assert isinstance(advisory, Advisory)
    return advisory


def _upgrades(advisory: Advisory) -> list[tuple[str, ...]]:
    return [
        r.fixed_versions for r in advisory.remediations if r.category is RemediationCategory.UPGRADE
    ]


A, U = "affected", "unaffected"


@pytest.mark.parametrize(
    ("versions", "default", "fixed"),
    [
        # the common shape: lessThan is the first fixed version
        ([{"version": "1.0", "lessThan": "1.2", "status": A}], "unaffected", ("1.2",)),
        ([{"version": "1.0", "lessThan": "1.2", "status": A}], None, ("1.2",)),
        # ... unless the versions after it are affected or unknown by default
        ([{"version": "1.0", "lessThan": "1.2", "status": A}], "affected", ()),
        ([{"version": "1.0", "lessThan": "1.2", "status": A}], "unknown", ()),
        # lessThanOrEqual names the last affected version, not a fix
        ([{"version": "1.0", "lessThanOrEqual": "1.2", "status": A}], "unaffected", ()),
        # an unaffected version inside the affected range is no fix (it would be a downgrade)
        (
            [
                {"version": "1.0", "lessThan": "2.0", "status": A},
                {"version": "1.5", "status": U},
            ],
            "unaffected",
            ("2.0",),
        ),
        (
            [
                {"version": "1.0", "lessThan": "2.0", "status": A},
                {"version": "1.5", "status": U},
            ],
            "affected",
            (),
        ),
        # the end of one affected interval is the start of another: still affected
        (
            [
                {"version": "1.0", "lessThan": "1.2", "status": A},
                {"version": "1.2", "lessThan": "1.4", "status": A},
            ],
            "unaffected",
            ("1.4",),
        ),
        (
            [
                {"version": "1.0", "lessThan": "1.2", "status": A},
                {"version": "1.2", "lessThan": "1.4", "status": "unknown"},
            ],
            "unaffected",
            (),
        ),
        # an unaffected interval that starts where the affected one ends
        (
            [
                {"version": "1.0", "lessThan": "1.2", "status": A},
                {"version": "1.2", "lessThan": "*", "status": U},
            ],
            "affected",
            ("1.2",),
        ),
        # changes: the unaffected part of the interval starts at the fix
        (
            [
                {
                    "version": "1.0",
                    "lessThan": "2.0",
                    "status": A,
                    "changes": [{"at": "1.5", "status": U}],
                }
            ],
            "unaffected",
            ("1.5",),
        ),
        # exact affected versions and an unaffected one above them
        (
            [
                {"version": "1.0", "status": A},
                {"version": "1.1", "status": A},
                {"version": "2.0", "status": U},
            ],
            "unaffected",
            ("2.0",),
        ),
        # ... and one between them
        (
            [
                {"version": "1.0", "status": A},
                {"version": "1.1", "status": U},
                {"version": "1.2", "status": A},
            ],
            "unaffected",
            ("1.1",),
        ),
        # a wildcard end that cannot be read names no fix
        ([{"version": "1.0", "lessThan": "4*", "status": A}], "unaffected", ()),
    ],
)
def test_fixed_versions(
    versions: list[dict[str, Any]], default: str | None, fixed: tuple[str, ...]
) -> None:
    advisory = _one_entry(versions, default)
    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    assert affected.fixed_versions == fixed
    assert _upgrades(advisory) == ([fixed] if fixed else [])


def test_common_shape_gives_an_upgrade_remediation() -> None:
    advisory = _one_entry([{"version": "1.0", "lessThan": "1.2", "status": A}], "unaffected")
    [upgrade] = [r for r in advisory.remediations if r.category is RemediationCategory.UPGRADE]
    assert upgrade.details == "upgrade Acme Router to a fixed version: 1.2"
    assert upgrade.vuln_id == "CVE-2099-0001"


def test_version_wildcard_bound_is_unparsed_not_open() -> None:
    advisory = _one_entry([{"version": "1.0", "lessThan": "4*", "status": A}], "unaffected")
    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    [rng] = affected.ranges
    assert rng.kind is RangeKind.UNPARSED
    assert rng.raw == '{"lessThan":"4*","status":"affected","version":"1.0"}'
    assert range_contains(rng, "5.0") is None
    # a version written as a wildcard is not an exact version either
    advisory = _one_entry([{"version": "4*", "status": A}], "unaffected")
    [affected] = _affected_of(advisory, AffectedStatus.AFFECTED)
    assert affected.ranges[0].kind is RangeKind.UNPARSED
    assert affected.ranges[0].raw == "4*"


@pytest.mark.parametrize(
    ("versions", "path", "message"),
    [
        (
            [
                {"version": "1.0", "status": "affected"},
                {"version": "1.0", "status": "affected", "lessThan": 2},
            ],
            "$.containers.cna.affected[0].versions[1].lessThan",
            "expected a string, found a number",
        ),
        (
            [{"status": "affected"}],
            "$.containers.cna.affected[0].versions[0].version",
            "required field is missing",
        ),
        (
            [{"version": "1.0", "status": "vulnerable"}],
            "$.containers.cna.affected[0].versions[0].status",
            "status must be 'affected', 'unaffected' or 'unknown', not 'vulnerable'",
        ),
        (
            [{"version": "1.0", "status": "affected", "lessThan": "2", "lessThanOrEqual": "3"}],
            "$.containers.cna.affected[0].versions[0].lessThanOrEqual",
            "lessThan and lessThanOrEqual are both given",
        ),
        (
            [{"version": "1.0", "status": "affected", "lessThan": "2", "changes": [{"at": "1.5"}]}],
            "$.containers.cna.affected[0].versions[0].changes[0].status",
            "required field is missing",
        ),
    ],
)
def test_malformed_versions_name_the_json_path(
    versions: list[dict[str, Any]], path: str, message: str
) -> None:
    record = _record(affected=[{"vendor": "Acme", "product": "Router", "versions": versions}])
    with pytest.raises(DocumentError) as caught:
        _inline(record)
    assert caught.value.json_path == path
    assert caught.value.message == message
    assert caught.value.origin == "inline.json"


def test_missing_cve_id_and_wrong_container_types() -> None:
    record = _record()
    del record["cveMetadata"]["cveId"]
    with pytest.raises(DocumentError) as caught:
        _inline(record)
    assert caught.value.json_path == "$.cveMetadata.cveId"
    assert caught.value.message == "required field is missing"

    record = _record(affected={"vendor": "Acme"})
    with pytest.raises(DocumentError) as caught:
        _inline(record)
    assert caught.value.json_path == "$.containers.cna.affected"
    assert caught.value.message == "expected an array, found an object"

    record = _record(metrics=[{"cvssV3_1": {"baseScore": 9.8}}])
    with pytest.raises(DocumentError) as caught:
        _inline(record)
    assert caught.value.json_path == "$.containers.cna.metrics[0].cvssV3_1.vectorString"


def test_accepts_by_data_type_or_metadata() -> None:
    doc = InputDocument.from_bytes("x.json", json.dumps(_record()).encode())
    assert Cve5Parser.accepts(sniff(doc))
    osv = {"id": "GHSA-xxxx", "modified": "2024-01-01T00:00:00Z", "affected": []}
    doc = InputDocument.from_bytes("osv.json", json.dumps(osv).encode())
    assert not Cve5Parser.accepts(sniff(doc))
