"""The built-in format handlers: how each container is recognised, where it ends, and how it
is opened (Python for archives and compression, our SquashFS reader, the usual Linux tools as
subprocesses for ext, CramFS, JFFS2 and UBI). Used when unblob is not installed, and for what
unblob leaves unopened.

Each handler is declared in :data:`HANDLERS` with its name, kind, magic and a one-line note;
a test checks every one has a test case.
"""

from __future__ import annotations

import bz2
import lzma
import mmap
import os
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from iotwarden.firmware.extract import squashfs
from iotwarden.firmware.extract.interface import FormatError, LimitExceeded
from iotwarden.firmware.extract.sandbox import Budget, SafeTree, run_tool


class Kind(StrEnum):
    """What a format holds: a filesystem is a root candidate; nothing is carved inside it."""

    FILESYSTEM = "filesystem"
    ARCHIVE = "archive"
    COMPRESSION = "compression"
    WRAPPER = "wrapper"


@dataclass(frozen=True)
class Hit:
    """A container found at ``offset``; ``length`` when its header says where it ends."""

    format: str
    offset: int
    length: int | None = None


@dataclass
class Context:
    """What a handler needs: the budget, the problem list, time left for tools, tool PATH."""

    budget: Budget
    problems: list[str]
    tool_timeout_s: float
    tool_path: str


#: A handler opens the container at ``hit`` in ``source`` into ``out``; returns the extractor.
Opener = Callable[[Path, Hit, Path, Context], str]
#: A validator confirms a magic match and tells the length: (data, offset) -> Hit | None.
Validator = Callable[[bytes | mmap.mmap, int], Hit | None]


@dataclass(frozen=True)
class Handler:
    name: str
    kind: Kind
    magics: tuple[bytes, ...]
    validate: Validator
    open: Opener
    #: Offset of the magic from the start of the container (ext keeps it at 1080).
    magic_offset: int = 0
    note: str = ""


# --------------------------------------------------------------------------------------------
# Helpers


def _u32(data: bytes | mmap.mmap, at: int, endian: str = "<") -> int:
    value: int = struct.unpack_from(endian + "I", data, at)[0]
    return value


def _window(source: Path, hit: Hit) -> tuple[int, int]:
    size = source.stat().st_size
    end = size if hit.length is None else min(size, hit.offset + hit.length)
    return hit.offset, end


def _read_chunks(handle: IO[bytes], count: int | None, size: int = 1 << 20) -> Iterator[bytes]:
    while count is None or count > 0:
        chunk = handle.read(size if count is None else min(size, count))
        if not chunk:
            return
        if count is not None:
            count -= len(chunk)
        yield chunk


def _carve(source: Path, hit: Hit, dest: Path, budget: Budget) -> Path:
    """Copies the container's bytes to ``dest`` (tools that take no offset)."""
    start, end = _window(source, hit)
    tree = SafeTree(dest.parent, budget, [])
    with source.open("rb") as handle:
        handle.seek(start)
        tree.file(dest.name, _read_chunks(handle, end - start))
    return dest


def _whole_or_carved(source: Path, hit: Hit, out: Path, context: Context) -> tuple[Path, bool]:
    if hit.offset == 0 and (hit.length is None or hit.length >= source.stat().st_size):
        return source, False
    return _carve(source, hit, out.parent / f".{out.name}.carved", context.budget), True


def _tool(name: str, context: Context) -> str:
    found = shutil.which(name, path=context.tool_path) or shutil.which(name)
    if found is None:
        raise FormatError(f"needs the '{name}' command, which is not installed")
    return found


def _run_tool(args: list[str], out: Path, context: Context) -> str:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=context.tool_path)
    done = run_tool(
        args, watch=out, budget=context.budget, timeout_s=context.tool_timeout_s, env=env
    )
    if done.returncode != 0:
        last = done.stdout.strip().splitlines()[-1:] or ["no output"]
        message = f"{Path(args[0]).name} exited with {done.returncode}: {last[0][:200]}"
        if not any(out.iterdir()):
            raise FormatError(message)
        context.problems.append(message + " (partial output kept)")
    return Path(args[0]).name


# --------------------------------------------------------------------------------------------
# SquashFS


