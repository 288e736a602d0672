"""A pure-Python SquashFS reader (4.0 here, 3.0/3.1 in :mod:`.squashfs3`) for the images
stock ``unsquashfs`` rejects.

Vendors patched LZMA into SquashFS long before mainline did, and their kernels read streams
squashfs-tools never wrote: raw LZMA behind only the 5-byte properties header (no 8-byte
size), LZMA with no header at all (fixed properties), and renamed magics ('shsq', 'qshs',
'sqlz', 'hsqt', 'tqsh'). This reader accepts them all, plus the standard gzip, xz, lzma
(lzma-alone header), lz4 and zstd blocks, little- and big-endian. LZO blocks and SquashFS
1.x/2.x are left to ``unsquashfs``/unblob (a clear :class:`FormatError` says so).

Layout facts (superblock, metadata blocks, inode and directory formats) follow the
SquashFS 4.0 on-disk format as documented by the kernel and squashfs-tools.

Run as ``python -m iotwarden.firmware.extract.squashfs -d OUT IMAGE`` it is also the
``sasquatch`` stand-in unblob calls: stock unsquashfs first, this reader when it fails.
"""

from __future__ import annotations

import lzma
import mmap
import shutil
import struct
import subprocess
import sys
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from iotwarden.firmware.extract.interface import ExtractionLimits, FormatError, LimitExceeded
from iotwarden.firmware.extract.sandbox import Budget, SafeTree

#: Magics seen in the wild (standard, then vendor renames); endianness comes from the version.
MAGICS = (b"hsqs", b"sqsh", b"shsq", b"qshs", b"sqlz", b"zlqs", b"hsqt", b"tqsh")
COMPRESSORS = {1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}
SUPERBLOCK_SIZE = 96
#: Bytes that hold any superblock this reader knows (3.x superblocks are 119 bytes long).
HEADER_WINDOW = 128
METADATA_SIZE = 8192
INVALID = 0xFFFFFFFF
UNCOMPRESSED_BLOCK = 1 << 24
MAX_DEPTH = 256  # directory nesting; a cycle in a hostile image must not recurse forever
MAX_FAILURES_PER_DIRECTORY = 64  # real images have none; garbage listings have millions

INODE_KINDS = {
    1: "dir", 2: "file", 3: "symlink", 4: "block device", 5: "character device", 6: "fifo",
    7: "socket", 8: "dir", 9: "file", 10: "symlink", 11: "block device",
    12: "character device", 13: "fifo", 14: "socket",
}  # fmt: skip


@dataclass(frozen=True)
class Superblock:
    """The fields of a SquashFS superblock this reader uses (4.0, or 3.x with the fields
    only 3.x has: the marker byte flag and the raw uid/gid tables)."""

    magic: bytes
    endian: str  # struct prefix, '<' or '>'
    version: tuple[int, int]
    inode_count: int
    block_size: int
    fragment_count: int
    compressor: int
    flags: int
    root_inode: int
    bytes_used: int
    inode_table: int
    directory_table: int
    fragment_table: int
    #: 3.x only: every metadata block header is followed by a marker byte (-check_data).
    check_data: bool = False
    uid_table: int = 0
    uid_count: int = 0
    guid_table: int = 0
    guid_count: int = 0

    @property
    def compressor_name(self) -> str:
        return COMPRESSORS.get(self.compressor, f"unknown compressor {self.compressor}")

    @property
    def label(self) -> str:
        """'SquashFS 3.1 (big-endian, magic 'sqsh')', for messages."""
        order = "big" if self.endian == ">" else "little"
        major, minor = self.version
        return f"SquashFS {major}.{minor} ({order}-endian, magic {self.magic.decode('latin-1')!r})"


def probe_version(data: bytes) -> tuple[bytes, str, int, int]:
    """(magic, struct endian prefix, major, minor) of the superblock at the start of
    ``data``; the version field sits at byte 28 in every SquashFS version."""
    if len(data) < 32:
        raise FormatError("SquashFS superblock truncated")
    magic = bytes(data[:4])
    if magic not in MAGICS:
        raise FormatError(f"not SquashFS (magic {magic!r})")
    for endian in "<>":
        major, minor = struct.unpack_from(endian + "HH", data, 28)
        if major in (1, 2, 3, 4) and minor < 16:
            return magic, endian, major, minor
    raise FormatError(f"SquashFS with magic {magic!r} has no readable version")


