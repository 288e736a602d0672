"""Turn the paths a user names (files, directories, .gz, .zip bundles, '-' for stdin) into
documents to parse, with limits that stop decompression bombs and oversized members."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from iotwarden.core.errors import InputError
from iotwarden.core.settings import settings
from iotwarden.intel.interface import InputDocument

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
#: Zip members up to this size are read into memory at once instead of streamed.
SMALL_MEMBER_BYTES = 4 * 1024 * 1024
DOCUMENT_SUFFIXES = (".json", ".csv", ".gz", ".zip", ".jsonl")


class LimitedReader(io.RawIOBase):
    """A reader that raises InputError once more than ``limit`` bytes come out of ``inner``:
    the guard against decompression bombs, whatever the archive claims about itself."""

    def __init__(self, inner: IO[bytes], limit: int, origin: str) -> None:
        self._inner = inner
        self._limit = limit
        self._origin = origin
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self._count += len(data)
        if self._count > self._limit:
            raise InputError(
                self._origin,
                f"expands to more than {self._limit // (1024 * 1024)} MiB: refused as a "
                "possible decompression bomb (raise IOTWARDEN_MAX_MEMBER_MB if it is genuine)",
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _buffered(raw: IO[bytes], limit: int, origin: str) -> IO[bytes]:
    return io.BufferedReader(LimitedReader(raw, limit, origin), buffer_size=256 * 1024)


def _gzip_document(origin: str, path: Path) -> InputDocument:
    limit = settings().max_member_bytes

    def opener() -> IO[bytes]:
        return _buffered(cast(IO[bytes], gzip.open(path, "rb")), limit, origin)

    return InputDocument(origin=origin, opener=opener, size=None)


def _file_document(path: Path) -> InputDocument:
    return InputDocument(origin=str(path), opener=lambda: path.open("rb"), size=path.stat().st_size)


def _zip_documents(path: Path) -> Iterator[InputDocument | InputError]:
    limits = settings()
    origin = str(path)
    try:
        bundle = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        yield InputError(origin, f"not a readable zip bundle ({e})")
        return
    with bundle:
        for info in bundle.infolist():
            if info.is_dir():
                continue
            member = f"{origin}!{info.filename}"
            name = info.filename.lower()
            if not name.endswith(DOCUMENT_SUFFIXES) or name.endswith(".zip"):
                continue
            if info.file_size > limits.max_member_bytes:
                yield InputError(
                    member,
                    f"member is {info.file_size // (1024 * 1024)} MiB, over the "
                    f"{limits.max_member_bytes // (1024 * 1024)} MiB limit",
                )
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
                yield InputError(
                    member,
                    f"compression ratio {ratio:.0f}:1 exceeds {limits.max_compression_ratio}:1: "
                    "refused as a possible zip bomb",
                )
                continue
            gzipped = name.endswith(".gz")
            if not gzipped and info.file_size <= SMALL_MEMBER_BYTES:
                # zipfile never yields more than the declared size, which was checked above:
                # small members are read at once (the common case: one OSV record each).
                try:
                    data = bundle.read(info)
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
                    yield InputError(member, f"corrupt member ({e})")
                    continue
                yield InputDocument.from_bytes(member, data)
                continue

            def opener(info: zipfile.ZipInfo = info, member: str = member) -> IO[bytes]:
                raw: IO[bytes] = bundle.open(info)
                if info.filename.lower().endswith(".gz"):
                    unpacked = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
                    return _buffered(unpacked, limits.max_member_bytes, member)
                return _buffered(raw, min(info.file_size, limits.max_member_bytes), member)

            yield InputDocument(origin=member, opener=opener, size=info.file_size)


def _sniff_magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4)


def _documents_for_file(path: Path) -> Iterator[InputDocument | InputError]:
    try:
        magic = _sniff_magic(path)
    except OSError as e:
        yield InputError(str(path), f"cannot be read ({e.strerror or e})")
        return
    if magic.startswith(GZIP_MAGIC):
        yield _gzip_document(str(path), path)
    elif magic.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        yield from _zip_documents(path)
    else:
        yield _file_document(path)


def _spool_stdin() -> Path:
    """Copy standard input to a private temporary file so that it can be read twice."""
    handle, name = tempfile.mkstemp(prefix="iotwarden-stdin-")
    with os.fdopen(handle, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1024 * 1024)
    return Path(name)


def expand(paths: list[str]) -> Iterator[InputDocument | InputError]:
    """Every document under the given paths, in a stable order; errors in place of the
    paths that cannot be read, so that one bad path does not stop the others."""
    for given in paths:
        if given == "-":
            spooled = _spool_stdin()
            try:
                for item in _documents_for_file(spooled):
                    yield _rename(item, str(spooled), "<stdin>")
            finally:
                spooled.unlink(missing_ok=True)
            continue
        path = Path(given)
        if path.is_dir():
            found = False
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or not name.lower().endswith(DOCUMENT_SUFFIXES):
                        continue
                    found = True
                    yield from _documents_for_file(Path(root) / name)
            if not found:
                yield InputError(given, "the directory holds no .json, .csv, .gz or .zip file")
        elif path.exists():
            yield from _documents_for_file(path)
        else:
            yield InputError(given, "no such file or directory")


def _rename(item: InputDocument | InputError, old: str, new: str) -> InputDocument | InputError:
    if isinstance(item, InputError):
        return InputError(item.origin.replace(old, new, 1), item.message)
    return InputDocument(
        origin=item.origin.replace(old, new, 1), opener=item.opener, size=item.size
    )