def _validate_squashfs(data: bytes | mmap.mmap, at: int) -> Hit | None:
    try:
        block = squashfs.parse_superblock(bytes(data[at : at + squashfs.HEADER_WINDOW]))
    except FormatError:
        return None
    return Hit("squashfs", at, block.bytes_used)


def _stock_reads(head: bytes) -> bool:
    """Could stock unsquashfs read this? 4.0 only as little-endian 'hsqs'; 3.x under its
    standard magic in either byte order (gzip only, but only trying tells)."""
    try:
        magic, _, major, _ = squashfs.probe_version(head)
    except FormatError:
        return False
    return magic == b"hsqs" or (major == 3 and magic == b"sqsh")


def _open_squashfs(source: Path, hit: Hit, out: Path, context: Context) -> str:
    with source.open("rb") as handle:
        handle.seek(hit.offset)
        head = handle.read(squashfs.HEADER_WINDOW)
    stock = shutil.which("unsquashfs")
    if stock and _stock_reads(head):
        args = [stock, "-no-xattrs", "-no-progress", "-f", "-d", str(out)]
        args += ["-o", str(hit.offset), str(source)]
        try:
            done = run_tool(
                args, watch=out, budget=context.budget, timeout_s=context.tool_timeout_s
            )
        except FormatError:
            done = None
        if done is not None and done.returncode == 0:
            return "unsquashfs"
        shutil.rmtree(out, ignore_errors=True)
    _, variant = squashfs.extract_squashfs(
        source, out, offset=hit.offset, budget=context.budget, problems=context.problems
    )
    return f"iotwarden-squashfs ({variant})"


# --------------------------------------------------------------------------------------------
# Archives: tar, zip, cpio


def _validate_tar(data: bytes | mmap.mmap, at: int) -> Hit | None:
    if bytes(data[at + 257 : at + 262]) != b"ustar":
        return None
    return Hit("tar", at, None)


def _open_tar(source: Path, hit: Hit, out: Path, context: Context) -> str:
    tree = SafeTree(out, context.budget, context.problems)
    with source.open("rb") as handle:
        handle.seek(hit.offset)
        try:
            with tarfile.open(fileobj=handle, mode="r|*") as archive:
                for member in archive:
                    _tar_member(archive, member, tree)
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as e:
            context.problems.append(f"tar {source.name}: stopped early ({e}); kept what was read")
    return "python-tarfile"


def _tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo, tree: SafeTree) -> None:
    try:
        if member.isdir():
            tree.directory(member.name, member.mode)
        elif member.isreg():
            stream = archive.extractfile(member)
            if stream is not None:
                tree.file(member.name, _read_chunks(stream, None), member.mode)
        elif member.issym():
            tree.symlink(member.name, member.linkname)
        elif member.islnk():
            tree.hardlink(member.name, member.linkname)
        elif member.ischr() or member.isblk():
            tree.special(member.name, "device node")
        else:
            tree.special(member.name, "special file")
    except FormatError as e:
        tree.problems.append(f"tar member {member.name!r}: {e}")


def _validate_zip(data: bytes | mmap.mmap, at: int) -> Hit | None:
    if bytes(data[at : at + 4]) != b"PK\x03\x04":
        return None
    return Hit("zip", at, None)


def _open_zip(source: Path, hit: Hit, out: Path, context: Context) -> str:
    tree = SafeTree(out, context.budget, context.problems)
    path, carved = _whole_or_carved(source, hit, out, context)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _zip_member(archive, info, tree, context.budget)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        context.problems.append(f"zip {source.name}: {e}; kept what was read")
    finally:
        if carved:
            path.unlink()
    return "python-zipfile"


def _zip_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, tree: SafeTree, budget: Budget
) -> None:
    mode = info.external_attr >> 16
    try:
        if info.is_dir():
            tree.directory(info.filename)
            return
        budget.check_stream(info.file_size, info.compress_size, f"zip member {info.filename!r}")
        if stat.S_ISLNK(mode):
            tree.symlink(info.filename, archive.read(info)[:4096].decode("utf-8", "replace"))
            return

        def chunks() -> Iterator[bytes]:
            produced = 0
            with archive.open(info) as stream:
                for chunk in _read_chunks(stream, None):
                    produced += len(chunk)
                    budget.check_stream(produced, info.compress_size, f"zip {info.filename!r}")
                    yield chunk

        tree.file(info.filename, chunks(), (mode & 0o777) or 0o644)
    except FormatError as e:
        tree.problems.append(f"zip member {info.filename!r}: {e}")