def parse_superblock(data: bytes) -> Superblock:
    """The superblock at the start of ``data`` (give :data:`HEADER_WINDOW` bytes); FormatError
    when it is not SquashFS 4.0, 3.1 or 3.0."""
    magic, endian, major, minor = probe_version(data)
    if major == 3:
        from iotwarden.firmware.extract import squashfs3

        return squashfs3.parse_superblock(data, magic, endian, minor)
    if major != 4:
        raise FormatError(
            f"SquashFS {major}.{minor} ({'big' if endian == '>' else 'little'}-endian, magic "
            f"{magic.decode('latin-1')!r}) is not read by the built-in reader; unblob with "
            "sasquatch handles it"
        )
    if len(data) < SUPERBLOCK_SIZE:
        raise FormatError("SquashFS superblock truncated")
    fields = struct.unpack_from(endian + "4xIIIIHHHHHHQQQQQQQQ", data, 0)
    (inodes, _time, block_size, fragments, compressor, block_log, flags, _ids, _major, _minor,
     root, used, _id_table, _xattr, inode_table, directory_table, fragment_table,
     _export) = fields  # fmt: skip
    if block_size != 1 << block_log or not 4096 <= block_size <= 1 << 20:
        raise FormatError(f"SquashFS block size {block_size} is not valid")
    if not inode_table < directory_table <= used:
        raise FormatError("SquashFS tables are out of order (corrupt superblock)")
    return Superblock(
        magic, endian, (major, minor), inodes, block_size, fragments, compressor, flags, root,
        used, inode_table, directory_table, fragment_table,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Decompressors: (data, most bytes expected) -> bytes


def _zlib(data: bytes, limit: int) -> bytes:
    return zlib.decompressobj().decompress(data, limit)


def _xz(data: bytes, limit: int) -> bytes:
    return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data, limit)


def _lzma_filter(props: bytes) -> dict[str, int]:
    value = props[0]
    if value >= 9 * 5 * 5:
        raise FormatError(f"LZMA properties byte {value:#x} is invalid")
    lc, rest = value % 9, value // 9
    dict_size = struct.unpack("<I", props[1:5])[0]
    return {
        "id": lzma.FILTER_LZMA1,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
        "dict_size": min(max(dict_size, 4096), 1 << 30),
    }


def lzma_alone(data: bytes, limit: int) -> bytes:
    """squashfs-tools' LZMA: 5 property bytes, 8-byte uncompressed size, stream."""
    return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data, limit)


def lzma_props_only(data: bytes, limit: int) -> bytes:
    """Vendor LZMA: 5 property bytes then the raw stream (no size field)."""
    decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[_lzma_filter(data[:5])])
    return decoder.decompress(data[5:], limit)


def lzma_headerless(data: bytes, limit: int) -> bytes:
    """Vendor LZMA with no header at all: the LZMA SDK defaults (lc=3, lp=0, pb=2)."""
    props = bytes([0x5D]) + struct.pack("<I", 1 << 20)
    decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[_lzma_filter(props)])
    return decoder.decompress(data, limit)


LZMA_VARIANTS: dict[str, Callable[[bytes, int], bytes]] = {
    "lzma-alone": lzma_alone,
    "lzma-props": lzma_props_only,
    "lzma-raw": lzma_headerless,
}


def lz4_block(data: bytes, limit: int) -> bytes:
    """An LZ4 block (no frame), as SquashFS stores it."""
    out = bytearray()
    i, end = 0, len(data)
    try:
        while i < end:
            token = data[i]
            i += 1
            length = token >> 4
            if length == 15:
                while True:
                    extra = data[i]
                    i += 1
                    length += extra
                    if extra != 255:
                        break
            out += data[i : i + length]
            i += length
            if i >= end:
                break
            distance = data[i] | data[i + 1] << 8
            i += 2
            length = token & 15
            if length == 15:
                while True:
                    extra = data[i]
                    i += 1
                    length += extra
                    if extra != 255:
                        break
            length += 4
            if distance == 0 or distance > len(out) or len(out) + length > limit:
                raise FormatError("LZ4 block is corrupt")
            start = len(out) - distance
            if length <= distance:
                out += out[start : start + length]
            else:  # overlapping copy repeats the last `distance` bytes
                for k in range(length):
                    out.append(out[start + k])
    except IndexError as e:
        raise FormatError("LZ4 block is truncated") from e
    return bytes(out[:limit])


