"""CISA KEV: the real catalog (JSON and CSV, 2025-08-25) plus inline malformed input."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import KevEntry
from iotwarden.intel.detect import sniff
from iotwarden.intel.interface import InputDocument, Sniff
from iotwarden.intel.kev import KevCsvParser, KevJsonParser
from tests.conftest import document

CSV_HEADER = (
    "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,"
    "requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes"
)


@pytest.fixture(scope="module")
def kev_dir(advisories_dir: Path) -> Path:
    return advisories_dir / "kev"


def _entries(results: list[Any]) -> list[KevEntry]:
    assert not [r for r in results if isinstance(r, DocumentError)]
    return [r for r in results if isinstance(r, KevEntry)]


def _parse_json_file(path: Path) -> list[Any]:
    doc = document(path)
    found = sniff(doc)
    assert KevJsonParser.accepts(found)
    assert not KevCsvParser.accepts(found)
    return list(KevJsonParser().parse(doc, found))


def _parse_csv_bytes(data: bytes, origin: str = "kev.csv") -> list[Any]:
    doc = InputDocument.from_bytes(origin, data)
    found = sniff(doc)
    assert KevCsvParser.accepts(found)
    return list(KevCsvParser().parse(doc, found))


def test_real_json_catalog(kev_dir: Path) -> None:
    entries = _entries(_parse_json_file(kev_dir / "known_exploited_vulnerabilities.json"))
    assert len(entries) == 1404
    assert len({e.cve_id for e in entries}) == 1404
    assert {e.catalog_version for e in entries} == {"2025.08.25"}
    assert {e.source for e in entries} == {"cisa-kev"}
    heartbleed = next(e for e in entries if e.cve_id == "CVE-2014-0160")
    assert heartbleed == KevEntry(
        cve_id="CVE-2014-0160",
        date_added=dt.date(2022, 5, 4),
        vendor_project="OpenSSL",
        product="OpenSSL",
        name="OpenSSL Information Disclosure Vulnerability",
        description=(
            "The TLS and DTLS implementations in OpenSSL do not properly handle Heartbeat "
            "Extension packets, which allows remote attackers to obtain sensitive information."
        ),
        required_action="Apply updates per vendor instructions.",
        due_date=dt.date(2022, 5, 25),
        ransomware="Unknown",
        notes="https://nvd.nist.gov/vuln/detail/CVE-2014-0160",
        cwes=("CWE-125",),
        source="cisa-kev",
        catalog_version="2025.08.25",
    )
    first = entries[0]
    assert first.cve_id == "CVE-2025-48384"
    assert first.cwes == ("CWE-59", "CWE-436")
    assert first.due_date == dt.date(2025, 9, 15)


def test_real_json_streamed_equals_whole(kev_dir: Path) -> None:
    path = kev_dir / "known_exploited_vulnerabilities.json"
    doc = document(path)
    found = sniff(doc)
    assert found.document is not None
    whole = list(KevJsonParser().parse(doc, found))
    streamed = list(KevJsonParser().parse(doc, dataclasses.replace(found, document=None)))
    assert streamed == whole


def test_real_csv_equals_json(kev_dir: Path) -> None:
    json_entries = _entries(_parse_json_file(kev_dir / "known_exploited_vulnerabilities.json"))
    csv_doc = document(kev_dir / "known_exploited_vulnerabilities.csv")
    found = sniff(csv_doc)
    assert KevCsvParser.accepts(found)
    assert not KevJsonParser.accepts(found)
    csv_entries = _entries(list(KevCsvParser().parse(csv_doc, found)))
    assert len(csv_entries) == 1404
    assert {e.cve_id for e in csv_entries} == {e.cve_id for e in json_entries}
    assert {e.catalog_version for e in csv_entries} == {None}
    # the same facts in both forms (the CSV has no catalog version)
    assert csv_entries == [dataclasses.replace(e, catalog_version=None) for e in json_entries]
    heartbleed = next(e for e in csv_entries if e.cve_id == "CVE-2014-0160")
    assert heartbleed.due_date == dt.date(2022, 5, 25)
    assert heartbleed.required_action == "Apply updates per vendor instructions."


def _catalog(vulnerabilities: list[Any], **top: Any) -> dict[str, Any]:
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2024.01.02",
        "dateReleased": "2024-01-02T17:00:00.000Z",
        "count": len(vulnerabilities),
        "vulnerabilities": vulnerabilities,
        **top,
    }


def _vuln(cve: str = "CVE-2024-0001", **fields: Any) -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": "Acme",
        "product": "Router",
        "vulnerabilityName": "Acme Router Command Injection",
        "dateAdded": "2024-01-02",
        "shortDescription": "A command injection.",
        "requiredAction": "Apply updates per vendor instructions.",
        "dueDate": "2024-01-23",
        "knownRansomwareCampaignUse": "Known",
        "notes": "",
        "cwes": [],
        **fields,
    }


def test_json_bad_entries_are_reported_and_the_rest_read() -> None:
    missing_cve = _vuln()
    del missing_cve["cveID"]
    catalog = _catalog(
        [
            _vuln("CVE-2024-0001"),
            _vuln("CVE-2024-0002", dueDate="2024-13-45"),
            missing_cve,
            _vuln("CVE-2024-0004", cwes="CWE-78"),
            _vuln("not-a-cve"),
            "oops",
            _vuln("CVE-2024-0007", cwes=["CWE-78"]),
        ]
    )
    doc = InputDocument.from_bytes("kev.json", orjson.dumps(catalog))
    found = sniff(doc)
    assert KevJsonParser.accepts(found)
    results = list(KevJsonParser().parse(doc, found))
    good = [r for r in results if isinstance(r, KevEntry)]
    assert [e.cve_id for e in good] == ["CVE-2024-0001", "CVE-2024-0007"]
    assert good[0].notes is None  # empty text is absent, as in the CSV form
    assert good[0].ransomware == "Known"
    assert good[1].cwes == ("CWE-78",)
    errors = [(e.json_path, e.message) for e in results if isinstance(e, DocumentError)]
    assert errors == [
        ("$.vulnerabilities[1].dueDate", "not a valid date-time: '2024-13-45'"),
        ("$.vulnerabilities[2].cveID", "required field is missing"),
        ("$.vulnerabilities[3].cwes", "expected an array of strings"),
        ("$.vulnerabilities[4].cveID", "not a CVE id: 'not-a-cve'"),
        ("$.vulnerabilities[5]", "expected an object"),
    ]
    assert all(e.origin == "kev.json" for e in results if isinstance(e, DocumentError))


def test_json_streamed_with_catalog_version_after_the_list() -> None:
    # key order kept by orjson: the list first, catalogVersion last
    catalog = {
        "vulnerabilities": [_vuln("CVE-2024-0001"), _vuln("CVE-2024-0002", dueDate="soon")],
        "count": 2,
        "catalogVersion": "2024.09.09",
    }
    doc = InputDocument.from_bytes("kev.json", orjson.dumps(catalog))
    found = Sniff(kind="json-object", top_keys=frozenset({"vulnerabilities", "count"}))
    assert KevJsonParser.accepts(found)
    results = list(KevJsonParser().parse(doc, found))
    assert isinstance(results[0], KevEntry)
    assert results[0].catalog_version == "2024.09.09"
    assert isinstance(results[1], DocumentError)
    assert results[1].json_path == "$.vulnerabilities[1].dueDate"


def test_json_without_list_is_unusable() -> None:
    doc = InputDocument.from_bytes("kev.json", orjson.dumps({"catalogVersion": "1"}))
    with pytest.raises(DocumentError) as info:
        list(KevJsonParser().parse(doc, sniff(doc)))
    assert info.value.json_path == "$.vulnerabilities"


def test_accepts() -> None:
    assert KevJsonParser.accepts(Sniff(kind="json-object", top_keys=frozenset({"catalogVersion"})))
    assert KevJsonParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset({"vulnerabilities", "dateReleased"}))
    )
    # an NVD API response also has "vulnerabilities", but no KEV release data
    assert not KevJsonParser.accepts(
        Sniff(kind="json-object", top_keys=frozenset({"vulnerabilities", "resultsPerPage"}))
    )
    assert not KevCsvParser.accepts(Sniff(kind="csv", header=("cve", "epss", "percentile")))


def test_csv_bad_rows_are_reported_with_line_numbers() -> None:
    lines = [
        CSV_HEADER,
        'CVE-2024-0001,Acme,Router,"Acme Router Bug",2024-01-02,"Multi-line\ndescription.",'
        '"Apply updates.",2024-01-23,Unknown,,"CWE-78, CWE-20"',
        "CVE-2024-0002,Acme,Router,Bug,2024-01-02,Desc,Act,2024-02-30,Unknown,,",
        "",
        "CVE-24-3,Acme,Router,Bug,2024-01-02,Desc,Act,2024-01-23,Unknown,,",
        "CVE-2024-0004,Acme,Router,Bug,,Desc,Act,2024-01-23,Unknown,,",
        "CVE-2024-0005,Acme,Router,Bug,2024-01-02,Desc,Act,2024-01-23,Unknown,,,extra",
        "CVE-2024-0006,Acme,Router,Bug,2024-01-02,Desc,Act,2024-01-23,Known,note,CWE-1",
    ]
    results = _parse_csv_bytes("\r\n".join(lines).encode() + b"\r\n")
    good = [r for r in results if isinstance(r, KevEntry)]
    assert [e.cve_id for e in good] == ["CVE-2024-0001", "CVE-2024-0006"]
    assert good[0].description == "Multi-line\ndescription."
    assert good[0].cwes == ("CWE-78", "CWE-20")
    assert good[0].notes is None
    assert good[0].catalog_version is None
    assert good[1].notes == "note"
    errors = [(e.json_path, e.message) for e in results if isinstance(e, DocumentError)]
    assert errors == [
        ("line 4", "dueDate: not a valid date-time: '2024-02-30'"),
        ("line 6", "cveID: not a CVE id: 'CVE-24-3'"),
        ("line 7", "dateAdded: required field is missing"),
        ("line 8", "the row has 12 fields, the header 11"),
    ]


def test_csv_invalid_utf8_row_is_reported() -> None:
    data = (
        CSV_HEADER.encode()
        + b"\nCVE-2024-0001,Acme,Rout\xe9r,Bug,2024-01-02,Desc,Act,2024-01-23,Unknown,,\n"
        + b"CVE-2024-0002,Acme,Router,Bug,2024-01-02,Desc,Act,2024-01-23,Unknown,,\n"
    )
    results = _parse_csv_bytes(data)
    error, entry = results
    assert isinstance(error, DocumentError)
    assert (error.json_path, error.message) == ("line 2", "product: not UTF-8 encoded text")
    assert isinstance(entry, KevEntry)
    assert entry.cve_id == "CVE-2024-0002"