CPIO_MAGICS = (b"070701", b"070702", b"070707")


_DIGITS = {16: frozenset(b"0123456789abcdefABCDEF"), 8: frozenset(b"01234567")}


def _cpio_number(field: bytes, base: int) -> int:
    """A cpio header number: digits only. int() alone would also take a sign, spaces and
    underscores, and a negative size or name length sends the reader backwards (a loop)."""
    if not field or not _DIGITS[base].issuperset(field):
        raise FormatError(f"bad number {field!r} in a cpio header")
    return int(field, base)


def _validate_cpio(data: bytes | mmap.mmap, at: int) -> Hit | None:
    head = bytes(data[at : at + 110])
    if head[:6] in (b"070701", b"070702") and len(head) >= 110:
        return Hit("cpio", at, None) if _DIGITS[16].issuperset(head[6:110]) else None
    if head[:6] == b"070707" and len(head) >= 76:
        return Hit("cpio", at, None) if _DIGITS[8].issuperset(head[6:76]) else None
    return None


def _open_cpio(source: Path, hit: Hit, out: Path, context: Context) -> str:
    tree = SafeTree(out, context.budget, context.problems)
    inodes: dict[tuple[int, int], str] = {}
    with source.open("rb") as handle:
        handle.seek(hit.offset)
        try:
            while _cpio_entry(handle, tree, inodes):
                pass
        except FormatError as e:
            context.problems.append(f"cpio {source.name}: {e}; kept what was read")
    return "iotwarden-cpio"


def _cpio_entry(handle: IO[bytes], tree: SafeTree, inodes: dict[tuple[int, int], str]) -> bool:
    start = handle.tell()
    magic = handle.read(6)
    if magic in (b"070701", b"070702"):
        header = handle.read(104)
        if len(header) < 104:
            raise FormatError("truncated header")
        fields = [_cpio_number(header[i : i + 8], 16) for i in range(0, 104, 8)]
        inode, mode, nlink, size, name_size = fields[0], fields[1], fields[4], fields[6], fields[11]
        align = 4
    elif magic == b"070707":
        header = handle.read(70)
        if len(header) < 70:
            raise FormatError("truncated header")
        inode, mode, nlink, name_size, size = (
            _cpio_number(header[start:end], 8)
            for start, end in ((6, 12), (12, 18), (30, 36), (53, 59), (59, 70))
        )
        align = 1
    elif not magic.strip(b"\0"):
        return False  # padding after the trailer
    else:
        raise FormatError(f"bad entry header at {start}")
    name = handle.read(name_size)[:-1].decode("utf-8", "surrogateescape")
    handle.seek(-(handle.tell() - start) % align, os.SEEK_CUR)
    if name == "TRAILER!!!":
        return False
    data_start = handle.tell()
    try:
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFDIR:
            tree.directory(name, mode)
        elif kind == stat.S_IFLNK:
            tree.symlink(name, handle.read(min(size, 4096)).decode("utf-8", "surrogateescape"))
        elif kind == stat.S_IFREG:
            key = (inode, nlink)
            if nlink > 1 and size == 0 and key in inodes:  # newc hard link: data on the last
                tree.hardlink(name, inodes[key])
            else:
                written = tree.file(name, _read_chunks(handle, size), mode)
                if written.stat().st_size < size:
                    raise FormatError(f"member {name!r} truncated")
                inodes[key] = name
        else:
            tree.special(name, "device node or special file")
    except FormatError as e:
        if "truncated" in str(e):
            raise
        tree.problems.append(f"cpio member {name!r}: {e}")
    handle.seek(data_start + size)
    handle.seek(-(handle.tell() - start) % align, os.SEEK_CUR)
    return True


# --------------------------------------------------------------------------------------------
# Compression streams


def _validate_gzip(data: bytes | mmap.mmap, at: int) -> Hit | None:
    flags = data[at + 3] if len(data) > at + 3 else 0xFF
    if data[at + 2 : at + 3] != b"\x08" or flags >= 0x20:
        return None
    try:  # two magic bytes are weak: the first 64 KiB must inflate
        zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bytes(data[at : at + 65536]), 4096)
    except zlib.error:
        return None
    return Hit("gzip", at)


