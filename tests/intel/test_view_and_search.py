"""The merged view and the search: what merges and what does not, and what each search
criterion finds (on the real documents where they show it, otherwise on small records)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import search, vulnerability_view
from iotwarden.store.advisories import AdvisoryRepository, SearchCriteria
from iotwarden.store.db import Store


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory, advisories_dir: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'real.db'}")
    assert ingest(store, [str(advisories_dir)]).ok
    return store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 's.db'}")


def osv(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": record_id, "modified": "2024-01-01T00:00:00Z", **fields}


def write(path: Path, *records: dict[str, Any]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for record in records:
        (path / f"{record['id']}.json").write_text(json.dumps(record))
    return path


def test_distribution_notices_naming_many_cves_do_not_merge_them(real_store: Store) -> None:
    # USN-6332-1 names dozens of CVEs; asking for one of them must not pull in the others.
    view = vulnerability_view(real_store, "CVE-2023-4015")
    assert view.ids == ["CVE-2023-4015"]
    # The notices speak of it (through `upstream`), so they are shown, without merging.
    labels = {r.label for r in view.records}
    assert {"osv:USN-6332-1", "osv:UBUNTU-CVE-2023-4015"} <= labels


def test_asking_for_a_csaf_document_shows_all_its_facts(real_store: Store) -> None:
    view = vulnerability_view(real_store, "ICSA-20-065-01")
    assert [r.label for r in view.records] == ["csaf:ICSA-20-065-01"]
    assert len(view.affected) == 36
    assert len(view.scores) == 9
    assert len(view.remediations) == 54


def test_upstream_ids_find_the_record_but_do_not_merge(store: Store, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        osv("DEBIAN-1", upstream=["CVE-2099-0001", "CVE-2099-0002"]),
        osv("GHSA-2", aliases=["CVE-2099-0002"]),
    )
    assert ingest(store, [str(folder)]).ok
    view = vulnerability_view(store, "CVE-2099-0001")
    assert {r.id for r in view.records} == {"DEBIAN-1"}
    assert "CVE-2099-0002" not in view.ids
    assert "GHSA-2" not in view.ids


def test_min_epss_uses_each_cves_latest_score(store: Store, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", osv("OSV-E", aliases=["CVE-2099-0009"]))
    (folder / "epss_scores-2024-01-01.csv").write_text("cve,epss\nCVE-2099-0009,0.9\n")
    (folder / "epss_scores-2024-02-01.csv").write_text("cve,epss\nCVE-2099-0009,0.01\n")
    assert ingest(store, [str(folder)]).ok
    assert search(store, SearchCriteria(min_epss=0.5)) == []
    found = search(store, SearchCriteria(min_epss=0.005))
    assert [(r.id, r.epss) for r in found] == [("OSV-E", 0.01)]


def _package(ecosystem: str, name: str, purl: str | None = None) -> dict[str, Any]:
    package = {"ecosystem": ecosystem, "name": name} | ({"purl": purl} if purl else {})
    return {"package": package, "versions": ["1.0"]}


def test_purl_search_namespace_case_and_derived_purls(store: Store, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        osv("N-1", affected=[_package("npm", "@evil/foo", "pkg:npm/%40evil/foo")]),
        osv("N-2", affected=[_package("npm", "foo", "pkg:npm/foo")]),
        osv("P-1", affected=[_package("PyPI", "Django")]),  # no purl: derived from ecosystem
        osv("M-1", affected=[_package("Maven", "org.Example:Lib")]),
        osv("D-1", affected=[_package("Debian:12", "openssl")]),
    )
    assert ingest(store, [str(folder)]).ok

    def ids(purl: str) -> list[str]:
        return sorted(r.id for r in search(store, SearchCriteria(purl=purl)))

    assert ids("pkg:npm/foo") == ["N-2"]  # no namespace: only packages without one
    assert ids("pkg:npm/%40evil/foo@1.0") == ["N-1"]
    assert ids("pkg:pypi/django") == ["P-1"]  # pypi names are case-blind
    assert ids("pkg:maven/org.Example/Lib") == ["M-1"]
    assert ids("pkg:maven/org.example/lib") == []  # maven names are case-sensitive
    assert ids("pkg:deb/debian/openssl?arch=source") == ["D-1"]


def test_text_search_treats_wildcards_literally(store: Store, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        osv("T-1", summary="100% CPU in parser"),
        osv("T-2", summary="1000 CPUs"),
    )
    assert ingest(store, [str(folder)]).ok
    assert [r.id for r in search(store, SearchCriteria(text="100%"))] == ["T-1"]


def test_nested_zip_bundles_are_opened(store: Store, tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("cves/INNER-1.json", json.dumps(osv("INNER-1")))
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "release/inner.zip")
        zf.writestr("OUTER-1.json", json.dumps(osv("OUTER-1")))
    report = ingest(store, [str(outer)])
    assert report.ok, report.problems
    view = vulnerability_view(store, "INNER-1")
    assert view.records[0].origin.endswith("outer.zip!release/inner.zip!cves/INNER-1.json")
    assert vulnerability_view(store, "OUTER-1").records


def test_reingesting_kev_and_epss_adds_no_rows(store: Store, tmp_path: Path) -> None:
    from iotwarden.cli.demo import samples_dir

    ingest(store, [str(samples_dir())])
    counts = AdvisoryRepository(store).counts()
    assert counts["source_documents"] == 2  # the KEV catalog and the EPSS file
    ingest(store, [str(samples_dir())])
    assert AdvisoryRepository(store).counts() == counts
