"""Ingestion end to end: the real documents, idempotence, alias merge, and bad input."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from iotwarden.core.models import AdvisoryStatus, RangeKind
from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import UnknownAdvisoryError, vulnerability_view
from iotwarden.store.advisories import AdvisoryRepository, WriteResult
from iotwarden.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'intel.db'}")


OSV_RECORD = {
    "schema_version": "1.6.0",
    "id": "TEST-OSV-1",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2099-0001"],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "example"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}],
        }
    ],
}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_every_real_document_ingests_without_error(store: Store, advisories_dir: Path) -> None:
    report = ingest(store, [str(advisories_dir)])
    assert report.problems == []
    assert report.failed_documents == 0
    assert set(report.formats) == {"csaf", "osv", "cve5", "nvd", "kev"}
    assert report.kev_entries == 2808  # 1,404 entries, once from JSON and once from CSV
    documents = [p for p in advisories_dir.rglob("*.json") if "kev" not in p.parts]
    # One advisory per document; the OASIS examples exist as CSAF 2.0 and 2.1 copies of the
    # same tracking id and revision, so one copy of each is kept out as a same revision.
    added = report.advisories[WriteResult.ADDED]
    assert added + report.advisories[WriteResult.STALE] == len(documents)
    assert AdvisoryRepository(store).counts()["advisories"] == added


def test_ingesting_everything_twice_leaves_the_same_rows(
    store: Store, advisories_dir: Path
) -> None:
    ingest(store, [str(advisories_dir)])
    first = AdvisoryRepository(store).counts()
    report = ingest(store, [str(advisories_dir)])
    assert AdvisoryRepository(store).counts() == first
    assert report.advisories[WriteResult.ADDED] == 0
    assert report.advisories[WriteResult.UPDATED] == 0
    assert report.changed == []


def test_alias_merge_across_cve5_osv_csaf_kev_and_epss(
    store: Store, advisories_dir: Path, tmp_path: Path
) -> None:
    epss = tmp_path / "epss_scores-2025-08-25.csv"
    epss.write_text(
        "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2021-44228,0.94400,0.99980\n"
    )
    ingest(store, [str(advisories_dir), str(epss)])
    view = vulnerability_view(store, "CVE-2021-44228")
    sources = {r.source for r in view.records}
    assert {"cve5", "osv", "csaf"} <= sources
    assert {k.source for k in view.kev} >= {"cisa-kev"}
    kev = next(k.value for k in view.kev if k.source == "cisa-kev")
    assert kev.date_added is not None and kev.date_added.isoformat() == "2021-12-10"
    assert kev.ransomware == "Known"
    assert view.epss[0].value.epss == pytest.approx(0.944)
    # Each fact carries its source: the CVE 5 record's CNA title and the OSV record's own.
    assert any(t.source == "cve5:CVE-2021-44228" for t in view.descriptions)
    # The OASIS VEX examples about it say which products are not affected, and why.
    vex = [a.value for a in view.affected if a.source.startswith("csaf:")]
    assert any(a.status.value == "not_affected" and a.justification for a in vex)
    assert any(a.status.value == "affected" for a in vex)


def test_alias_merge_cve5_and_nvd(store: Store, advisories_dir: Path) -> None:
    ingest(store, [str(advisories_dir / "cve5"), str(advisories_dir / "nvd2")])
    view = vulnerability_view(store, "CVE-2022-25929")
    assert {r.source for r in view.records} == {"cve5", "nvd"}
    assert {s.source for s in view.scores} >= {"cve5:CVE-2022-25929", "nvd:CVE-2022-25929"}


def test_nvd_and_kev_merge_for_a_kev_listed_cve(store: Store, advisories_dir: Path) -> None:
    ingest(store, [str(advisories_dir / "nvd2"), str(advisories_dir / "kev")])
    view = vulnerability_view(store, "CVE-2023-4863")
    assert [r.source for r in view.records] == ["nvd"]
    assert any(k.source == "cisa-kev" for k in view.kev)


def test_bundled_heartbleed_samples_merge_six_formats(store: Store) -> None:
    from iotwarden.cli.demo import samples_dir

    report = ingest(store, [str(samples_dir())])
    assert report.ok, report.problems
    view = vulnerability_view(store, "CVE-2014-0160")
    assert {r.label for r in view.records} == {
        "cve5:CVE-2014-0160",
        "nvd:CVE-2014-0160",
        "osv:DSA-2896-1",
        "csaf:EXG-2014-001",
    }
    kev = next(k.value for k in view.kev if k.source == "cisa-kev")
    assert kev.due_date is not None and kev.due_date.isoformat() == "2022-05-25"
    # The CVE 5 record says "n/a": kept, unparsed, never "all versions".
    cve5_ranges = [r for a in view.affected if a.source.startswith("cve5") for r in a.value.ranges]
    assert cve5_ranges and all(r.kind is RangeKind.UNPARSED for r in cve5_ranges)
    # The CSAF free-text ranges became real ranges.
    csaf = {
        a.value.identity.product: a.value
        for a in view.affected
        if a.source.startswith("csaf") and a.value.status.value == "affected"
    }
    assert csaf["ExGate 200"].ranges[0].vers == "vers:generic/>=2.000|<=2.008"
    assert csaf["ExGate 100"].ranges[0].vers == "vers:generic/<V4.3.0"


def test_unknown_id_is_a_clear_error(store: Store) -> None:
    with pytest.raises(UnknownAdvisoryError, match="CVE-1999-9999"):
        vulnerability_view(store, "CVE-1999-9999")


def test_bad_documents_are_reported_and_good_ones_still_stored(
    store: Store, tmp_path: Path
) -> None:
    good = write_json(tmp_path / "good.json", OSV_RECORD)
    (tmp_path / "broken.json").write_text('{"id": "X", "modified": ')
    write_json(tmp_path / "unknown.json", {"hello": "world"})
    bad_types = dict(OSV_RECORD, id="TEST-OSV-2", affected=[{"package": "not-an-object"}])
    write_json(tmp_path / "schema.json", bad_types)
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "latin1.csv").write_bytes(b"\xff\xfe\x00\x01binary")
    whole = gzip.compress(json.dumps(dict(OSV_RECORD, id="TEST-OSV-3")).encode())
    (tmp_path / "truncated.json.gz").write_bytes(whole[: len(whole) // 2])

    report = ingest(store, [str(tmp_path), str(tmp_path / "missing.json")])

    by_file = {Path(p.origin.split("!")[0]).name: p for p in report.problems}
    assert set(by_file) == {
        "broken.json",
        "unknown.json",
        "schema.json",
        "empty.json",
        "latin1.csv",
        "truncated.json.gz",
        "missing.json",
    }
    assert "invalid JSON" in by_file["broken.json"].message
    assert "unknown format" in by_file["unknown.json"].message
    assert by_file["schema.json"].json_path.startswith("$.affected[0].package")
    assert "empty" in by_file["empty.json"].message
    assert "truncated" in by_file["truncated.json.gz"].message
    assert "no such file" in by_file["missing.json"].message
    assert report.advisories[WriteResult.ADDED] == 1
    assert vulnerability_view(store, "CVE-2099-0001").records[0].id == "TEST-OSV-1"
    assert good.exists()


def test_zip_bundles_gzip_and_zip_bombs(store: Store, tmp_path: Path) -> None:
    bundle = tmp_path / "osv.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            zf.writestr(f"TEST-{i}.json", json.dumps(dict(OSV_RECORD, id=f"TEST-{i}")))
        zf.writestr("README.txt", "ignored")
        zf.writestr("bomb.json", b"[" + b" " * (50 * 1024 * 1024) + b"]")
    gz = tmp_path / "one.json.gz"
    gz.write_bytes(gzip.compress(json.dumps(dict(OSV_RECORD, id="TEST-GZ")).encode()))

    report = ingest(store, [str(bundle), str(gz)])

    assert report.advisories[WriteResult.ADDED] == 6
    assert len(report.problems) == 1
    assert report.problems[0].origin.endswith("osv.zip!bomb.json")
    assert "zip bomb" in report.problems[0].message


def test_newer_revision_replaces_and_withdrawal_is_marked(store: Store, tmp_path: Path) -> None:
    path = write_json(tmp_path / "rec.json", OSV_RECORD)
    ingest(store, [str(path)])
    withdrawn = dict(OSV_RECORD, modified="2025-01-01T00:00:00Z", withdrawn="2025-01-01T00:00:00Z")
    write_json(path, withdrawn)
    report = ingest(store, [str(path)])
    assert report.advisories[WriteResult.UPDATED] == 1
    view = vulnerability_view(store, "TEST-OSV-1")
    assert view.records[0].status is AdvisoryStatus.WITHDRAWN
    # And an older copy arriving later does not bring it back.
    write_json(path, OSV_RECORD)
    report = ingest(store, [str(path)])
    assert report.advisories[WriteResult.STALE] == 1
    assert vulnerability_view(store, "TEST-OSV-1").records[0].status is AdvisoryStatus.WITHDRAWN


def test_stdin_is_read(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.dumps(dict(OSV_RECORD, id="TEST-STDIN")).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    report = ingest(store, ["-"])
    assert report.ok, report.problems
    assert vulnerability_view(store, "TEST-STDIN").records[0].origin == "<stdin>"
