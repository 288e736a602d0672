"""The store on SQLite and PostgreSQL: migrations, round trips, revisions, signals."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import StoreError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    EpssScore,
    KevEntry,
    ProductIdentity,
    Reference,
    Remediation,
    RemediationCategory,
    Statement,
    Weakness,
)
from iotwarden.core.versions import from_bounds, parse_range_text
from iotwarden.store import schema
from iotwarden.store.advisories import AdvisoryRepository, SearchCriteria, WriteResult
from iotwarden.store.db import Store, head_revision

UTC = dt.UTC


def heartbleed(**changes: object) -> Advisory:
    base = Advisory(
        source=AdvisoryFormat.OSV,
        key="TEST-2014-0160",
        id="TEST-2014-0160",
        aliases=("CVE-2014-0160",),
        vuln_ids=("TEST-2014-0160",),
        title="OpenSSL heartbeat over-read",
        description="Heartbleed.",
        published=dt.datetime(2014, 4, 7, tzinfo=UTC),
        modified=dt.datetime(2024, 1, 1, tzinfo=UTC),
        revision="1",
        affected=(
            AffectedProduct(
                identity=ProductIdentity(
                    purl="pkg:generic/openssl",
                    cpe="cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                    vendor="OpenSSL",
                    product="OpenSSL",
                ),
                status=AffectedStatus.AFFECTED,
                ranges=(from_bounds("generic", "1.0.1", end="1.0.1g"),),
                fixed_versions=("1.0.1g",),
                source_path="$.affected[0]",
            ),
            AffectedProduct(
                identity=ProductIdentity(
                    vendor="Example Controls", product="ExGate 100", model_numbers=("EXG-100",)
                ),
                status=AffectedStatus.AFFECTED,
                ranges=(parse_range_text("Firmware 4.2 with custom build (see notes)"),),
            ),
        ),
        remediations=(
            Remediation(RemediationCategory.VENDOR_FIX, "Upgrade", fixed_versions=("1.0.1g",)),
        ),
        scores=(score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", source="test"),),
        weaknesses=(Weakness("CWE-125"),),
        references=(Reference("https://heartbleed.com/", "WEB"),),
        statements=(Statement("ssvc", "Exploitation", "active"),),
        kev=(KevEntry("CVE-2014-0160", dt.date(2022, 5, 4), source="test-adp"),),
        raw=b'{"id":"TEST-2014-0160","modified":"2024-01-01T00:00:00Z"}',
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def write(store: Store, *advisories: Advisory) -> list[WriteResult]:
    repo = AdvisoryRepository(store)
    with store.engine.begin() as conn:
        outcome = repo.write_advisories([(a, "test") for a in advisories], conn)
    return [r for _, r in outcome.results]


def load_by_id(store: Store, advisory_id: str) -> Advisory:
    repo = AdvisoryRepository(store)
    with store.engine.connect() as conn:
        pks = repo.search(SearchCriteria(ids=(advisory_id,), include_withdrawn=True), conn)
        assert len(pks) == 1
        return repo.load_advisories(pks, conn)[pks[0]]


def test_migrations_match_the_schema_module(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, schema.metadata) == []
    tables = set(inspect(store.engine).get_table_names())
    assert {"advisories", "affected_products", "kev_entries", "epss_scores"} <= tables


def test_opening_twice_is_idempotent(store_url: str) -> None:
    Store.open(store_url).close()
    again = Store.open(store_url)
    assert AdvisoryRepository(again).counts()["advisories"] == 0
    again.close()


def test_advisory_round_trip_keeps_every_fact(store: Store) -> None:
    original = heartbleed()
    assert write(store, original) == [WriteResult.ADDED]
    loaded = load_by_id(store, "CVE-2014-0160")
    assert loaded.id == "TEST-2014-0160"
    assert loaded.aliases == ("CVE-2014-0160",)
    assert loaded.published == original.published
    assert loaded.affected == original.affected
    assert loaded.affected[1].ranges[0].kind.value == "unparsed"
    assert loaded.affected[1].ranges[0].raw == "Firmware 4.2 with custom build (see notes)"
    assert loaded.remediations == original.remediations
    assert loaded.scores[0].base_score == 7.5
    assert loaded.weaknesses == original.weaknesses
    assert loaded.references == original.references
    assert loaded.statements == original.statements
    assert loaded.kev[0].date_added == dt.date(2022, 5, 4)
    assert loaded.raw == original.raw  # lossless: the original record comes back


def test_same_content_is_unchanged_and_newer_revision_replaces(store: Store) -> None:
    first = heartbleed()
    assert write(store, first) == [WriteResult.ADDED]
    assert write(store, first) == [WriteResult.UNCHANGED]
    counts = AdvisoryRepository(store).counts()

    newer = heartbleed(
        modified=dt.datetime(2025, 1, 1, tzinfo=UTC),
        title="OpenSSL heartbeat over-read (updated)",
        raw=b'{"id":"TEST-2014-0160","modified":"2025-01-01T00:00:00Z"}',
    )
    assert write(store, newer) == [WriteResult.UPDATED]
    assert AdvisoryRepository(store).counts() == counts  # replaced, not duplicated
    assert load_by_id(store, "TEST-2014-0160").title.endswith("(updated)")  # type: ignore[union-attr]

    older = heartbleed(
        modified=dt.datetime(2020, 1, 1, tzinfo=UTC),
        title="old",
        raw=b'{"id":"TEST-2014-0160","modified":"2020-01-01T00:00:00Z"}',
    )
    assert write(store, older) == [WriteResult.STALE]
    assert load_by_id(store, "TEST-2014-0160").title.endswith("(updated)")  # type: ignore[union-attr]


def test_newest_revision_wins_inside_one_batch(store: Store) -> None:
    old = heartbleed(raw=b"1")
    new = heartbleed(modified=dt.datetime(2026, 1, 1, tzinfo=UTC), title="new", raw=b"2")
    results = write(store, new, old)
    assert sorted(results) == sorted([WriteResult.ADDED, WriteResult.STALE])
    assert load_by_id(store, "TEST-2014-0160").title == "new"


def test_withdrawn_records_are_marked_and_hidden_from_search_by_default(store: Store) -> None:
    write(
        store,
        heartbleed(
            status=AdvisoryStatus.WITHDRAWN, withdrawn_at=dt.datetime(2024, 2, 1, tzinfo=UTC)
        ),
    )
    repo = AdvisoryRepository(store)
    with store.engine.connect() as conn:
        assert repo.search(SearchCriteria(ids=("CVE-2014-0160",)), conn) == []
    assert load_by_id(store, "CVE-2014-0160").status is AdvisoryStatus.WITHDRAWN


def test_kev_and_epss_upserts_are_idempotent_and_keep_history(store: Store) -> None:
    repo = AdvisoryRepository(store)
    kev = KevEntry(
        "CVE-2014-0160",
        dt.date(2022, 5, 4),
        due_date=dt.date(2022, 5, 25),
        required_action="Apply updates per vendor instructions.",
    )
    day1 = EpssScore("CVE-2014-0160", 0.9, 0.99, dt.date(2025, 8, 24))
    day2 = EpssScore("CVE-2014-0160", 0.94358, 0.99955, dt.date(2025, 8, 25))
    for _ in range(2):
        with store.engine.begin() as conn:
            repo.write_kev([kev], None, conn)
            repo.write_epss([day2, day1], None, conn)
    counts = repo.counts()
    assert counts["kev_entries"] == 1
    assert counts["epss_scores"] == 2
    with store.engine.connect() as conn:
        assert repo.kev_for(["CVE-2014-0160"], conn)["CVE-2014-0160"][0].due_date == dt.date(
            2022, 5, 25
        )
        latest = repo.epss_for(["CVE-2014-0160"], conn)["CVE-2014-0160"]
    assert latest.epss == pytest.approx(0.94358)
    assert latest.score_date == dt.date(2025, 8, 25)


def test_search_by_identifiers_and_thresholds(store: Store) -> None:
    write(store, heartbleed())
    repo = AdvisoryRepository(store)
    with store.engine.begin() as conn:
        repo.write_epss([EpssScore("CVE-2014-0160", 0.94, 0.99, dt.date(2025, 8, 25))], None, conn)
        repo.write_kev([KevEntry("CVE-2014-0160", dt.date(2022, 5, 4))], None, conn)

    def found(**criteria: object) -> bool:
        with store.engine.connect() as conn:
            return bool(repo.search(SearchCriteria(**criteria), conn))  # type: ignore[arg-type]

    assert found(purl="pkg:generic/openssl@1.0.1e")
    assert not found(purl="pkg:generic/libressl")
    assert found(cpe="cpe:2.3:a:openssl:openssl:1.0.1f:*:*:*:*:*:*:*")
    assert found(vendor="example-controls", product="exgate 100")
    assert not found(vendor="Example Controls", product="ExGate 200")
    assert found(kev=True) and not found(kev=False)
    assert found(min_epss=0.9) and not found(min_epss=0.95)
    assert found(min_cvss=7.5) and not found(min_cvss=7.6)
    assert found(text="heartbeat")


def test_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("no-such-scheme")


def test_the_numbered_head_is_alembics_head() -> None:
    """Opening a store at the head skips Alembic by comparing with the highest-numbered
    migration file; that must be the head Alembic itself computes."""
    from iotwarden.store.db import head_revision, numbered_head

    assert numbered_head() == head_revision()
