"""SquashFS 3.0 and 3.1 for the built-in reader: the 3.x superblock, the bit-packed inode and
directory formats, and blocks in gzip or any vendor LZMA variant.

Routers and cameras of 2006-2012 (OpenWrt Kamikaze, DD-WRT, Broadcom, TP-Link and Netgear
SDKs) ship 3.x images, little- or big-endian. Stock unsquashfs reads the gzip ones; the LZMA
ones (sqlzma's lzma-alone blocks, or the vendor forms with a 5-byte header or none) only the
vendor's own tools read, so :func:`.squashfs.open_reader` sends every 3.x image here.

Layout facts follow the SquashFS 3.x on-disk format (``squashfs_fs.h`` of squashfs-tools 3.x
and the kernel patches of that time). Its structures are packed C bit-fields: on a
little-endian image the first field holds the lowest bits of the structure read as one
little-endian number; on a big-endian image it holds the highest bits of the structure read
as one big-endian number. :func:`unpack_bits` decodes both ways from one list of widths.
3.x has no compressor field (3.x blocks are zlib unless a vendor patched LZMA in), metadata
blocks may carry a marker byte (``-check_data``), and the uid/gid tables are plain arrays.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from iotwarden.firmware.extract.interface import FormatError
from iotwarden.firmware.extract.squashfs import (
    INODE_KINDS,
    BlockDecompressor,
    Inode,
    MetadataCursor,
    SquashfsReader,
    Superblock,
)

SUPERBLOCK_SIZE: Final = 119
#: 3.x superblock, packed: magic, inodes, five 2.x-compatible 32-bit table starts, major,
#: minor, 16-bit block size, block log, flags, uid and gid counts, mkfs time, root inode,
#: block size, fragments, 32-bit fragment table, bytes used, uid, gid, inode, directory and
#: fragment table starts, export table (3.1; unused in 3.0).
_SUPERBLOCK: Final = "4sIIIIIIHHHHBBBIQIIIQQQQQQQ"
FLAG_CHECK_DATA: Final = 1 << 2
GUID_SAME_AS_UID: Final = 255  # a gid index of 255 means "the uid"

#: Bit widths of each structure, fields in on-disk order (see :func:`unpack_bits`).
BASE_INODE: Final = (4, 12, 8, 8, 32, 32)  # type, mode, uid, gid indexes, mtime, number
DIR_INODE: Final = (32, 19, 13, 32, 32)  # nlink, listing size, offset, start block, parent
LDIR_INODE: Final = (32, 27, 13, 32, 16, 32)  # ... index count, parent (index follows)
REG_INODE: Final = (64, 32, 32, 32)  # start block, fragment, fragment offset, size
LREG_INODE: Final = (32, 64, 32, 32, 64)  # nlink, start block, fragment, offset, size
SYMLINK_INODE: Final = (32, 16)  # nlink, target length (target follows)
DIR_HEADER: Final = (8, 32, 32)  # count - 1, inode block, base inode number
DIR_ENTRY: Final = (13, 3, 8, 16)  # inode offset, type, name length - 1, number delta


def unpack_bits(raw: bytes, endian: str, widths: tuple[int, ...]) -> tuple[int, ...]:
    """The fields of a packed C structure of bit-fields and integers, ``widths`` in bits in
    declaration order (they must fill ``raw`` exactly): a little-endian compiler allocates
    them from the least significant bit up, a big-endian one from the most significant bit
    down, so one pass over the structure as a single integer decodes both."""
    total = len(raw) * 8
    if sum(widths) != total:
        raise ValueError(f"bit widths {widths} do not fill {len(raw)} bytes")
    value = int.from_bytes(raw, "little" if endian == "<" else "big")
    fields = []
    used = 0
    for width in widths:
        shift = used if endian == "<" else total - used - width
        fields.append((value >> shift) & ((1 << width) - 1))
        used += width
    return tuple(fields)


def parse_superblock(data: bytes, magic: bytes, endian: str, minor: int) -> Superblock:
    """The 3.x superblock at the start of ``data`` (``magic``, ``endian`` and ``minor`` as
    :func:`.squashfs.probe_version` found them)."""
    order = "big" if endian == ">" else "little"
    label = f"SquashFS 3.{minor} ({order}-endian, magic {magic.decode('latin-1')!r})"
    if minor > 1:
        raise FormatError(f"{label}: only 3.0 and 3.1 exist on disk; not read")
    if len(data) < SUPERBLOCK_SIZE:
        raise FormatError(f"{label}: superblock truncated")
    (_magic, inodes, _used2, _uid2, _gid2, _inode2, _dir2, _major, _minor, _block1, block_log,
     flags, uid_count, guid_count, _time, root, block_size, fragments, _fragment2, used,
     uid_table, guid_table, inode_table, directory_table, fragment_table,
     _export) = struct.unpack_from(endian + _SUPERBLOCK, data, 0)  # fmt: skip
    if block_log >= 32 or block_size != 1 << block_log or not 4096 <= block_size <= 1 << 20:
        raise FormatError(f"{label}: block size {block_size} is not valid")
    if not inode_table < directory_table <= used:
        raise FormatError(f"{label}: tables are out of order (corrupt superblock)")
    return Superblock(
        magic, endian, (3, minor), inodes, block_size, fragments, 1, flags, root, used,
        inode_table, directory_table, fragment_table, bool(flags & FLAG_CHECK_DATA),
        uid_table, uid_count, guid_table, guid_count,
    )  # fmt: skip


def _looks_like_zlib(data: bytes) -> bool:
    """A zlib stream header: deflate, a window of at most 32 KiB, a valid check value."""
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and ((data[0] << 8) | data[1]) % 31 == 0
    )


class GzipOrLzma(BlockDecompressor):
    """3.x superblocks name no compressor: stock images are zlib and vendor ones LZMA in one
    of the known variants (sqlzma even mixes zlib and LZMA blocks), so each block's first
    bytes decide; the LZMA variant found first is tried first afterwards."""

    def __init__(self) -> None:
        super().__init__(2)

    def __call__(self, data: bytes, limit: int, expected: int | None) -> bytes:
        zlib_error = ""
        if _looks_like_zlib(data):
            try:
                return zlib.decompressobj().decompress(data, limit)
            except zlib.error as e:  # LZMA data can start like a zlib header by chance
                zlib_error = f"zlib: {e}; "
        try:
            return self._lzma(data, limit, expected)
        except (FormatError, lzma.LZMAError) as e:
            raise FormatError(f"block is neither zlib nor a known LZMA ({zlib_error}{e})") from e


class Squashfs3Reader(SquashfsReader):
    """Reads one SquashFS 3.0 or 3.1 image, either byte order; the walk, file blocks and
    fragments work as in 4.0, inodes and directory listings are decoded here."""

    MAJOR = 3

    def __init__(self, path: Path, offset: int = 0) -> None:
        super().__init__(path, offset)
        self._uids = self._id_table(self.sb.uid_table, self.sb.uid_count)
        self._gids = self._id_table(self.sb.guid_table, self.sb.guid_count)

    def _decompressor(self) -> BlockDecompressor:
        return GzipOrLzma()

    def _id_table(self, start: int, count: int) -> tuple[int, ...]:
        """A uid or gid table: ``count`` (at most 255) raw 32-bit ids. A truncated or bad
        table leaves owners unknown; it never stops the extraction."""
        try:
            raw = self._bytes(start, 4 * count)
        except FormatError:
            return ()
        return struct.unpack(f"{self.sb.endian}{count}I", raw)

    def _fields(self, cursor: MetadataCursor, widths: tuple[int, ...]) -> tuple[int, ...]:
        return unpack_bits(cursor.read(sum(widths) // 8), self.sb.endian, widths)

    def _owner(self, uid_index: int, gid_index: int) -> tuple[int | None, int | None]:
        uid = self._uids[uid_index] if uid_index < len(self._uids) else None
        if gid_index == GUID_SAME_AS_UID:
            return uid, uid
        return uid, self._gids[gid_index] if gid_index < len(self._gids) else None

    def inode(self, reference: int) -> Inode:
        cursor = MetadataCursor(self, self.sb.inode_table, reference >> 16, reference & 0xFFFF)
        kind_id, mode, uid_index, gid_index, _mtime, _number = self._fields(cursor, BASE_INODE)
        kind = INODE_KINDS.get(kind_id) if kind_id <= 9 else None
        if kind is None:
            raise FormatError(f"inode type {kind_id} is unknown in SquashFS 3.x")
        uid, gid = self._owner(uid_index, gid_index)
        if kind_id in (1, 8):
            if kind_id == 1:
                _links, size, offset, block, _parent = self._fields(cursor, DIR_INODE)
            else:
                _links, size, offset, block, _count, _parent = self._fields(cursor, LDIR_INODE)
            return Inode(
                kind, mode, size, directory_block=block, directory_offset=offset, uid=uid,
                gid=gid,
            )  # fmt: skip
        if kind_id == 2:
            start, fragment, fragment_offset, size = self._fields(cursor, REG_INODE)
        elif kind_id == 9:
            _links, start, fragment, fragment_offset, size = self._fields(cursor, LREG_INODE)
        elif kind_id == 3:
            _links, length = self._fields(cursor, SYMLINK_INODE)
            return Inode(kind, mode, length, target=cursor.read(length), uid=uid, gid=gid)
        else:  # devices, FIFOs and sockets are never created: their details do not matter
            return Inode(kind, mode, uid=uid, gid=gid)
        return Inode(
            kind, mode, size, start, fragment, fragment_offset,
            block_sizes_at=(cursor.block, cursor.offset), uid=uid, gid=gid,
        )  # fmt: skip

    def entries(self, directory: Inode) -> Iterator[tuple[str, int]]:
        """(name, inode reference) of each entry of a directory inode."""
        remaining = directory.size - 3  # the stored size counts '.' and '..'
        cursor = MetadataCursor(
            self, self.sb.directory_table, directory.directory_block, directory.directory_offset
        )
        while remaining >= 9:
            count, start, _base = self._fields(cursor, DIR_HEADER)
            remaining -= 9
            for _ in range(count + 1):
                offset, _kind, name_size, _delta = self._fields(cursor, DIR_ENTRY)
                name = cursor.read(name_size + 1)
                remaining -= 5 + name_size + 1
                yield name.decode("utf-8", "surrogateescape"), (start << 16) | offset
