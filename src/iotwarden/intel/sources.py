"""Turn the paths a user names (files, directories, .gz, .zip bundles, '-' for stdin) into
documents to parse, with limits that stop decompression bombs and oversized members."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
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
DOCUMENT_SUFFIXES = (".json", ".csv", ".gz", ".zip")
#: How deep zip bundles inside zip bundles are opened.
MAX_ZIP_DEPTH = 3


class LimitedReader(io.RawIOBase):
    """A reader that raises InputError once more than ``limit`` bytes come out of ``inner``:
    the guard against decompression bombs, whatever the archive claims about itself."""

    def __init__(self, inner: IO[bytes], limit: int, origin: str) -> None:
        self._inner = inner
        self._limit = limit
        self._origin = origin
        self._count = 0
        self._failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._failure is not None:
            raise self._failure
        # read1 hands over what one decompression step produced, so that at a truncation
        # everything decompressed before the cut is delivered before the error is raised.
        read = getattr(self._inner, "read1", self._inner.read)
        try:
            data = read(len(buffer))
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            # Report end-of-data now, so that the buffered reader above hands over what it
            # holds (complete records before a truncation), and fail on the next read.
            self._failure = e
            return 0
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


def _zip_documents(
    path: Path, depth: int = 0, shown_as: str | None = None
) -> Iterator[InputDocument | InputError]:
    """The documents of a zip bundle. Bundles inside it (the CVE list's release zip holds
    one) are opened too, to MAX_ZIP_DEPTH levels, from a private spool file."""
    limits = settings()
    origin = shown_as or str(path)
    try:
        bundle = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        yield InputError(origin, f"not a readable zip bundle ({e})")
        return
    with bundle:
        for index, info in enumerate(bundle.infolist()):
            if info.is_dir():
                continue
            member = f"{origin}!{info.filename}"
            name = info.filename.lower()
            if not name.endswith(DOCUMENT_SUFFIXES):
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
            if name.endswith(".zip"):
                yield from _nested_zip(bundle, info, member, depth)
                continue
            gzipped = name.endswith(".gz")
            if not gzipped and info.file_size <= SMALL_MEMBER_BYTES:
                # zipfile never yields more than the declared size, which was checked above:
                # small members are read whole, here or by a parsing worker (zip_member; not
                # for nested bundles, whose spool file goes away when they have been read).
                def read_small(index: int = index, member: str = member) -> IO[bytes]:
                    return io.BytesIO(read_zip_member(bundle, index, member))

                yield InputDocument(
                    origin=member,
                    opener=read_small,
                    size=info.file_size,
                    zip_member=ZipMember.of(str(path), info) if depth == 0 else None,
                )
                continue

            def opener(info: zipfile.ZipInfo = info, member: str = member) -> IO[bytes]:
                raw: IO[bytes] = bundle.open(info)
                if info.filename.lower().endswith(".gz"):
                    unpacked = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
                    return _buffered(unpacked, limits.max_member_bytes, member)
                return _buffered(raw, min(info.file_size, limits.max_member_bytes), member)

            yield InputDocument(origin=member, opener=opener, size=info.file_size)


def _nested_zip(
    bundle: zipfile.ZipFile, info: zipfile.ZipInfo, member: str, depth: int
) -> Iterator[InputDocument | InputError]:
    if depth + 1 >= MAX_ZIP_DEPTH:
        yield InputError(member, f"zip bundles nested more than {MAX_ZIP_DEPTH} deep: skipped")
        return
    try:
        with bundle.open(info) as raw:
            spooled = _spool(raw)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
        yield InputError(member, f"corrupt member ({e})")
        return
    try:
        yield from _zip_documents(spooled, depth + 1, shown_as=member)
    finally:
        spooled.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class ZipMember:
    """Where one zip member's bytes lie, so that a parsing worker can read it with a plain
    file handle instead of re-reading the bundle's central directory (200 MB of ZipInfo
    objects for a 200,000-record bundle)."""

    bundle: str
    header_offset: int
    compress_type: int
    compress_size: int
    file_size: int
    crc: int
    flag_bits: int

    @classmethod
    def of(cls, bundle: str, info: zipfile.ZipInfo) -> ZipMember:
        return cls(
            bundle,
            info.header_offset,
            info.compress_type,
            info.compress_size,
            info.file_size,
            info.CRC,
            info.flag_bits,
        )


# The local file header (APPNOTE 4.3.7): signature, versions, flags, method, time, date,
# CRC-32, sizes, and the lengths of the name and extra field that precede the data.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


class BundleReader:
    """Reads zip members by their ZipMember reference, keeping each bundle open between
    reads (a parsing worker reads thousands from one bundle). Close it when done."""

    def __init__(self) -> None:
        self._handles: dict[str, IO[bytes]] = {}
        self._bundles: dict[str, tuple[zipfile.ZipFile, dict[int, int]]] = {}

    def read(self, member: ZipMember, origin: str) -> bytes:
        """Read and check (size, CRC-32) one member."""
        if member.flag_bits & 0x1:
            raise InputError(origin, "encrypted zip member: not supported")
        try:
            fh = self._handles.get(member.bundle)
            if fh is None:
                # Kept open across reads on purpose; close() closes it.
                fh = self._handles[member.bundle] = Path(member.bundle).open("rb")  # noqa: SIM115
            if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                return self._read_other(member, fh, origin)
            return _read_local(member, fh, origin)
        except OSError as e:
            raise InputError(origin, f"cannot be read ({e.strerror or e})") from e

    def _read_other(self, member: ZipMember, fh: IO[bytes], origin: str) -> bytes:
        # bzip2, lzma, ...: rare in advisory bundles; zipfile reads them (directory read once).
        held = self._bundles.get(member.bundle)
        if held is None:
            bundle = zipfile.ZipFile(fh)
            offsets = {info.header_offset: i for i, info in enumerate(bundle.infolist())}
            held = self._bundles[member.bundle] = (bundle, offsets)
        bundle, offsets = held
        index = offsets.get(member.header_offset)
        if index is None:
            raise InputError(origin, "corrupt member (not found in the bundle)")
        return read_zip_member(bundle, index, origin)

    def close(self) -> None:
        for bundle, _ in self._bundles.values():
            bundle.close()
        for fh in self._handles.values():
            fh.close()
        self._bundles.clear()
        self._handles.clear()


def _read_local(member: ZipMember, fh: IO[bytes], origin: str) -> bytes:
    fh.seek(member.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise InputError(origin, "corrupt member (bad local header)")
    fields = _LOCAL_HEADER.unpack(header)
    fh.seek(fields[-2] + fields[-1], io.SEEK_CUR)
    packed = fh.read(member.compress_size)
    try:
        if member.compress_type == zipfile.ZIP_STORED:
            data = packed
        else:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            data = inflater.decompress(packed, member.file_size + 1)
    except zlib.error as e:
        raise InputError(origin, f"corrupt member ({e})") from e
    if len(data) != member.file_size or zlib.crc32(data) != member.crc:
        raise InputError(origin, "corrupt member (Bad CRC-32 or size)")
    return data


def read_zip_member(bundle: zipfile.ZipFile, index: int, origin: str) -> bytes:
    """The bytes of the index-th member (names may repeat in a zip; indexes do not)."""
    try:
        return bundle.read(bundle.infolist()[index])
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, IndexError) as e:
        raise InputError(origin, f"corrupt member ({e})") from e


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


def _spool(stream: IO[bytes]) -> Path:
    """Copy a stream (stdin, a pipe) to a private temporary file so it can be read twice."""
    handle, name = tempfile.mkstemp(prefix="iotwarden-spool-")
    with os.fdopen(handle, "wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    return Path(name)


def _spooled(stream: IO[bytes], shown_as: str) -> Iterator[InputDocument | InputError]:
    spooled = _spool(stream)
    try:
        for item in _documents_for_file(spooled):
            yield _rename(item, str(spooled), shown_as)
    finally:
        spooled.unlink(missing_ok=True)


def _kind_of(path: Path) -> str:
    """'file', 'dir', 'pipe' (FIFO, /dev/fd/N of a process substitution), 'missing' or
    'special' (devices, sockets): only files and pipes hold documents."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "file"  # unreadable or a symlink loop: reading it reports the reason
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISFIFO(mode):
        return "pipe"
    return "special"


