"""Ingestion against both store backends (SQLite and PostgreSQL): the real documents, a very
large CSAF document, crash consistency of batched writes, and a clear error for a bad URL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import StoreError
from iotwarden.core.models import AffectedStatus, RangeKind, RemediationCategory
from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import vulnerability_view
from iotwarden.store import schema as t
from iotwarden.store.advisories import AdvisoryRepository, WriteResult
from iotwarden.store.db import Store, create_store_engine
from tests.store.conftest import postgres_url_or_skip

ROOT = Path(__file__).resolve().parents[2]

# --- the real documents -----------------------------------------------------------------------


def test_real_documents_ingest_twice_to_the_same_rows(store: Store, advisories_dir: Path) -> None:
    repo = AdvisoryRepository(store)
    first = ingest(store, [str(advisories_dir)])
    assert first.problems == []
    assert first.failed_documents == 0
    counts = repo.counts()
    assert counts["advisories"] == first.advisories[WriteResult.ADDED] > 100
    assert counts["kev_entries"] > 1404  # the catalog plus the ADP entries of CVE 5 records

    second = ingest(store, [str(advisories_dir)])
    assert second.problems == []
    assert second.advisories[WriteResult.ADDED] == 0
    assert second.advisories[WriteResult.UPDATED] == 0
    assert second.changed == []
    assert repo.counts() == counts


def test_real_documents_read_back_through_the_view(store: Store, advisories_dir: Path) -> None:
    assert ingest(store, [str(advisories_dir)]).problems == []

    log4shell = vulnerability_view(store, "CVE-2021-44228")
    catalog = [k.value for k in log4shell.kev if k.source == "cisa-kev"]
    assert len(catalog) == 1
    assert catalog[0].date_added == dt.date(2021, 12, 10)
    assert catalog[0].due_date == dt.date(2021, 12, 24)
    assert catalog[0].vendor_project == "Apache"
    assert catalog[0].product == "Log4j2"
    assert catalog[0].ransomware == "Known"

    # nvd2/CVE-2020-13595.json: ESP-IDF 4.0.0 .. 4.2 (inclusive), only when running on an ESP32.
    sweyntooth = vulnerability_view(store, "CVE-2020-13595")
    assert [r.label for r in sweyntooth.records] == ["nvd:CVE-2020-13595"]
    (esp_idf,) = sweyntooth.affected
    assert esp_idf.source == "nvd:CVE-2020-13595"
    product = esp_idf.value
    assert product.identity.cpe == "cpe:2.3:a:espressif:esp-idf:*:*:*:*:*:*:*:*"
    assert product.status is AffectedStatus.AFFECTED
    (version_range,) = product.ranges
    assert version_range.kind is RangeKind.CONSTRAINTS
    assert [(c.comparator, c.version) for c in version_range.constraints] == [
        (">=", "4.0.0"),
        ("<=", "4.2"),
    ]
    assert product.conditions == (("cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*",),)
    assert {(s.value.vector, s.value.base_score) for s in sweyntooth.scores} == {
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 6.5),
        ("AV:A/AC:L/Au:N/C:N/I:N/A:P", 3.3),
    }
    assert [w.value for w in sweyntooth.weaknesses] == ["CWE-617"]

    # csaf/cisa-ics/icsa-17-024-01.json: free-text range "< SP1 P01" on a named product.
    wonderware = vulnerability_view(store, "CVE-2017-5155")
    assert [r.label for r in wonderware.records] == ["csaf:ICSA-17-024-01"]
    (historian,) = wonderware.affected
    assert historian.value.identity.vendor == "Schneider Electric Software, LLC"
    assert historian.value.identity.product == "Wonderware Historian 2014 R2"
    assert [r.raw for r in historian.value.ranges] == ["< SP1 P01"]
    assert [s.value.base_score for s in wonderware.scores] == [7.3]


# --- a very large CSAF document ---------------------------------------------------------------

BIG_PRODUCTS = 50_000
BIG_CVE = "CVE-2099-50000"


def _big_csaf(count: int) -> dict[str, object]:
    ids = [f"CSAFPID-{i:05d}" for i in range(count)]
    versions = [
        {
            "category": "product_version",
            "name": f"1.{i}",
            "product": {"name": f"Example Industrial Gateway firmware 1.{i}", "product_id": pid},
        }
        for i, pid in enumerate(ids)
    ]
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Example Gateway: every firmware version affected",
            "publisher": {
                "category": "vendor",
                "name": "Example Controls",
                "namespace": "https://example.com",
            },
            "tracking": {
                "id": "EXAMPLE-BIG-2024-0001",
                "version": "1",
                "status": "final",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "current_release_date": "2024-01-01T00:00:00Z",
                "revision_history": [
                    {"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "Initial."}
                ],
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example Controls",
                    "branches": [
                        {"category": "product_name", "name": "Gateway", "branches": versions}
                    ],
                }
            ]
        },
        "vulnerabilities": [
            {
                "cve": BIG_CVE,
                "product_status": {"known_affected": ids},
                "remediations": [
                    {"category": "vendor_fix", "details": "Upgrade to 2.0", "product_ids": ids}
                ],
            }
        ],
    }


@pytest.fixture(scope="module")
def big_csaf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csaf") / "big-csaf.json"
    path.write_text(json.dumps(_big_csaf(BIG_PRODUCTS)))
    # Over the whole-read limit of detection: the parser loads it itself.
    assert path.stat().st_size > 8 * 1024 * 1024
    return path


def test_csaf_with_50000_products_ingests_on_both_backends(store: Store, big_csaf: Path) -> None:
    repo = AdvisoryRepository(store)
    report = ingest(store, [str(big_csaf)])
    assert report.problems == []
    assert report.formats == Counter({"csaf": 1})
    assert report.advisories == Counter({WriteResult.ADDED: 1})
    counts = repo.counts()
    assert counts["advisories"] == 1
    assert counts["affected_products"] == BIG_PRODUCTS
    assert counts["remediations"] == 1
    with store.engine.connect() as conn:
        ap = t.affected_products
        row = conn.execute(
            select(
                func.count(func.distinct(ap.c.product_ref)),
                func.min(ap.c.vuln_id),
                func.max(ap.c.vuln_id),
                func.min(ap.c.status),
                func.max(ap.c.status),
            )
        ).one()
        assert tuple(row) == (BIG_PRODUCTS, BIG_CVE, BIG_CVE, "affected", "affected")
        (pk,) = repo.advisory_pks_for_ids([BIG_CVE], conn)
        (remediation,) = repo.load_advisories([pk], conn)[pk].remediations
    assert remediation.category is RemediationCategory.VENDOR_FIX
    assert len(remediation.product_refs) == BIG_PRODUCTS
    assert remediation.product_refs[-1] == f"CSAFPID-{BIG_PRODUCTS - 1:05d}"

    again = ingest(store, [str(big_csaf)])
    assert again.problems == []
    assert again.advisories == Counter({WriteResult.UNCHANGED: 1})
    assert repo.counts() == counts


# --- crash consistency ------------------------------------------------------------------------

BUNDLE_RECORDS = 30_000
BATCH = 200


def _osv_record(i: int) -> dict[str, object]:
    return {
        "schema_version": "1.6.0",
        "id": f"CRASH-{i:05d}",
        "modified": "2024-01-01T00:00:00Z",
        "published": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2099-{10000 + i}", f"GHSA-crsh-{i:04x}-test"],
        "summary": f"crash test record {i}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": f"crash-pkg-{i}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"1.{i}"}]}
                ],
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.com/crash/{i}"}],
    }


@pytest.fixture(scope="module")
def osv_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "osv-all.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for i in range(BUNDLE_RECORDS):
            bundle.writestr(f"CRASH-{i:05d}.json", json.dumps(_osv_record(i)))
    return path


def _advisory_count(url: str) -> int:
    """Read with a fresh engine, as another process would (0 while nothing is readable)."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.advisories)).scalar_one())
    except SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def _check_consistency(store: Store) -> int:
    """Every stored advisory has exactly the child rows its raw record implies, and no child
    row lacks its advisory. Returns the number of advisories."""
    a = t.advisories
    al = t.advisory_aliases
    expected: dict[int, tuple[int, int, int]] = {}
    names: dict[int, set[str]] = {}
    with store.engine.connect() as conn:
        for pk, raw in conn.execute(select(a.c.id, a.c.raw)):
            record = json.loads(zlib.decompress(raw))
            expected[pk] = (
                1 + len(record["aliases"]),  # the record's own id, then its aliases
                len(record["affected"]),
                len(record["references"]),
            )
            names[pk] = {record["id"], *record["aliases"]}
        assert all(v == (3, 1, 1) for v in expected.values())
        found: dict[int, list[int]] = {pk: [0, 0, 0] for pk in expected}
        for pk, links in conn.execute(select(a.c.id, a.c.reference_links)):
            found[pk][2] = len(links or ())
        tables = (al, t.affected_products)
        for position, table in enumerate(tables):
            for pk, count in conn.execute(
                select(table.c.advisory_pk, func.count()).group_by(table.c.advisory_pk)
            ):
                assert pk in found, f"{table.name} rows for missing advisory {pk}"
                found[pk][position] = count
        stored_names: dict[int, set[str]] = {pk: set() for pk in expected}
        for pk, alias in conn.execute(select(al.c.advisory_pk, al.c.alias)):
            stored_names[pk].add(alias)
        assert stored_names == names
        for table in t.ADVISORY_CHILD_TABLES:
            orphans = conn.execute(
                select(func.count())
                .select_from(table)
                .where(~table.c.advisory_pk.in_(select(a.c.id)))
            ).scalar_one()
            assert orphans == 0, f"{orphans} orphan rows in {table.name}"
    wrong = {
        pk: (tuple(found[pk]), want) for pk, want in expected.items() if tuple(found[pk]) != want
    }
    assert wrong == {}, (
        f"{len(wrong)} advisories with wrong child rows, e.g. {list(wrong.items())[:3]}"
    )
    return len(expected)


