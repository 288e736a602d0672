"""The per-file analysis cache: what the content-only analyses found in a file, by the file's
SHA-256 and the analysers' versions, so that re-analysing an image (or a new version sharing
most of its files) only analyses the files that changed.

Results are plain JSON (each result type's ``to_dict``). A result stored by other analyser
versions is never used: a new signature or check changes the version key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import StoreError
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK, upsert
from iotwarden.store.db import Store

#: Longest version key the table holds; longer keys are replaced by their digest.
MAX_VERSION_KEY = 128


def analysers_version(**versions: str) -> str:
    """One key naming every analyser version that a cached result depends on."""
    key = ";".join(f"{name}={value}" for name, value in sorted(versions.items()))
    if len(key) > MAX_VERSION_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


class FileResultCache(Protocol):
    """Where per-file results are kept between analyses."""

    def get_many(self, hashes: Collection[str]) -> dict[str, dict[str, Any]]:
        """The stored results of those of ``hashes`` that have one."""
        ...

    def put_many(self, results: Mapping[str, dict[str, Any]]) -> None:
        """Keep results (by SHA-256)."""
        ...


class NullFileCache:
    """Keeps nothing: every file is analysed."""

    def get_many(self, hashes: Collection[str]) -> dict[str, dict[str, Any]]:
        return {}

    def put_many(self, results: Mapping[str, dict[str, Any]]) -> None:
        return None


class MemoryFileCache:
    """Keeps results in a dict (tests, and one process analysing many images)."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def get_many(self, hashes: Collection[str]) -> dict[str, dict[str, Any]]:
        return {h: self.results[h] for h in hashes if h in self.results}

    def put_many(self, results: Mapping[str, dict[str, Any]]) -> None:
        self.results.update(results)


class StoreFileCache:
    """Results in the store's ``firmware_file_results`` table, under one analysers version."""

    def __init__(self, store: Store, version: str) -> None:
        if len(version) > MAX_VERSION_KEY:
            raise ValueError(f"analysers version key longer than {MAX_VERSION_KEY}: {version!r}")
        self.store = store
        self.version = version

    def get_many(self, hashes: Collection[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(hashes))
        table = t.firmware_file_results
        out: dict[str, dict[str, Any]] = {}
        try:
            with self.store.engine.connect() as conn:
                for start in range(0, len(wanted), CHUNK):
                    rows = conn.execute(
                        select(table.c.sha256, table.c.result).where(
                            table.c.analysers_version == self.version,
                            table.c.sha256.in_(wanted[start : start + CHUNK]),
                        )
                    )
                    out.update({row.sha256: row.result for row in rows})
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read cached file results from {self.store.url}: {e}") from e
        return out

    def put_many(self, results: Mapping[str, dict[str, Any]]) -> None:
        if not results:
            return
        now = dt.datetime.now(dt.UTC)
        rows = [
            {"sha256": h, "analysers_version": self.version, "result": r, "analysed_at": now}
            for h, r in results.items()
        ]
        try:
            with self.store.engine.begin() as conn:
                upsert(conn, t.firmware_file_results, rows, ["sha256", "analysers_version"])
        except SQLAlchemyError as e:
            raise StoreError(f"cannot write cached file results to {self.store.url}: {e}") from e

    def count(self) -> int:
        """Results stored under this version."""
        table = t.firmware_file_results
        with self.store.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.analysers_version == self.version)
                ).scalar_one()
            )

    def prune_other_versions(self) -> int:
        """Delete results of other analyser versions (they are never read again); returns how
        many were deleted."""
        table = t.firmware_file_results
        try:
            with self.store.engine.begin() as conn:
                result = conn.execute(
                    table.delete().where(table.c.analysers_version != self.version)
                )
                return int(result.rowcount or 0)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot prune cached file results in {self.store.url}: {e}") from e
