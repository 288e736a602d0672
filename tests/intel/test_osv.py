"""OSV 1.x: the real records in shared/data/advisories/osv, plus inline edge cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedStatus,
    Constraint,
    RangeKind,
    Reference,
    RemediationCategory,
    Statement,
    Weakness,
)
from iotwarden.core.versions import range_contains
from iotwarden.intel.detect import WHOLE_READ_LIMIT, sniff
from iotwarden.intel.interface import InputDocument, ParseOutcome, Sniff
from iotwarden.intel.osv import OsvParser
from tests.conftest import document

UTC = dt.UTC


def _parse_path(path: Path) -> list[ParseOutcome]:
    doc = document(path)
    found = sniff(doc)
    assert OsvParser.accepts(found)
    return list(OsvParser().parse(doc, found))


def _one(path: Path) -> Advisory:
    (result,) = _parse_path(path)
    assert isinstance(result, Advisory)
    return result


def _parse_value(value: Any, origin: str = "inline.json") -> list[ParseOutcome]:
    doc = InputDocument.from_bytes(origin, orjson.dumps(value))
    found = sniff(doc)
    assert OsvParser.accepts(found)
    return list(OsvParser().parse(doc, found))


def _record(**fields: Any) -> dict[str, Any]:
    return {"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-05-01T10:00:00Z", **fields}


def _advisory(record: dict[str, Any]) -> Advisory:
    (result,) = _parse_value(record)
    assert isinstance(result, Advisory)
    return result


def _error(record: Any) -> DocumentError:
    # parsed directly: a record without "id" is not even recognised as OSV by detection
    doc = InputDocument.from_bytes("inline.json", orjson.dumps(record))
    with pytest.raises(DocumentError) as info:
        list(OsvParser().parse(doc, sniff(doc)))
    return info.value


# --- real records -----------------------------------------------------------------------------


def test_every_real_record_parses_to_one_advisory(advisories_dir: Path) -> None:
    files = sorted((advisories_dir / "osv").glob("*.json"))
    assert len(files) == 26
    for path in files:
        advisory = _one(path)
        assert advisory.source is AdvisoryFormat.OSV
        assert advisory.key == advisory.id
        assert advisory.id.replace(":", "_") == path.stem
        assert advisory.vuln_ids == (advisory.id,)
        assert advisory.id not in advisory.aliases
        assert orjson.loads(advisory.raw) == orjson.loads(path.read_bytes())
        assert advisory.status is AdvisoryStatus.ACTIVE


def test_log4shell_record_dates_and_title(advisories_dir: Path) -> None:
    advisory = _one(advisories_dir / "osv" / "CVE-2021-44228.json")
    assert advisory.id == "CVE-2021-44228"
    assert advisory.title == "Log4Shell demo entry"
    assert advisory.modified == dt.datetime(2025, 2, 4, tzinfo=UTC)
    assert advisory.published == dt.datetime(2023, 8, 14, tzinfo=UTC)
    assert advisory.revision == "2025-02-04T00:00:00Z"
    assert advisory.affected == ()
    assert advisory.git_only is False


def test_fractional_second_timestamp(advisories_dir: Path) -> None:
    advisory = _one(advisories_dir / "osv" / "CVE-2.json")
    assert advisory.modified == dt.datetime(2025, 10, 13, 15, 48, 5, 718650, tzinfo=UTC)
    assert advisory.revision == "2025-10-13T15:48:05.718650Z"


def test_multi_ecosystem_ranges_fixes_and_remediation(advisories_dir: Path) -> None:
    advisory = _one(advisories_dir / "osv" / "MULTI-ECO-FIX-DEMO.json")
    pypi, npm = advisory.affected
    assert pypi.identity.product == "demo-lib"
    assert pypi.identity.ecosystem == "PyPI"
    assert pypi.identity.product_ref == "PyPI/demo-lib"
    assert pypi.identity.purl is None
    assert pypi.status is AffectedStatus.AFFECTED
    assert pypi.source_path == "$.affected[0]"
    (pypi_range,) = pypi.ranges
    assert pypi_range.kind is RangeKind.CONSTRAINTS
    assert pypi_range.scheme == "semver"  # a SEMVER range, whatever the ecosystem
    assert pypi_range.constraints == (Constraint("<", "1.2.0"),)
    assert pypi_range.raw == "introduced=0 fixed=1.2.0"
    assert pypi_range.vers == "vers:semver/<1.2.0"
    assert range_contains(pypi_range, "1.1.9") is True
    assert range_contains(pypi_range, "1.2.0") is False
    assert pypi.fixed_versions == ("1.2.0",)

    # introduced 0 and no fix: the source does say every version
    (npm_range,) = npm.ranges
    assert npm.identity.product_ref == "npm/demo-lib"
    assert npm_range.kind is RangeKind.ALL
    assert npm_range.raw == "introduced=0"
    assert npm.fixed_versions == ()
    assert npm.source_path == "$.affected[1]"

    (remediation,) = advisory.remediations
    assert remediation.category is RemediationCategory.UPGRADE
    assert remediation.fixed_versions == ("1.2.0",)
    assert remediation.product_refs == ("PyPI/demo-lib",)
    assert advisory.git_only is False


def test_alias_chain_records(advisories_dir: Path) -> None:
    osv = advisories_dir / "osv"
    # aliases stay aliases; upstream ids are kept apart (minus those that are also aliases)
    alias_cve_1 = _one(osv / "ALIAS-CVE-1.json")
    assert alias_cve_1.aliases == ("CVE-1", "ALIAS")
    assert alias_cve_1.upstream == ("CVE-2",)
    cve_3 = _one(osv / "CVE-3.json")
    assert cve_3.aliases == ("CVE-4",)
    assert cve_3.upstream == ("CVE-1", "CVE-2")
    assert _one(osv / "CVE-2.json").aliases == ("CVE-1",)
    assert _one(osv / "CVE-1.json").aliases == ()
    assert _one(osv / "CVE-2.json").upstream == ()  # CVE-1 is already an alias
    assert _one(osv / "CYCLE-ROOT-1.json").upstream == ("CYCLE-ROOT-2",)
    assert _one(osv / "CYCLE-ROOT-2.json").upstream == ("CYCLE-ROOT-1",)
    assert _one(osv / "CYCLE-ROOT-3.json").upstream == ("CYCLE-ROOT-1", "CYCLE-ROOT-2")
    assert _one(osv / "UBUNTU-CVE-2023-21400.json").upstream == ("CVE-2023-21400",)


def test_distro_notice_upstreams(advisories_dir: Path) -> None:
    osv = advisories_dir / "osv"
    usn = _one(osv / "USN-6332-1.json")
    assert usn.aliases == ()
    assert len(usn.upstream) == 68
    assert usn.upstream[:2] == ("CVE-2022-40982", "CVE-2022-4269")
    assert usn.upstream[-1] == "UBUNTU-CVE-2023-4015"
    dla = _one(osv / "DLA-3623-1.json")
    assert len(dla.upstream) == 44
    assert "CVE-2023-21400" in dla.upstream
    assert dla.vuln_ids == ("DLA-3623-1",)
    suse = _one(osv / "SUSE-SU-2023_3313-1.json")
    assert suse.key == "SUSE-SU-2023:3313-1"


def test_packages_without_ranges(advisories_dir: Path) -> None:
    advisory = _one(advisories_dir / "osv" / "CVE-5.json")
    refs = [a.identity.product_ref for a in advisory.affected]
    assert refs[0] == "Red Hat:rhel_e4s:9.2::appstream/package1"
    assert refs[2] == "Ubuntu:ubuntu_pro:22.04::main/package3"
    assert all(a.ranges == () for a in advisory.affected)
    assert advisory.remediations == ()
    assert advisory.git_only is False  # no range at all is not "git only"
    assert len(_one(advisories_dir / "osv" / "CVE-2.json").affected) == 9


# --- inline records ---------------------------------------------------------------------------


def test_debian_and_ubuntu_ranges_use_the_deb_scheme() -> None:
    advisory = _advisory(
        _record(
            id="USN-9999-1",
            upstream=["CVE-2023-4004"],
            affected=[
                {
                    "package": {
                        "ecosystem": "Ubuntu:22.04:LTS",
                        "name": "linux",
                        "purl": "pkg:deb/ubuntu/linux@5.15.0-83.92?arch=source&distro=jammy",
                    },
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "5.15.0-83.92"}],
                        }
                    ],
                    "versions": ["5.15.0-82.91", "5.15.0-76.83"],
                },
                {
                    "package": {"ecosystem": "Debian:11", "name": "openssl"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"}],
                        }
                    ],
                },
            ],
        )
    )
    ubuntu, debian = advisory.affected
    assert ubuntu.identity.purl == "pkg:deb/ubuntu/linux@5.15.0-83.92?arch=source&distro=jammy"
    events, listed = ubuntu.ranges
    assert events.scheme == "deb"
    assert range_contains(events, "5.15.0-82.91") is True
    assert range_contains(events, "5.15.0-83.92") is False
    assert range_contains(events, "5.15.0-100.1") is False
    assert listed.scheme == "deb"
    assert listed.constraints == (Constraint("=", "5.15.0-82.91"), Constraint("=", "5.15.0-76.83"))
    assert ubuntu.fixed_versions == ("5.15.0-83.92",)
    (deb_range,) = debian.ranges
    assert deb_range.vers == "vers:deb/<1.1.1w-0+deb11u1"
    assert range_contains(deb_range, "1.1.1n-0+deb11u5") is True
    assert [r.product_refs for r in advisory.remediations] == [
        ("Ubuntu:22.04:LTS/linux",),
        ("Debian:11/openssl",),
    ]
    assert advisory.upstream == ("CVE-2023-4004",)


@pytest.mark.parametrize(
    ("ecosystem", "scheme", "lower", "higher"),
    [
        ("Wolfi", "apk", "1.2.3-r9", "1.2.3-r10"),
        ("Chainguard", "apk", "2.0-r1", "2.0-r2"),
        ("openEuler:22.03-LTS-SP1", "rpm", "1.0-9.oe2203", "1.0-10.oe2203"),
        ("Azure Linux:3", "rpm", "2:1.0-1", "3:0.1-1"),
        ("Hex", "hex", "1.0.0-rc.1", "1.0.0"),
    ],
)
def test_distribution_ecosystems_use_their_schemes(
    ecosystem: str, scheme: str, lower: str, higher: str
) -> None:
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": ecosystem, "name": "demo"},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": higher}]}
                    ],
                }
            ]
        )
    )
    (version_range,) = advisory.affected[0].ranges
    assert version_range.scheme == scheme
    assert range_contains(version_range, lower) is True
    assert range_contains(version_range, higher) is False


def test_two_introduced_in_a_row_keep_the_earliest() -> None:
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [
                                {"introduced": "1.5"},
                                {"introduced": "1.0"},
                                {"fixed": "2.0"},
                            ],
                        }
                    ],
                }
            ]
        )
    )
    (version_range,) = advisory.affected[0].ranges
    assert version_range.vers == "vers:pypi/>=1.0|<2.0"
    assert range_contains(version_range, "1.2") is True
    assert advisory.affected[0].fixed_versions == ("2.0",)


def test_last_affected_is_inclusive() -> None:
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "1.0.0"}, {"last_affected": "1.4.2"}],
                        }
                    ],
                }
            ]
        )
    )
    (affected,) = advisory.affected
    (version_range,) = affected.ranges
    assert version_range.scheme == "pypi"
    assert version_range.vers == "vers:pypi/>=1.0.0|<=1.4.2"
    assert version_range.raw == "introduced=1.0.0 last_affected=1.4.2"
    assert range_contains(version_range, "1.4.2") is True
    assert range_contains(version_range, "1.4.3") is False
    assert range_contains(version_range, "0.9") is False
    assert affected.fixed_versions == ()
    assert advisory.remediations == ()


def test_several_intervals_and_limit() -> None:
    events = [
        {"introduced": "2.0.0"},
        {"fixed": "2.1.0"},
        {"introduced": "1.0.0"},
        {"fixed": "1.2.0"},
        {"limit": "3.0.0"},
    ]
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": "npm", "name": "left-pad"},
                    "ranges": [{"type": "SEMVER", "events": events}],
                }
            ]
        )
    )
    (affected,) = advisory.affected
    (version_range,) = affected.ranges
    assert version_range.vers == "vers:semver/>=1.0.0|<1.2.0|>=2.0.0|<2.1.0"
    assert version_range.raw == (
        "introduced=2.0.0 fixed=2.1.0 introduced=1.0.0 fixed=1.2.0 limit=3.0.0"
    )
    assert range_contains(version_range, "1.1.0") is True
    assert range_contains(version_range, "1.5.0") is False
    assert range_contains(version_range, "2.0.5") is True
    assert affected.fixed_versions == ("2.1.0", "1.2.0")


def test_git_only_record() -> None:
    repo = "https://github.com/example/firmware-lib"
    introduced = "a" * 40
    fixed = "b" * 40
    advisory = _advisory(
        _record(
            id="OSV-2024-1",
            affected=[
                {
                    "ranges": [
                        {
                            "type": "GIT",
                            "repo": repo,
                            "events": [{"introduced": introduced}, {"fixed": fixed}],
                        }
                    ]
                }
            ],
        )
    )
    assert advisory.git_only is True
    (affected,) = advisory.affected
    (git_range,) = affected.ranges
    assert git_range.kind is RangeKind.GIT
    assert git_range.scheme == "git"
    assert git_range.raw == f"{repo} introduced={introduced} fixed={fixed}"
    assert range_contains(git_range, "1.0") is None
    assert affected.identity.product_ref == repo
    assert affected.identity.product is None
    assert affected.fixed_versions == ()  # commits are not versions
    assert advisory.remediations == ()


def test_git_range_with_versions_list_is_not_git_only() -> None:
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": "OSS-Fuzz", "name": "libpng"},
                    "ranges": [
                        {
                            "type": "GIT",
                            "repo": "https://github.com/x/y",
                            "events": [{"introduced": "0"}],
                        }
                    ],
                    "versions": ["v1.6.36", "v1.6.37"],
                }
            ]
        )
    )
    assert advisory.git_only is False
    (affected,) = advisory.affected
    git_range, listed = affected.ranges
    assert git_range.kind is RangeKind.GIT
    assert listed.scheme == "generic"
    assert range_contains(listed, "1.6.37") is True  # generic scheme ignores the leading v


def test_withdrawn_record() -> None:
    advisory = _advisory(
        _record(withdrawn="2024-06-02T08:30:00+02:00", summary="Duplicate of GHSA-xxxx")
    )
    assert advisory.status is AdvisoryStatus.WITHDRAWN
    assert advisory.withdrawn_at == dt.datetime(2024, 6, 2, 6, 30, tzinfo=UTC)
    assert advisory.affected == ()
    assert advisory.title == "Duplicate of GHSA-xxxx"


def test_scores_weaknesses_references_and_metadata() -> None:
    record = _record(
        schema_version="1.6.0",
        aliases=["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
        related=["CVE-2024-0002"],
        summary="Heap overflow in demo",
        details="A long description.",
        published="2024-04-30T00:00:00Z",
        severity=[
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {"type": "Ubuntu", "score": "high"},
        ],
        affected=[
            {
                "package": {"ecosystem": "Maven", "name": "org.demo:demo"},
                "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}],
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}
                ],
            }
        ],
        references=[
            {"type": "ADVISORY", "url": "https://example.com/a"},
            {"type": "FIX", "url": "https://example.com/fix"},
        ],
        database_specific={"cwe_ids": ["CWE-787", "CWE-787", "CWE-20"], "severity": "HIGH"},
    )
    advisory = _advisory(record)
    assert advisory.aliases == ("CVE-2024-0001",)  # never its own id
    assert advisory.spec_version == "1.6.0"
    assert advisory.title == "Heap overflow in demo"
    assert advisory.description == "A long description."
    v3, v2 = advisory.scores
    assert (v3.version, v3.base_score, v3.severity, v3.source, v3.vuln_id) == (
        "3.1",
        9.8,
        "CRITICAL",
        "GHSA",
        "GHSA-aaaa-bbbb-cccc",
    )
    assert v3.valid is True
    assert (v2.version, v2.base_score, v2.severity) == ("2.0", 7.5, "HIGH")
    assert advisory.statements == (
        Statement(kind="severity", category="Ubuntu", details="high", vuln_id=advisory.id),
    )
    assert advisory.weaknesses == (
        Weakness("CWE-787", advisory.id),
        Weakness("CWE-20", advisory.id),
    )
    assert advisory.references == (
        Reference("https://example.com/a", "ADVISORY"),
        Reference("https://example.com/fix", "FIX"),
    )
    assert advisory.affected[0].ranges[0].scheme == "maven"
    assert orjson.loads(advisory.raw) == record  # lossless, unknown fields included


def test_invalid_vector_is_kept() -> None:
    advisory = _advisory(_record(severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]))
    (score,) = advisory.scores
    assert score.valid is False
    assert score.vector == "CVSS:3.1/AV:X"
    assert score.base_score is None


def test_unknown_range_type_is_kept_unparsed() -> None:
    range_obj = {"type": "CALVER", "events": [{"introduced": "2024.01"}]}
    advisory = _advisory(
        _record(affected=[{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [range_obj]}])
    )
    (version_range,) = advisory.affected[0].ranges
    assert version_range.kind is RangeKind.UNPARSED
    assert orjson.loads(version_range.raw or "") == range_obj
    assert range_contains(version_range, "2024.02") is None
    assert advisory.git_only is False


def test_events_without_introduced_are_kept_unparsed() -> None:
    advisory = _advisory(
        _record(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1.0"}]}],
                }
            ]
        )
    )
    (version_range,) = advisory.affected[0].ranges
    assert version_range.kind is RangeKind.UNPARSED
    assert version_range.raw == "fixed=1.0"


# --- malformed input --------------------------------------------------------------------------


def _with_ranges(*ranges: Any) -> dict[str, Any]:
    return _record(
        affected=[{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": list(ranges)}]
    )


_GOOD_RANGE = {"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}


@pytest.mark.parametrize(
    ("record", "path", "message"),
    [
        ({"modified": "2024-01-01T00:00:00Z"}, "$.id", "required field is missing"),
        ({"id": "GHSA-1", "modified": 5}, "$.modified", "expected a string, found a number"),
        (_record(modified="yesterday"), "$.modified", "not a valid date-time: 'yesterday'"),
        (
            _with_ranges(_GOOD_RANGE, {"events": [{"introduced": "0"}]}),
            "$.affected[0].ranges[1].type",
            "required field is missing",
        ),
        (
            _with_ranges({"type": "SEMVER", "events": {"introduced": "0"}}),
            "$.affected[0].ranges[0].events",
            "expected an array, found an object",
        ),
        (
            _with_ranges(
                _GOOD_RANGE,
                {
                    "type": "SEMVER",
                    "events": [{"introduced": "0"}, {"fixed": "1"}, {"fixed": "2", "limit": "3"}],
                },
            ),
            "$.affected[0].ranges[1].events[2]",
            "an event must be an object with exactly one of "
            "introduced, fixed, last_affected or limit",
        ),
        (
            _with_ranges({"type": "SEMVER", "events": [{"introduced": "0"}, {"patched": "1"}]}),
            "$.affected[0].ranges[0].events[1]",
            "unknown event 'patched'",
        ),
        (
            _with_ranges({"type": "SEMVER", "events": [{"introduced": 1}]}),
            "$.affected[0].ranges[0].events[0].introduced",
            "expected a string, found a number",
        ),
        (
            _record(affected=[{"package": {"ecosystem": "PyPI"}}]),
            "$.affected[0].package.name",
            "required field is missing",
        ),
        (
            _record(aliases=["CVE-1", 2]),
            "$.aliases[1]",
            "expected a string, found a number",
        ),
        (
            _record(affected=[{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": "1.0"}]),
            "$.affected[0].versions",
            "expected an array, found a string",
        ),
        (
            _record(references=[{"type": "WEB"}]),
            "$.references[0].url",
            "required field is missing",
        ),
    ],
)
def test_malformed_record(record: dict[str, Any], path: str, message: str) -> None:
    error = _error(record)
    assert error.origin == "inline.json"
    assert error.json_path == path
    assert error.message == message


def test_array_of_records_reports_bad_element_and_goes_on() -> None:
    records = [
        _record(id="PYSEC-1"),
        {"id": "PYSEC-2", "modified": "2024-01-01T00:00:00Z", "affected": "none"},
        "not a record",
        _record(id="PYSEC-3"),
    ]
    results = _parse_value(records, "feed.json")
    assert [r.id for r in results if isinstance(r, Advisory)] == ["PYSEC-1", "PYSEC-3"]
    errors = [r for r in results if isinstance(r, DocumentError)]
    assert [(e.json_path, e.message) for e in errors] == [
        ("$[1].affected", "expected an array, found a string"),
        ("$[2]", "expected an OSV record (an object), found a string"),
    ]
    assert errors[0].origin == "feed.json"


def test_accepts_only_osv_shapes() -> None:
    assert OsvParser.accepts(Sniff(kind="json-object", top_keys=frozenset({"id", "modified"})))
    assert not OsvParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset({"id", "modified", "document"}))
    )
    assert not OsvParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset({"id", "modified", "cveMetadata"}))
    )
    assert not OsvParser.accepts(Sniff(kind="json-object", top_keys=frozenset({"id"})))
    assert OsvParser.accepts(
        Sniff(kind="json-array", first_item_keys=frozenset({"id", "modified", "affected"}))
    )
    assert not OsvParser.accepts(Sniff(kind="json-array", first_item_keys=frozenset({"cve"})))
    assert not OsvParser.accepts(Sniff(kind="csv", header=("id", "modified")))


def test_large_array_is_streamed(tmp_path: Path) -> None:
    padding = "x" * 4000
    count = 2200
    records: list[Any] = []
    for i in range(count):
        records.append(
            _record(
                id=f"PYSEC-2024-{i}",
                details=padding,
                affected=[
                    {
                        "package": {"ecosystem": "PyPI", "name": f"pkg{i % 50}"},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "1.0"}, {"fixed": f"1.{i + 1}"}],
                            }
                        ],
                    }
                ],
            )
        )
    records[1000] = {"id": "PYSEC-BROKEN"}  # no modified
    path = tmp_path / "osv-feed.json"
    path.write_bytes(orjson.dumps(records))
    assert path.stat().st_size > WHOLE_READ_LIMIT

    doc = document(path)
    found = sniff(doc)
    assert found.document is None  # too big to be read whole: must be streamed
    assert found.kind == "json-array"
    assert OsvParser.accepts(found)
    results = list(OsvParser().parse(doc, found))
    assert len(results) == count
    advisories = [r for r in results if isinstance(r, Advisory)]
    assert len(advisories) == count - 1
    (error,) = [r for r in results if isinstance(r, DocumentError)]
    assert error.json_path == "$[1000].modified"
    assert error.message == "required field is missing"
    last = advisories[-1]
    assert last.id == f"PYSEC-2024-{count - 1}"
    assert last.affected[0].ranges[0].vers == f"vers:pypi/>=1.0|<1.{count}"
    assert last.affected[0].fixed_versions == (f"1.{count}",)
    # the streamed result is the same as reading the array whole
    small = dataclasses.replace(found, document=orjson.loads(path.read_bytes()))
    assert list(OsvParser().parse(doc, small))[-1] == last
