"""The per-file result cache: results by content hash under one analysers version, in the
store (SQLite here; the table is plain SQLAlchemy Core like the rest of the store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.firmware.analyze import FileAnalysis, analyse_content, current_analysers_version
from iotwarden.firmware.cache import (
    MAX_VERSION_KEY,
    MemoryFileCache,
    NullFileCache,
    StoreFileCache,
    analysers_version,
)
from iotwarden.store.db import Store
from tests.firmware.rootfs import pem_private, rsa_key

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def test_results_come_back_by_hash_under_the_same_version_only(store: Store) -> None:
    v1 = StoreFileCache(store, "signatures=1;checks=1")
    v2 = StoreFileCache(store, "signatures=2;checks=1")

    v1.put_many({SHA_A: {"hits": [], "elf": None, "keys": []}})

    assert v1.get_many([SHA_A, SHA_B]) == {SHA_A: {"hits": [], "elf": None, "keys": []}}
    assert v2.get_many([SHA_A]) == {}
    assert v1.count() == 1


def test_writing_a_result_again_replaces_it(store: Store) -> None:
    cache = StoreFileCache(store, "v")

    cache.put_many({SHA_A: {"problems": ["old"]}})
    cache.put_many({SHA_A: {"problems": ["new"]}, SHA_B: {"problems": []}})

    assert cache.get_many([SHA_A, SHA_B]) == {SHA_A: {"problems": ["new"]}, SHA_B: {"problems": []}}


def test_many_hashes_are_read_in_chunks(store: Store) -> None:
    cache = StoreFileCache(store, "v")
    hashes = [f"{n:064x}" for n in range(1200)]

    cache.put_many({h: {"n": i} for i, h in enumerate(hashes)})

    found = cache.get_many(hashes)
    assert len(found) == 1200
    assert found[hashes[1100]] == {"n": 1100}


def test_pruning_keeps_only_the_current_version(store: Store) -> None:
    StoreFileCache(store, "old").put_many({SHA_A: {}, SHA_B: {}})
    current = StoreFileCache(store, "new")
    current.put_many({SHA_A: {}})

    assert current.prune_other_versions() == 2
    assert StoreFileCache(store, "old").get_many([SHA_A, SHA_B]) == {}
    assert current.get_many([SHA_A]) == {SHA_A: {}}


def test_the_version_key_names_every_analyser_and_stays_short() -> None:
    assert analysers_version(signatures="s1", checks="c1") == "checks=c1;signatures=s1"
    long_key = analysers_version(signatures="s" * 200, checks="c1")
    assert long_key.startswith("sha256:")
    assert len(long_key) <= MAX_VERSION_KEY
    assert long_key != analysers_version(signatures="s" * 199, checks="c1")


def test_the_current_key_changes_with_the_read_limit() -> None:
    assert current_analysers_version(1024) != current_analysers_version(2048)


def test_null_and_memory_caches() -> None:
    null = NullFileCache()
    null.put_many({SHA_A: {}})
    assert null.get_many([SHA_A]) == {}
    memory = MemoryFileCache()
    memory.put_many({SHA_A: {"x": 1}})
    assert memory.get_many([SHA_A, SHA_B]) == {SHA_A: {"x": 1}}


def test_a_file_analysis_round_trips_through_the_store(store: Store) -> None:
    content = (
        b"\x00OpenSSL 1.0.1e 11 Feb 2013\x00"
        + pem_private(rsa_key(1024))
        + b"\x00BusyBox v1.19.4 (2012-03-01) multi-call binary\x00"
    )
    analysis = analyse_content(content)
    assert {h.signature for h in analysis.hits} >= {"openssl", "busybox"}
    assert len(analysis.keys) == 1
    cache = StoreFileCache(store, "v")

    cache.put_many({SHA_A: analysis.to_dict()})

    assert FileAnalysis.from_dict(cache.get_many([SHA_A])[SHA_A]) == analysis