def test_killed_ingest_leaves_whole_batches_and_resumes(
    store_url: str, store: Store, osv_bundle: Path, tmp_path: Path
) -> None:
    # The store is already migrated (fixture), so the child process only writes advisories.
    log = tmp_path / "ingest.log"
    command = [sys.executable, "-m", "iotwarden", "--db", store_url, "intel", "ingest"]
    command += [str(osv_bundle), "--batch-size", str(BATCH)]
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        seen = 0
        while seen < 3 * BATCH:
            assert child.poll() is None, f"ingest ended early: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"only {seen} advisories stored after 30 s"
            time.sleep(0.02)
            seen = _advisory_count(store_url)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    reopened = Store.open(store_url)
    try:
        stored = _check_consistency(reopened)
        assert stored >= 3 * BATCH
        assert stored < BUNDLE_RECORDS, "the ingest finished before it was killed"
        assert stored % BATCH == 0, f"{stored} advisories: a batch was half written"

        report = ingest(reopened, [str(osv_bundle)])  # resume with the default batch size
        assert report.problems == []
        assert report.advisories[WriteResult.ADDED] == BUNDLE_RECORDS - stored
        assert report.advisories[WriteResult.UNCHANGED] == stored
        assert _check_consistency(reopened) == BUNDLE_RECORDS
        counts = AdvisoryRepository(reopened).counts()
        assert counts["advisories"] == BUNDLE_RECORDS
        assert counts["advisory_aliases"] == 3 * BUNDLE_RECORDS
        assert counts["affected_products"] == BUNDLE_RECORDS
    finally:
        reopened.close()


# --- a PostgreSQL server that is not there ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
def test_unreachable_postgresql_is_a_store_error_naming_the_url(tmp_path: Path) -> None:
    url = make_url(postgres_url_or_skip()).set(port=_free_port())
    shown = url.render_as_string(hide_password=True)
    with pytest.raises(StoreError) as caught:
        Store.open(url.render_as_string(hide_password=False))
    message = str(caught.value)
    assert shown in message
    assert "Traceback" not in message

    # The command line says the same in one line, exit status 2, without a traceback.
    plain = url.render_as_string(hide_password=False)
    result = subprocess.run(
        [sys.executable, "-m", "iotwarden", "--db", plain, "intel", "ingest", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=os.environ | {"COLUMNS": "400"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert shown in " ".join(result.stderr.split())
