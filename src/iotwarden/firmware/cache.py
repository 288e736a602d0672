"""The analysis caches. Per file: what the content-only analyses found in a file, by the
file's SHA-256 and the analysers' versions, so that a new version of an image (sharing most of
its files) only analyses the files that changed. Per image: the part of an image's analysis
that comes from the image alone, by the image file's SHA-256 and a key naming everything that
produced it, so that analysing the same image again needs no extraction at all.

Results are plain JSON (each result type's ``to_dict``). A result stored under another key is
never used: a new signature, check, option or version of the code changes the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
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


# --- per image ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedImage:
    """An image's stored analysis (the image-derived part) and when it was made."""

    result: dict[str, Any]
    analysed_at: dt.datetime


class ImageResultCache(Protocol):
    """Where the image-derived part of an image's analysis is kept between analyses."""

    def get(self, sha256: str) -> CachedImage | None:
        """The stored analysis of the image with this SHA-256, if there is one."""
        ...

    def put(self, sha256: str, size: int, result: Mapping[str, Any]) -> None:
        """Keep an image's analysis (replacing any earlier one of that image)."""
        ...


class NullImageCache:
    """Keeps nothing: every image is extracted and analysed."""

    def get(self, sha256: str) -> CachedImage | None:
        return None

    def put(self, sha256: str, size: int, result: Mapping[str, Any]) -> None:
        return None


class MemoryImageCache:
    """Keeps image analyses in a dict (tests, and one process analysing many images)."""

    def __init__(self) -> None:
        self.results: dict[str, CachedImage] = {}

    def get(self, sha256: str) -> CachedImage | None:
        return self.results.get(sha256)

    def put(self, sha256: str, size: int, result: Mapping[str, Any]) -> None:
        self.results[sha256] = CachedImage(dict(result), dt.datetime.now(dt.UTC))


class StoreImageCache:
    """Image analyses in the store's ``firmware_image_results`` table, under one key."""

    def __init__(self, store: Store, version: str) -> None:
        if len(version) > MAX_VERSION_KEY:
            raise ValueError(f"analysis version key longer than {MAX_VERSION_KEY}: {version!r}")
        self.store = store
        self.version = version

    def get(self, sha256: str) -> CachedImage | None:
        table = t.firmware_image_results
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(
                    select(table.c.result, table.c.analysed_at).where(
                        table.c.sha256 == sha256, table.c.analysis_version == self.version
                    )
                ).first()
        except SQLAlchemyError as e:
            raise StoreError(
                f"cannot read the stored image analysis from {self.store.url}: {e}"
            ) from e
        if row is None or not isinstance(row.result, dict):
            return None
        analysed_at = row.analysed_at
        if analysed_at.tzinfo is None:  # SQLite keeps no zone: it was written in UTC
            analysed_at = analysed_at.replace(tzinfo=dt.UTC)
        return CachedImage(row.result, analysed_at)

    def put(self, sha256: str, size: int, result: Mapping[str, Any]) -> None:
        table = t.firmware_image_results
        row = {
            "sha256": sha256,
            "analysis_version": self.version,
            "size": size,
            "result": dict(result),
            "analysed_at": dt.datetime.now(dt.UTC),
        }
        try:
            with self.store.engine.begin() as conn:
                # Under any other key the image's earlier analysis can never be read again:
                # one row per image keeps the table as small as the set of images.
                conn.execute(
                    table.delete().where(
                        table.c.sha256 == sha256, table.c.analysis_version != self.version
                    )
                )
                upsert(conn, table, [row], ["sha256", "analysis_version"])
        except SQLAlchemyError as e:
            raise StoreError(f"cannot keep the image analysis in {self.store.url}: {e}") from e

    def count(self) -> int:
        """Image analyses stored under this key."""
        table = t.firmware_image_results
        with self.store.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.analysis_version == self.version)
                ).scalar_one()
            )

    def prune_other_versions(self) -> int:
        """Delete image analyses stored under other keys; returns how many were deleted."""
        table = t.firmware_image_results
        try:
            with self.store.engine.begin() as conn:
                result = conn.execute(
                    table.delete().where(table.c.analysis_version != self.version)
                )
                return int(result.rowcount or 0)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot prune image analyses in {self.store.url}: {e}") from e