def zstd_cli(data: bytes, limit: int) -> bytes:
    tool = shutil.which("zstd")
    if tool is None:
        raise FormatError("zstd-compressed SquashFS needs the zstd command (not installed)")
    done = subprocess.run(
        [tool, "-d", "-c", "-q"], input=data, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise FormatError("zstd block is corrupt")
    return done.stdout[:limit]


class BlockDecompressor:
    """Decompresses blocks of one image; for LZMA it finds out which vendor variant the
    image uses from the first block and sticks to it."""

    def __init__(self, compressor: int) -> None:
        self.compressor = compressor
        self.variant: str | None = None
        simple: dict[int, Callable[[bytes, int], bytes]] = {
            1: _zlib,
            4: _xz,
            5: lz4_block,
            6: zstd_cli,
        }
        self._simple = simple.get(compressor)
        if compressor == 3:
            raise FormatError("LZO-compressed SquashFS needs unsquashfs (squashfs-tools)")
        if compressor != 2 and self._simple is None:
            raise FormatError(f"SquashFS compressor {compressor} is unknown")

    def __call__(self, data: bytes, limit: int, expected: int | None) -> bytes:
        try:
            if self._simple is not None:
                return self._simple(data, limit)
            return self._lzma(data, limit, expected)
        except (lzma.LZMAError, zlib.error) as e:
            raise FormatError(f"corrupt compressed block ({e})") from e

    def _lzma(self, data: bytes, limit: int, expected: int | None) -> bytes:
        order = list(LZMA_VARIANTS)
        if self.variant is not None:
            order.remove(self.variant)
            order.insert(0, self.variant)
        errors = []
        for name in order:
            try:
                out = LZMA_VARIANTS[name](data, limit)
            except (lzma.LZMAError, FormatError, struct.error) as e:
                errors.append(f"{name}: {e}")
                continue
            if out and (expected is None or len(out) >= expected):
                self.variant = name
                return out
            errors.append(f"{name}: {len(out)} bytes")
        raise FormatError("LZMA block matches no known variant (" + "; ".join(errors) + ")")


# --------------------------------------------------------------------------------------------
# The reader


@dataclass(frozen=True)
class Inode:
    kind: str
    mode: int
    size: int = 0
    blocks_start: int = 0
    fragment: int = INVALID
    fragment_offset: int = 0
    directory_block: int = 0
    directory_offset: int = 0
    target: bytes = b""
    block_sizes_at: tuple[int, int] = (0, 0)  # metadata position of the block size list
    uid: int | None = None  # owner, where the reader resolves it (3.x)
    gid: int | None = None


class MetadataCursor:
    """Sequential reads through a metadata table starting at (block, offset)."""

    def __init__(self, reader: SquashfsReader, table: int, block: int, offset: int) -> None:
        self.reader, self.table, self.block, self.offset = reader, table, block, offset

    def read(self, count: int) -> bytes:
        out = bytearray()
        while len(out) < count:
            data, size_on_disk = self.reader.metadata_block(self.table + self.block)
            piece = data[self.offset : self.offset + count - len(out)]
            out += piece
            self.offset += len(piece)
            if self.offset >= len(data):
                self.block += size_on_disk
                self.offset = 0
            elif not piece:
                raise FormatError("metadata reference points past its block")
        return bytes(out)

    def unpack(self, layout: str) -> tuple[int, ...]:
        fmt = self.reader.sb.endian + layout
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))