def _validate_xz(data: bytes | mmap.mmap, at: int) -> Hit | None:
    return Hit("xz", at)


def _validate_bzip2(data: bytes | mmap.mmap, at: int) -> Hit | None:
    level = bytes(data[at + 3 : at + 4])
    return Hit("bzip2", at) if level in b"123456789" and level else None


def _validate_lzma(data: bytes | mmap.mmap, at: int) -> Hit | None:
    """lzma-alone has no magic: accept the usual properties, dictionary and size fields."""
    if at != 0 or len(data) < 13 or data[0] != 0x5D:
        return None
    dictionary = _u32(data, 1)
    (size,) = struct.unpack_from("<Q", data, 5)
    if dictionary & (dictionary - 1) or not 1 << 12 <= dictionary <= 1 << 30:
        return None
    if size != 0xFFFFFFFFFFFFFFFF and size > 1 << 34:
        return None
    return Hit("lzma", at)


def _validate_always(name: str) -> Validator:
    return lambda data, at: Hit(name, at)


def _stream(
    source: Path,
    hit: Hit,
    out: Path,
    context: Context,
    decoder: Callable[[bytes, int], bytes],
    unused: Callable[[], bool],
) -> None:
    """Runs ``decoder(chunk, max_length)`` over the input into one output file."""
    tree = SafeTree(out, context.budget, context.problems)
    name = source.name.rsplit(".", 1)[0] if hit.offset == 0 else f"{hit.offset}"
    name = name if name and name != source.name else "decompressed"
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        produced = 0
        with source.open("rb") as handle:
            handle.seek(hit.offset)
            for chunk in _read_chunks(handle, None, 1 << 16):
                consumed += len(chunk)
                pending = chunk
                while True:
                    piece = decoder(pending, 1 << 20)
                    pending = b""
                    produced += len(piece)
                    context.budget.check_stream(produced, consumed, f"{hit.format} stream")
                    if piece:
                        yield piece
                    if unused() or len(piece) < 1 << 20:
                        break
                if unused():
                    return

    try:
        tree.file(name, chunks())
    except (zlib.error, lzma.LZMAError, OSError, EOFError) as e:
        context.problems.append(f"{hit.format} stream in {source.name}: {e}; kept what was read")


def _open_gzip(source: Path, hit: Hit, out: Path, context: Context) -> str:
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    _stream(
        source,
        hit,
        out,
        context,
        lambda data, limit: decoder.decompress(decoder.unconsumed_tail + data, limit),
        lambda: decoder.eof,
    )
    return "python-zlib"


def _lzma_like(fmt: int) -> Opener:
    def opener(source: Path, hit: Hit, out: Path, context: Context) -> str:
        decoder = lzma.LZMADecompressor(fmt)
        _stream(source, hit, out, context, decoder.decompress, lambda: decoder.eof)
        return "python-lzma"

    return opener


def _open_bzip2(source: Path, hit: Hit, out: Path, context: Context) -> str:
    decoder = bz2.BZ2Decompressor()
    _stream(source, hit, out, context, decoder.decompress, lambda: decoder.eof)
    return "python-bz2"


def _cli_decompressor(command: str) -> Opener:
    def opener(source: Path, hit: Hit, out: Path, context: Context) -> str:
        path, carved = _whole_or_carved(source, hit, out, context)
        try:
            target = out / (source.name.rsplit(".", 1)[0] or "decompressed")
            if target.name == source.name:
                target = out / "decompressed"
            args = [_tool(command, context), "-d", "-q", "-f", str(path)]
            args += ["-o", str(target)] if command == "zstd" else [str(target)]
            return _run_tool(args, out, context)
        finally:
            if carved:
                path.unlink()

    return opener


# --------------------------------------------------------------------------------------------
# Vendor wrappers: uImage, TRX


def _validate_uimage(data: bytes | mmap.mmap, at: int) -> Hit | None:
    header = bytes(data[at : at + 64])
    if len(header) < 64:
        return None
    (stored,) = struct.unpack_from(">I", header, 4)
    if zlib.crc32(header[:4] + b"\0\0\0\0" + header[8:]) != stored:
        return None
    (size,) = struct.unpack_from(">I", header, 12)
    return Hit("uimage", at, 64 + size)


