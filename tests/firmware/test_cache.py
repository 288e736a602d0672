"""The analysis caches: per-file results by content hash under one analysers version, and
image analyses by image digest under one key, in the store (SQLite here; the tables are plain
SQLAlchemy Core like the rest of the store)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.firmware.analyze import FileAnalysis, analyse_content, current_analysers_version
from iotwarden.firmware.cache import (
    MAX_VERSION_KEY,
    MemoryFileCache,
    MemoryImageCache,
    NullFileCache,
    NullImageCache,
    StoreFileCache,
    StoreImageCache,
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


# --- per image --------------------------------------------------------------------------------


def test_an_image_analysis_comes_back_by_digest_under_the_same_key_only(store: Store) -> None:
    before = dt.datetime.now(dt.UTC)
    v1 = StoreImageCache(store, "image=1;code=a")
    v2 = StoreImageCache(store, "image=1;code=b")

    v1.put(SHA_A, 16 * 1024 * 1024, {"format": "1", "components": [{"name": "busybox"}]})

    cached = v1.get(SHA_A)
    assert cached is not None
    assert cached.result == {"format": "1", "components": [{"name": "busybox"}]}
    assert before <= cached.analysed_at <= dt.datetime.now(dt.UTC)
    assert v1.get(SHA_B) is None
    assert v2.get(SHA_A) is None
    assert (v1.count(), v2.count()) == (1, 0)


def test_keeping_an_image_analysis_replaces_the_earlier_one_under_any_key(store: Store) -> None:
    old = StoreImageCache(store, "old")
    new = StoreImageCache(store, "new")
    old.put(SHA_A, 1, {"n": 1})
    old.put(SHA_B, 1, {"n": 2})

    new.put(SHA_A, 1, {"n": 3})
    new.put(SHA_A, 1, {"n": 4})

    # The other key's row for that image is gone (it can never be read again); another
    # image's row stays until pruned.
    assert old.get(SHA_A) is None and old.get(SHA_B) is not None
    latest = new.get(SHA_A)
    assert latest is not None and latest.result == {"n": 4}
    assert new.count() == 1
    assert new.prune_other_versions() == 1
    assert old.get(SHA_B) is None


def test_an_image_key_longer_than_the_column_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="longer than 128"):
        StoreImageCache(store, "k" * 129)


def test_null_and_memory_image_caches() -> None:
    null = NullImageCache()
    null.put(SHA_A, 1, {"n": 1})
    assert null.get(SHA_A) is None
    memory = MemoryImageCache()
    memory.put(SHA_A, 1, {"n": 1})
    cached = memory.get(SHA_A)
    assert cached is not None and cached.result == {"n": 1}
    assert memory.get(SHA_B) is None