def expand(paths: list[str]) -> Iterator[InputDocument | InputError]:
    """Every document under the given paths, in a stable order; errors in place of the
    paths that cannot be read, so that one bad path does not stop the others."""
    for given in paths:
        if given == "-":
            yield from _spooled(sys.stdin.buffer, "<stdin>")
            continue
        path = Path(given)
        kind = _kind_of(path)
        if kind == "dir":
            yield from _walk(path, given)
        elif kind == "file":
            yield from _documents_for_file(path)
        elif kind == "pipe":
            # Named explicitly (e.g. `ingest <(zcat feed.json.gz)`): read it once, to a spool.
            with path.open("rb") as stream:
                yield from _spooled(stream, given)
        elif kind == "special":
            yield InputError(given, "not a regular file (a device or socket): skipped")
        else:
            yield InputError(given, "no such file or directory")


def _walk(path: Path, given: str) -> Iterator[InputDocument | InputError]:
    found = False
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(DOCUMENT_SUFFIXES):
                continue
            found = True
            member = Path(root) / name
            if _kind_of(member) not in ("file", "missing"):
                # A FIFO inside a tree would block the whole run waiting for a writer.
                yield InputError(str(member), "not a regular file (a pipe or device): skipped")
                continue
            yield from _documents_for_file(member)
    if not found:
        yield InputError(given, "the directory holds no .json, .csv, .gz or .zip file")


def _rename(item: InputDocument | InputError, old: str, new: str) -> InputDocument | InputError:
    if isinstance(item, InputError):
        return InputError(item.origin.replace(old, new, 1), item.message)
    return InputDocument(
        origin=item.origin.replace(old, new, 1), opener=item.opener, size=item.size
    )