def _open_uimage(source: Path, hit: Hit, out: Path, context: Context) -> str:
    tree = SafeTree(out, context.budget, context.problems)
    with source.open("rb") as handle:
        handle.seek(hit.offset)
        header = handle.read(64)
        size, data_crc = struct.unpack_from(">I", header, 12)[0], _u32(header, 24, ">")
        image_type = header[30]
        name = header[32:64].split(b"\0")[0].decode("ascii", "replace") or "image"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "image"
        payload = handle.read(size)
        if len(payload) < size:
            context.problems.append(f"uImage {name!r} truncated: {len(payload)} of {size} bytes")
        elif zlib.crc32(payload) != data_crc:
            context.problems.append(f"uImage {name!r}: data CRC mismatch (kept anyway)")
        if image_type == 4:  # multi-file: sizes list ending with 0, then 4-byte aligned parts
            sizes = []
            for index in range(0, len(payload), 4):
                (part,) = struct.unpack_from(">I", payload, index)
                if part == 0:
                    break
                sizes.append(part)
            position = 4 * (len(sizes) + 1)
            for index, part in enumerate(sizes):
                tree.file(f"{safe}.part{index}", [payload[position : position + part]])
                position += part + (-part % 4)
        else:
            tree.file(f"{safe}.bin", [payload])
    return "iotwarden-uimage"


def _validate_trx(data: bytes | mmap.mmap, at: int) -> Hit | None:
    if len(data) < at + 28:
        return None
    length = _u32(data, at + 4)
    if length < 28 or length > 1 << 31:
        return None
    return Hit("trx", at, length)


def _open_trx(source: Path, hit: Hit, out: Path, context: Context) -> str:
    tree = SafeTree(out, context.budget, context.problems)
    with source.open("rb") as handle:
        handle.seek(hit.offset)
        data = handle.read(hit.length or 0)
    length, stored = _u32(data, 4), _u32(data, 8)
    if len(data) < length:
        context.problems.append(f"TRX truncated: {len(data)} of {length} bytes")
    elif (zlib.crc32(data[12:length]) ^ 0xFFFFFFFF) != stored:
        context.problems.append("TRX CRC mismatch (kept anyway)")
    offsets = [o for o in struct.unpack_from("<3I", data, 16) if 28 <= o < len(data)]
    bounds = [*sorted(offsets), min(length, len(data))]
    for index in range(len(bounds) - 1):
        tree.file(f"part{index}", [data[bounds[index] : bounds[index + 1]]])
    return "iotwarden-trx"


# --------------------------------------------------------------------------------------------
# Filesystems through the usual tools


def _validate_ext(data: bytes | mmap.mmap, start: int) -> Hit | None:
    if len(data) < start + 1084:
        return None
    log_block = _u32(data, start + 1024 + 24)
    blocks = _u32(data, start + 1024 + 4)
    if log_block > 6:
        return None
    return Hit("ext", start, blocks * (1024 << log_block))


def _open_ext(source: Path, hit: Hit, out: Path, context: Context) -> str:
    path, carved = _whole_or_carved(source, hit, out, context)
    try:
        out.mkdir(parents=True, exist_ok=True)
        args = [_tool("debugfs", context), "-R", f"rdump / {out}", str(path)]
        return _run_tool(args, out, context)
    finally:
        if carved:
            path.unlink()


def _validate_cramfs(data: bytes | mmap.mmap, at: int) -> Hit | None:
    if bytes(data[at + 16 : at + 32]) != b"Compressed ROMFS":
        return None
    return Hit("cramfs", at, _u32(data, at + 4))


def _open_cramfs(source: Path, hit: Hit, out: Path, context: Context) -> str:
    path, carved = _whole_or_carved(source, hit, out, context)
    try:
        target = out / "root"
        out.mkdir(parents=True, exist_ok=True)
        args = [_tool("fsck.cramfs", context), f"--extract={target}", str(path)]
        name = _run_tool(args, out, context)
        # fsck.cramfs insists on creating its target itself; lift the tree up one level.
        if target.is_dir():
            for child in target.iterdir():
                child.rename(out / child.name)
            target.rmdir()
        return name
    finally:
        if carved:
            path.unlink()