class SquashfsReader:
    """Reads one SquashFS 4.0 image at ``offset`` of ``path`` through mmap (bounded memory
    whatever the image size). :func:`open_reader` picks this or the 3.x reader."""

    #: The major version whose inode and directory formats this class decodes.
    MAJOR = 4

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        with path.open("rb") as handle:
            try:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as e:  # empty file
                raise FormatError(f"{path} is empty") from e
        try:
            self.sb = parse_superblock(self._map[offset : offset + HEADER_WINDOW])
            if self.sb.version[0] != self.MAJOR:
                raise FormatError(f"{self.sb.label} needs open_reader(), not this reader")
            self.decompress = self._decompressor()
        except FormatError:
            self._map.close()
            raise
        self._cache: OrderedDict[int, tuple[bytes, int]] = OrderedDict()
        self._fragments: OrderedDict[int, bytes] = OrderedDict()
        available = len(self._map) - offset
        self.truncated = available < self.sb.bytes_used
        self.available = available

    def _decompressor(self) -> BlockDecompressor:
        return BlockDecompressor(self.sb.compressor)

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> SquashfsReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _bytes(self, position: int, count: int) -> bytes:
        start = self.offset + position
        if position < 0 or start + count > len(self._map):
            raise FormatError(
                f"image truncated: needs bytes up to {position + count}, has {self.available}"
            )
        return self._map[start : start + count]

    def metadata_block(self, position: int) -> tuple[bytes, int]:
        """(uncompressed content, bytes on disk) of the metadata block at ``position``."""
        cached = self._cache.get(position)
        if cached is not None:
            self._cache.move_to_end(position)
            return cached
        (header,) = struct.unpack(self.sb.endian + "H", self._bytes(position, 2))
        size = header & 0x7FFF
        if size == 0 or size > METADATA_SIZE + 512:
            raise FormatError(f"metadata block at {position} has impossible size {size}")
        skip = 3 if self.sb.check_data else 2  # 3.x -check_data: a marker byte after the size
        raw = self._bytes(position + skip, size)
        data = raw if header & 0x8000 else self.decompress(raw, METADATA_SIZE, None)
        entry = (data, size + skip)
        self._cache[position] = entry
        if len(self._cache) > 256:
            self._cache.popitem(last=False)
        return entry

    def inode(self, reference: int) -> Inode:
        cursor = MetadataCursor(self, self.sb.inode_table, reference >> 16, reference & 0xFFFF)
        kind_id, mode, _uid, _gid, _mtime, _number = cursor.unpack("HHHHII")
        kind = INODE_KINDS.get(kind_id)
        if kind is None:
            raise FormatError(f"inode type {kind_id} is unknown")
        if kind_id == 1:
            block, _links, size, offset, _parent = cursor.unpack("IIHHI")
            return Inode(kind, mode, size, directory_block=block, directory_offset=offset)
        if kind_id == 8:
            _links, size, block, _parent, _count, offset, _xattr = cursor.unpack("IIIIHHI")
            return Inode(kind, mode, size, directory_block=block, directory_offset=offset)
        if kind_id == 2:
            start, fragment, fragment_offset, size = cursor.unpack("IIII")
        elif kind_id == 9:
            start, size, _sparse, _links, fragment, fragment_offset, _xattr = cursor.unpack(
                "QQQIIII"
            )
        elif kind_id in (3, 10):
            _links, length = cursor.unpack("II")
            if length > 65536:
                raise FormatError(f"symlink target of {length} bytes")
            return Inode(kind, mode, length, target=cursor.read(length))
        else:
            return Inode(kind, mode)
        return Inode(
            kind, mode, size, start, fragment, fragment_offset,
            block_sizes_at=(cursor.block, cursor.offset),
        )  # fmt: skip

    def entries(self, directory: Inode) -> Iterator[tuple[str, int]]:
        """(name, inode reference) of each entry of a directory inode."""
        remaining = directory.size - 3  # the stored size counts '.' and '..'
        cursor = MetadataCursor(
            self, self.sb.directory_table, directory.directory_block, directory.directory_offset
        )
        while remaining >= 12:
            count, start, _base = cursor.unpack("III")
            remaining -= 12
            if count >= 256:
                raise FormatError(f"directory header with {count + 1} entries")
            for _ in range(count + 1):
                offset, _delta, _kind, name_size = cursor.unpack("HhHH")
                name = cursor.read(name_size + 1)
                remaining -= 8 + name_size + 1
                yield name.decode("utf-8", "surrogateescape"), (start << 16) | offset

    def file_chunks(self, inode: Inode, budget: Budget | None = None) -> Iterator[bytes]:
        """The content of a regular-file inode, block by block."""
        size, block_size = inode.size, self.sb.block_size
        full_blocks = size // block_size
        blocks = full_blocks if inode.fragment != INVALID else -(-size // block_size)
        cursor = MetadataCursor(self, self.sb.inode_table, *inode.block_sizes_at)
        position, produced, consumed = inode.blocks_start, 0, 0
        for index in range(blocks):
            (entry,) = cursor.unpack("I")
            stored = entry & ~UNCOMPRESSED_BLOCK & 0xFFFFFFFF
            expected = min(block_size, size - index * block_size)
            if stored == 0:  # a sparse block
                data = bytes(expected)
            else:
                raw = self._bytes(position, stored)
                position += stored
                data = (
                    raw
                    if entry & UNCOMPRESSED_BLOCK
                    else self.decompress(raw, block_size, expected)
                )
            if len(data) < expected:
                raise FormatError(f"data block {index} is short ({len(data)} of {expected})")
            produced += expected
            consumed += stored + 4
            if budget is not None:
                budget.check_stream(produced, consumed, "SquashFS file")
            yield data[:expected]
        if inode.fragment != INVALID and size % block_size:
            tail = size % block_size
            fragment = self._fragment(inode.fragment)
            piece = fragment[inode.fragment_offset : inode.fragment_offset + tail]
            if len(piece) < tail:
                raise FormatError("fragment is short")
            yield piece

    def _fragment(self, index: int) -> bytes:
        cached = self._fragments.get(index)
        if cached is not None:
            return cached
        if index >= self.sb.fragment_count:
            raise FormatError(f"fragment {index} of {self.sb.fragment_count}")
        (table_block,) = struct.unpack(
            self.sb.endian + "Q", self._bytes(self.sb.fragment_table + 8 * (index // 512), 8)
        )
        cursor = MetadataCursor(self, table_block, 0, (index % 512) * 16)
        start, stored, _unused = cursor.unpack("QII")
        size = stored & ~UNCOMPRESSED_BLOCK & 0xFFFFFFFF
        raw = self._bytes(start, size)
        block_size = self.sb.block_size
        data = raw if stored & UNCOMPRESSED_BLOCK else self.decompress(raw, block_size, None)
        self._fragments[index] = data
        if len(self._fragments) > 8:
            self._fragments.popitem(last=False)
        return data

    def extract(self, tree: SafeTree, budget: Budget) -> int:
        """Writes every entry under ``tree``; one bad file is a problem, not the end.
        Returns the number of entries written."""
        written = 0
        if self.inode(self.sb.root_inode).kind != "dir":
            raise FormatError("SquashFS root inode is not a directory")
        # Breadth first: when a hostile listing reaches a directory that is also listed
        # honestly, the shallower (honest) path is usually met first and kept.
        queue: deque[tuple[str, int, int]] = deque([("", self.sb.root_inode, 0)])
        seen: set[int] = set()
        while queue:
            path, directory, depth = queue.popleft()
            if directory in seen or depth > MAX_DEPTH:
                tree.problems.append(f"SquashFS directory /{path} loops or nests too deep")
                continue
            seen.add(directory)
            written += self._extract_directory(tree, budget, path, directory, depth, queue)
        return written

    def _extract_directory(
        self,
        tree: SafeTree,
        budget: Budget,
        path: str,
        directory: int,
        depth: int,
        queue: deque[tuple[str, int, int]],
    ) -> int:
        """The entries of one directory, read as they are written: what precedes a corrupt
        part of the listing is kept, and a listing of garbage stops after a few failures
        instead of filling the problem list."""
        written = failures = 0
        try:
            for name, reference in self.entries(self.inode(directory)):
                if failures >= MAX_FAILURES_PER_DIRECTORY:
                    tree.problems.append(
                        f"SquashFS directory /{path}: {failures} bad entries, rest skipped"
                    )
                    break
                if "/" in name or "\0" in name or name in ("", ".", ".."):
                    tree.problems.append(f"SquashFS entry {name!r} in /{path} rejected")
                    failures += 1
                    continue
                member = f"{path}/{name}" if path else name
                try:
                    written += self._extract_one(tree, budget, member, reference, depth, queue)
                except LimitExceeded:
                    raise
                except (FormatError, OSError) as e:
                    tree.problems.append(f"SquashFS /{member}: {e}")
                    failures += 1
        except FormatError as e:
            tree.problems.append(f"SquashFS directory /{path}: {e}")
        return written

    def _extract_one(
        self,
        tree: SafeTree,
        budget: Budget,
        member: str,
        reference: int,
        depth: int,
        queue: deque[tuple[str, int, int]],
    ) -> int:
        inode = self.inode(reference)
        if inode.kind == "dir":
            tree.directory(member, inode.mode)
            queue.append((member, reference, depth + 1))
        elif inode.kind == "file":
            tree.file(member, self.file_chunks(inode, budget), inode.mode)
        elif inode.kind == "symlink":
            tree.symlink(member, inode.target.decode("utf-8", "surrogateescape"))
        else:
            tree.special(member, inode.kind)
            return 0
        return 1


def find_superblocks(data: bytes | mmap.mmap, start: int = 0) -> Iterator[int]:
    """Offsets of plausible SquashFS 4.0 and 3.x superblocks (any known magic) in ``data``."""
    for magic in MAGICS:
        at = data.find(magic, start)
        while at != -1:
            try:
                parse_superblock(bytes(data[at : at + HEADER_WINDOW]))
            except FormatError:
                pass
            else:
                yield at
            at = data.find(magic, at + 1)


def open_reader(path: Path, offset: int = 0) -> SquashfsReader:
    """The reader for the SquashFS version at ``offset`` of ``path`` (4.0, 3.1 or 3.0)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        head = handle.read(HEADER_WINDOW)
    _, _, major, _ = probe_version(head)
    if major == 3:
        from iotwarden.firmware.extract import squashfs3

        return squashfs3.Squashfs3Reader(path, offset)
    return SquashfsReader(path, offset)


def extract_squashfs(
    image: Path, out: Path, *, offset: int = 0, budget: Budget, problems: list[str]
) -> tuple[int, str]:
    """Extracts with the built-in reader; returns (entries written, LZMA variant or the
    compressor name, behind 'SquashFS 3.x, ' for 3.x images). Truncated images give what
    could be read plus a problem."""
    with open_reader(image, offset) as reader:
        if reader.truncated:
            problems.append(
                f"SquashFS in {image.name} at {offset} is truncated: {reader.available} of "
                f"{reader.sb.bytes_used} bytes present"
            )
        tree = SafeTree(out, budget, problems)
        written = reader.extract(tree, budget)
        used = reader.decompress.variant or reader.sb.compressor_name
        major, minor = reader.sb.version
        return written, used if major == 4 else f"SquashFS {major}.{minor}, {used}"


def main(argv: list[str] | None = None) -> int:
    """``sasquatch``-compatible entry: ``[-be|-le] [-no-exit-code] [-f] -d OUT IMAGE``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "-d" not in args or len(args) < 3:
        sys.stderr.write("usage: squashfs [-be|-le] [-f] -d OUT IMAGE\n")
        return 2
    out = Path(args[args.index("-d") + 1])
    image = Path(args[-1])
    stock = shutil.which("unsquashfs")
    if stock:
        done = subprocess.run(
            [stock, "-no-xattrs", "-no-progress", "-d", str(out), "-f", str(image)],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return 0
        shutil.rmtree(out, ignore_errors=True)
    problems: list[str] = []
    budget = Budget(ExtractionLimits(), image.stat().st_size)
    try:
        written, variant = extract_squashfs(image, out, budget=budget, problems=problems)
    except (FormatError, OSError) as e:
        sys.stderr.write(f"{image}: {e}\n")
        return 1
    for problem in problems:
        sys.stderr.write(problem + "\n")
    sys.stdout.write(f"iotwarden-squashfs: {written} entries ({variant})\n")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