def _validate_jffs2(data: bytes | mmap.mmap, at: int) -> Hit | None:
    header = bytes(data[at : at + 12])
    if len(header) < 12:
        return None
    for endian in "<>":
        _magic, node_type, _length, crc = struct.unpack(endian + "HHII", header)
        expected = (zlib.crc32(header[:8], 0) ^ 0xFFFFFFFF) & 0xFFFFFFFF
        # JFFS2 header CRC is crc32 with seed 0 and no final inversion.
        if node_type in (0xE001, 0xE002, 0x2003, 0x2004, 0xE006) and crc in (
            expected,
            _jffs2_crc(header[:8]),
        ):
            return Hit("jffs2", at, None)
    return None


def _jffs2_crc(data: bytes) -> int:
    return (zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF


def _open_jffs2(source: Path, hit: Hit, out: Path, context: Context) -> str:
    path, carved = _whole_or_carved(source, hit, out, context)
    try:
        target = out / "fs"
        args = [_tool("jefferson", context), "-f", "-d", str(target), str(path)]
        return _run_tool(args, out, context)
    finally:
        if carved:
            path.unlink()


def _validate_ubi(data: bytes | mmap.mmap, at: int) -> Hit | None:
    return Hit("ubi", at, None) if data[at + 4 : at + 5] == b"\x01" else None


def _open_ubi(source: Path, hit: Hit, out: Path, context: Context) -> str:
    path, carved = _whole_or_carved(source, hit, out, context)
    try:
        args = [_tool("ubireader_extract_files", context), "-k", "-o", str(out), str(path)]
        return _run_tool(args, out, context)
    finally:
        if carved:
            path.unlink()


HANDLERS: tuple[Handler, ...] = (
    Handler("squashfs", Kind.FILESYSTEM, squashfs.MAGICS, _validate_squashfs, _open_squashfs,
            note="4.0, 3.1 and 3.0: unsquashfs, then the built-in reader for vendor LZMA, "
            "3.x LZMA and renamed magics"),
    Handler("uimage", Kind.WRAPPER, (b"\x27\x05\x19\x56",), _validate_uimage, _open_uimage,
            note="legacy U-Boot image; header CRC checked"),
    Handler("trx", Kind.WRAPPER, (b"HDR0",), _validate_trx, _open_trx,
            note="Broadcom TRX v1: three partitions"),
    Handler("ext", Kind.FILESYSTEM, (b"\x53\xef",), _validate_ext, _open_ext, magic_offset=1080,
            note="ext2/3/4 through debugfs rdump"),
    Handler("cramfs", Kind.FILESYSTEM, (b"\x45\x3d\xcd\x28",), _validate_cramfs, _open_cramfs,
            note="CramFS through fsck.cramfs --extract"),
    Handler("jffs2", Kind.FILESYSTEM, (b"\x85\x19", b"\x19\x85"), _validate_jffs2, _open_jffs2,
            note="JFFS2 through jefferson (tools virtualenv)"),
    Handler("ubi", Kind.FILESYSTEM, (b"UBI#",), _validate_ubi, _open_ubi,
            note="UBI/UBIFS through ubireader (tools virtualenv, subprocess)"),
    Handler("cpio", Kind.ARCHIVE, CPIO_MAGICS, _validate_cpio, _open_cpio,
            note="newc, crc and odc cpio"),
    Handler("tar", Kind.ARCHIVE, (b"ustar",), _validate_tar, _open_tar, magic_offset=257,
            note="POSIX/GNU tar, compressed or not"),
    Handler("zip", Kind.ARCHIVE, (b"PK\x03\x04",), _validate_zip, _open_zip),
    Handler("gzip", Kind.COMPRESSION, (b"\x1f\x8b",), _validate_gzip, _open_gzip),
    Handler("xz", Kind.COMPRESSION, (b"\xfd7zXZ\x00",), _validate_xz,
            _lzma_like(lzma.FORMAT_XZ)),
    Handler("lzma", Kind.COMPRESSION, (b"\x5d\x00\x00",), _validate_lzma,
            _lzma_like(lzma.FORMAT_ALONE), note="lzma-alone, recognised at the start only"),
    Handler("bzip2", Kind.COMPRESSION, (b"BZh",), _validate_bzip2, _open_bzip2),
    Handler("lz4", Kind.COMPRESSION, (b"\x04\x22\x4d\x18",), _validate_always("lz4"),
            _cli_decompressor("lz4")),
    Handler("zstd", Kind.COMPRESSION, (b"\x28\xb5\x2f\xfd",), _validate_always("zstd"),
            _cli_decompressor("zstd")),
)  # fmt: skip

BY_NAME = {handler.name: handler for handler in HANDLERS}

#: Formats searched for anywhere in a file (carving); the rest only count at offset 0.
CARVED = ("squashfs", "uimage", "trx", "cramfs", "jffs2", "ubi", "gzip", "xz", "ext", "zip")


def identify(path: Path, *, carve: bool, inside_filesystem: bool = False) -> list[Hit]:
    """Containers in ``path``: the one at offset 0 if any, else (with ``carve``) every strong
    signature in the file, in order, skipping the inside of containers of known length.

    ``inside_filesystem``: only filesystems and vendor wrappers count (a rootfs's own
    .gz, .zip and .tar files are content to analyse, not firmware layers)."""
    with path.open("rb") as handle:
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            return []
    with data:
        for handler in HANDLERS:
            if inside_filesystem and handler.kind not in (Kind.FILESYSTEM, Kind.WRAPPER):
                continue
            for magic in handler.magics:
                at = handler.magic_offset
                if data[at : at + len(magic)] == magic:
                    hit = handler.validate(data, 0)
                    if hit is not None and hit.offset == 0:
                        if handler.name == "jffs2" and hit.length is None:
                            return [hit]
                        return [hit, *(_carve_after(data, hit) if carve else [])]
        return _scan(data, 0) if carve else []


def _carve_after(data: mmap.mmap, first: Hit) -> list[Hit]:
    """What follows a wrapper or filesystem of known length (a flash dump after a kernel)."""
    if first.length is None or first.length >= len(data):
        return []
    if BY_NAME[first.format].kind in (Kind.COMPRESSION, Kind.ARCHIVE):
        return []
    return _scan(data, first.length)


_WINDOW = 4 << 20
_OVERLAP = 2048  # longest magic plus the largest magic offset (ext: 1080)
_BLANK = (bytes(_WINDOW + _OVERLAP), b"\xff" * (_WINDOW + _OVERLAP))


def _scan(data: mmap.mmap, start: int) -> list[Hit]:
    """Signatures in windows; erased (0xFF) and zero windows are skipped at memcmp speed, so
    a sparse or mostly empty flash dump of gigabytes scans in seconds."""
    candidates: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    for base in range(start, len(data), _WINDOW):
        window = data[base : base + _WINDOW + _OVERLAP]
        if window in (_BLANK[0][: len(window)], _BLANK[1][: len(window)]):
            continue
        for name in CARVED:
            handler = BY_NAME[name]
            for magic in handler.magics:
                at = window.find(magic)
                while at != -1:
                    offset = base + at - handler.magic_offset
                    if offset >= start and (name, offset) not in seen:
                        seen.add((name, offset))
                        hit = handler.validate(data, offset)
                        if hit is not None:
                            candidates.append(hit)
                    at = window.find(magic, at + 1)
    hits: list[Hit] = []
    end = start
    for hit in sorted(candidates, key=lambda h: (h.offset, BY_NAME[h.format].kind != "wrapper")):
        if hit.offset < end:
            continue  # inside the previous container
        hits.append(hit)
        end = hit.offset + (hit.length or 1) if hit.length else hit.offset + 1
        if hit.format == "jffs2":
            end = len(data)  # a JFFS2 node stream runs to the end of its partition
    return hits


def open_container(source: Path, hit: Hit, out: Path, context: Context) -> str:
    """Opens ``hit`` into ``out`` with its handler; returns the extractor's name."""
    handler = BY_NAME[hit.format]
    try:
        return handler.open(source, hit, out, context)
    except LimitExceeded:
        raise
    except (OSError, struct.error, ValueError, IndexError) as e:
        raise FormatError(f"{hit.format} at {hit.offset} in {source.name}: {e}") from e
