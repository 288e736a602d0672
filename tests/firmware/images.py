"""Generators of firmware test images: a small rootfs, then every container we extract.

Shared by the extraction tests and the firmware corpus tests. Nothing here is a committed
binary: each function builds its image from a readable description, either with the usual
Linux tool (mksquashfs, mkfs.jffs2, mkfs.ext4, ...) or, where the format is simple or the
stock tool cannot produce it (vendor LZMA SquashFS, TRX, raw flash dumps), in Python.

Tools that may be missing raise :class:`MissingTool`; :func:`require_tool` turns that into a
skip (or a failure when ``CI=true``).
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Tools


class MissingTool(RuntimeError):
    """A generator needs a command that is not installed."""


def require_tool(name: str) -> str:
    """The path of ``name``; skips the calling test (fails under ``CI=true``) when missing."""
    import pytest

    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found:
        return found
    reason = f"{name} is not installed (./dev test installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
    return None


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise MissingTool(name)
    return found


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=120)


# --------------------------------------------------------------------------------------------
# A root filesystem

#: What a small embedded Linux root filesystem looks like (BusyBox, Dropbear, OpenWrt-ish).
BUSYBOX_BANNER = b"BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary.\n"
PASSWD = "root:x:0:0:root:/root:/bin/ash\nnobody:*:65534:65534:nobody:/var:/bin/false\n"
SHADOW = "root:$1$w6Dxm1Ux$ynDy2fSYUnzEDa8FHZ9NU1:19000:0:99999:7:::\n"


def make_rootfs(root: Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """A minimal router-like rootfs under ``root``: etc/, bin/ (busybox + applet links),
    sbin/, usr/sbin/dropbear, lib/, an absolute and a relative symlink. ``extra`` adds files
    (path relative to the root -> content). Returns ``root``."""
    files: dict[str, bytes] = {
        "etc/passwd": PASSWD.encode(),
        "etc/shadow": SHADOW.encode(),
        "etc/openwrt_release": b"DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='21.02.3'\n",
        "etc/banner": b"Welcome to the test router\n",
        "bin/busybox": b"\x7fELF" + b"\0" * 60 + BUSYBOX_BANNER,
        "usr/sbin/dropbear": b"\x7fELF" + b"\0" * 60 + b"Dropbear sshd v2020.81\n",
        "lib/libc.so": b"\x7fELF" + b"\0" * 60 + b"musl libc 1.2.3\n",
        "www/index.html": b"<html><body>login</body></html>\n" * 40,
    }
    files.update(extra or {})
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (root / "bin/busybox").chmod(0o755)
    (root / "sbin").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    # Absolute links are what firmware really contains; extraction must not follow them.
    (root / "bin/sh").symlink_to("/bin/busybox")
    (root / "sbin/init").symlink_to("../bin/busybox")
    return root


# --------------------------------------------------------------------------------------------
# Filesystems built by the stock tools

SQUASHFS_COMPRESSORS = ("gzip", "xz", "lzo", "lz4", "zstd", "lzma")


def squashfs(rootfs: Path, out: Path, *, compression: str = "gzip") -> Path:
    """SquashFS 4.0 of ``rootfs`` with one of :data:`SQUASHFS_COMPRESSORS` (mksquashfs)."""
    _run(
        _tool("mksquashfs"), rootfs, out, "-comp", compression, "-noappend", "-all-root",
        "-no-progress", "-quiet",
    )  # fmt: skip
    return out


def jffs2(rootfs: Path, out: Path, *, big_endian: bool = False) -> Path:
    """JFFS2 of ``rootfs`` (mkfs.jffs2, 64 KiB erase blocks)."""
    _run(_tool("mkfs.jffs2"), "-r", rootfs, "-o", out, "-e", "64KiB", "-b" if big_endian else "-l")
    return out


def ext4(rootfs: Path, out: Path, *, size_mb: int = 8) -> Path:
    """ext4 filesystem image populated from ``rootfs`` (mkfs.ext4 -d)."""
    _run(_tool("mkfs.ext4"), "-q", "-F", "-d", rootfs, out, f"{size_mb}M")
    return out


def cramfs(rootfs: Path, out: Path) -> Path:
    """CramFS of ``rootfs`` (mkfs.cramfs)."""
    _run(_tool("mkfs.cramfs"), rootfs, out)
    return out


def ubi(rootfs: Path, out: Path, workdir: Path) -> Path:
    """UBI image with one UBIFS volume 'rootfs' (mkfs.ubifs + ubinize, 128 KiB PEBs)."""
    ubifs = workdir / "rootfs.ubifs"
    _run(
        _tool("mkfs.ubifs"), "-r", rootfs, "-m", "2048", "-e", "126976", "-c", "256",
        "-o", ubifs,
    )  # fmt: skip
    config = workdir / "ubinize.cfg"
    config.write_text(
        f"[rootfs]\nmode=ubi\nimage={ubifs}\nvol_id=0\nvol_type=dynamic\nvol_name=rootfs\n"
        "vol_flags=autoresize\n"
    )
    _run(_tool("ubinize"), "-o", out, "-m", "2048", "-p", "128KiB", "-s", "2048", config)
    return out


# --------------------------------------------------------------------------------------------
# Archives built in Python


def tar(rootfs: Path, out: Path, *, compression: str = "") -> Path:
    """tar of ``rootfs`` (members relative, symlinks kept); compression '', 'gz' or 'xz'."""
    with tarfile.open(out, f"w:{compression}" if compression else "w") as archive:
        archive.add(rootfs, arcname=".")
    return out


def zip_archive(rootfs: Path, out: Path) -> Path:
    """zip of the regular files of ``rootfs`` (zip has no portable symlinks)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(rootfs.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(rootfs).as_posix())
    return out


def cpio_newc(rootfs: Path, out: Path) -> Path:
    """cpio archive in the 'newc' format (initramfs style), written in Python."""
    entries: list[tuple[str, int, bytes]] = []
    for path in sorted(rootfs.rglob("*")):
        info = path.lstat()
        name = path.relative_to(rootfs).as_posix()
        if path.is_symlink():
            entries.append((name, stat.S_IFLNK | 0o777, os.readlink(path).encode()))
        elif path.is_dir():
            entries.append((name, stat.S_IFDIR | 0o755, b""))
        else:
            entries.append((name, stat.S_IFREG | (info.st_mode & 0o777), path.read_bytes()))
    out.write_bytes(cpio_from_entries(entries))
    return out


def cpio_from_entries(entries: Iterable[tuple[str, int, bytes]]) -> bytes:
    """newc cpio bytes for (name, mode, data) entries, followed by the trailer."""
    buffer = io.BytesIO()

    def pad4() -> None:
        buffer.write(b"\0" * (-buffer.tell() % 4))

    for number, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (number, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        buffer.write(b"070701" + b"".join(b"%08X" % value for value in fields))
        buffer.write(encoded)
        pad4()
        buffer.write(data)
        pad4()
    return buffer.getvalue()


def gzip_file(source: Path, out: Path) -> Path:
    out.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
    return out


def compress_cli(tool: str, source: Path) -> Path:
    """``source`` compressed by the ``lz4`` or ``zstd`` command (frame format)."""
    if tool == "zstd":
        out = source.with_name(source.name + ".zst")
        _run(_tool("zstd"), "-q", "-f", source, "-o", out)
    else:
        out = source.with_name(source.name + ".lz4")
        _run(_tool("lz4"), "-q", "-f", source, out)
    return out


def xz_file(source: Path, out: Path) -> Path:
    out.write_bytes(lzma.compress(source.read_bytes()))
    return out


# --------------------------------------------------------------------------------------------
# Vendor wrappers: uImage, TRX, raw flash dumps

UIMAGE_MAGIC = 0x27051956
UIMAGE_COMPRESSION = {"none": 0, "gzip": 1, "bzip2": 2, "lzma": 3, "lzo": 4, "lz4": 5, "zstd": 6}
#: uImage image types (u-boot's include/image.h): kernel, ramdisk, multi-file, filesystem.
UIMAGE_TYPE = {"kernel": 2, "ramdisk": 3, "multi": 4, "filesystem": 7}


def uimage(
    payload: bytes, *, name: str = "Linux-5.10", image_type: str = "kernel", comp: str = "none"
) -> bytes:
    """A legacy U-Boot image: 64-byte big-endian header with both CRCs, then ``payload``."""
    fields = (
        UIMAGE_MAGIC, 0, 1_700_000_000, len(payload), 0x80008000, 0x80008000,
        zlib.crc32(payload), 5, 5, UIMAGE_TYPE[image_type], UIMAGE_COMPRESSION[comp],
        name.encode()[:32],
    )  # fmt: skip
    layout = ">7I4B32s"  # magic hcrc time size load ep dcrc os arch type comp name
    header = struct.pack(layout, *fields)
    header_crc = zlib.crc32(header)
    return struct.pack(layout, fields[0], header_crc, *fields[2:]) + payload


def trx(parts: list[bytes], *, align: int = 4) -> bytes:
    """A Broadcom TRX v1: 'HDR0', length, CRC32 (of bytes 12..end, inverted), flags/version,
    three partition offsets, then the partitions (kernel loader, kernel, rootfs)."""
    header_size = 28
    body = bytearray()
    offsets = []
    for part in parts[:3]:
        offsets.append(header_size + len(body))
        body += part
        body += b"\0" * (-len(body) % align)
    offsets += [0] * (3 - len(offsets))
    length = header_size + len(body)
    tail = struct.pack("<HH3I", 0, 1, *offsets) + bytes(body)
    crc = (zlib.crc32(tail) ^ 0xFFFFFFFF) & 0xFFFFFFFF
    return struct.pack("<4sII", b"HDR0", length, crc) + tail


def raw_flash_dump(
    kernel: bytes, rootfs_image: bytes, *, rootfs_offset: int = 0x40000, size: int = 0
) -> bytes:
    """A flash dump as read off the chip: a bootloader-looking 64 KiB, a uImage kernel at
    0x10000, the rootfs at ``rootfs_offset``, erased flash (0xFF) in between and after."""
    flash = bytearray(b"\xff" * max(size, rootfs_offset + len(rootfs_image) + 0x10000))
    bootloader = b"U-Boot 2020.04 (Jan 01 2024)\0" + bytes(range(256)) * 8
    flash[0 : len(bootloader)] = bootloader
    wrapped = uimage(kernel)
    if 0x10000 + len(wrapped) > rootfs_offset:
        raise ValueError("kernel does not fit before the rootfs offset")
    flash[0x10000 : 0x10000 + len(wrapped)] = wrapped
    flash[rootfs_offset : rootfs_offset + len(rootfs_image)] = rootfs_image
    return bytes(flash)


def fake_kernel(size: int = 20_000) -> bytes:
    """A kernel-ish blob: an LZMA stream of a Linux version banner and filler."""
    banner = b"Linux version 5.10.176 (builder@buildhost) (gcc 11.2.0) #0 SMP\n"
    return lzma.compress(banner + bytes(size), format=lzma.FORMAT_ALONE)


# --------------------------------------------------------------------------------------------
# SquashFS 4.0 written in Python (for the vendor LZMA variants stock tools cannot make)


@dataclass(frozen=True)
class Node:
    """One entry of a tree given to :func:`squashfs_from_tree` or :func:`squashfs3_from_tree`:
    kind is 'dir', 'file', 'symlink', 'chr' or 'blk' (device nodes let tests check they are
    never created). The 3.x writer also takes owners, and for hostile images 'loop' (an entry
    pointing back at its own directory) and ``claimed_size`` (what the inode says instead of
    the real size of a file or directory listing)."""

    kind: str
    data: bytes = b""  # file content or symlink target
    mode: int = 0o644
    rdev: int = 0
    children: dict[str, Node] = field(default_factory=dict)
    uid: int = 0
    gid: int = 0
    claimed_size: int | None = None


def tree_from_directory(root: Path) -> Node:
    """The :class:`Node` tree of a real directory (dirs, files, symlinks)."""
    children: dict[str, Node] = {}
    for path in sorted(root.iterdir()):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            children[path.name] = Node("symlink", os.readlink(path).encode(), 0o777)
        elif stat.S_ISDIR(info.st_mode):
            children[path.name] = tree_from_directory(path)
        elif stat.S_ISREG(info.st_mode):
            children[path.name] = Node("file", path.read_bytes(), info.st_mode & 0o7777)
    return Node("dir", mode=0o755, children=children)


def _alone_lzma(data: bytes) -> bytes:
    """lzma-alone as squashfs-tools writes it: properties, the real uncompressed size, data."""
    alone = lzma.compress(data, format=lzma.FORMAT_ALONE, preset=6)
    return alone[:5] + struct.pack("<Q", len(data)) + alone[13:]


def lzma_props_only(data: bytes) -> bytes:
    """Raw LZMA with only the 5-byte properties header (no 8-byte size): what several vendor
    SquashFS kernels patches (Broadcom, Realtek SDKs) read and stock unsquashfs rejects."""
    alone = _alone_lzma(data)
    return alone[:5] + alone[13:]


#: Block compressors of the Python writer, by name -> (squashfs compressor id, function).
SQUASHFS_WRITER_COMPRESSORS: dict[str, tuple[int, Callable[[bytes], bytes]]] = {
    "gzip": (1, lambda data: zlib.compress(data, 9)),
    "lzma": (2, _alone_lzma),  # squashfs-tools' own lzma: 13-byte lzma-alone header
    "lzma-vendor": (2, lzma_props_only),
    "xz": (4, lambda data: lzma.compress(data, check=lzma.CHECK_CRC32)),
}

_METADATA_SIZE = 8192
_INODE_TYPE = {"dir": 1, "file": 2, "symlink": 3, "blk": 4, "chr": 5}
_KIND_MODE = {
    "dir": stat.S_IFDIR,
    "file": stat.S_IFREG,
    "symlink": stat.S_IFLNK,
    "blk": stat.S_IFBLK,
    "chr": stat.S_IFCHR,
}


class _MetadataStream:
    """A SquashFS metadata table: 8 KiB blocks, each behind a 16-bit length header."""

    def __init__(
        self, compress: Callable[[bytes], bytes], *, endian: str = "<", marker: bool = False
    ) -> None:
        self.compress = compress
        self.endian = endian
        self.marker = b"\xff" if marker else b""  # 3.x -check_data: a byte after each header
        self.written = bytearray()
        self.pending = bytearray()
        self.block_starts: list[int] = []

    def position(self) -> tuple[int, int]:
        """(start of the current block in the table, offset inside it): an inode/dir ref."""
        return len(self.written), len(self.pending)

    def write(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= _METADATA_SIZE:
            self._flush(bytes(self.pending[:_METADATA_SIZE]))
            del self.pending[:_METADATA_SIZE]

    def _flush(self, block: bytes) -> None:
        self.block_starts.append(len(self.written))
        packed = self.compress(block)
        header = self.endian + "H"
        if len(packed) < len(block):
            self.written += struct.pack(header, len(packed)) + self.marker + packed
        else:
            self.written += struct.pack(header, len(block) | 0x8000) + self.marker + block

    def finish(self) -> bytes:
        if self.pending:
            self._flush(bytes(self.pending))
            self.pending.clear()
        return bytes(self.written)


def squashfs_from_tree(
    tree: Node, *, compression: str = "lzma-vendor", magic: bytes = b"hsqs", block_size: int = 4096
) -> bytes:
    """SquashFS 4.0 (little-endian, no fragments, no xattrs) of ``tree``, every block and
    metadata block compressed with ``compression`` from :data:`SQUASHFS_WRITER_COMPRESSORS`.

    With 'gzip', 'xz' or 'lzma' the stock unsquashfs reads the result (which checks this
    writer); 'lzma-vendor' and any ``magic`` other than b'hsqs' give what vendor kernels read
    and stock unsquashfs rejects."""
    compressor_id, compress = SQUASHFS_WRITER_COMPRESSORS[compression]
    superblock_size = 96
    data = bytearray()
    inodes = _MetadataStream(compress)
    directories = _MetadataStream(compress)

    numbers: dict[int, int] = {}

    def number(node: Node) -> None:  # pre-order inode numbers, 1..n
        numbers[id(node)] = len(numbers) + 1
        for child in node.children.values():
            number(child)

    number(tree)
    inode_count = len(numbers)

    def header(node: Node, kind: str) -> bytes:
        mode = node.mode & 0o7777
        return struct.pack("<HHHHII", _INODE_TYPE[kind], mode, 0, 0, 0, numbers[id(node)])

    def write_file(node: Node) -> bytes:
        start = superblock_size + len(data)
        sizes = []
        for at in range(0, len(node.data), block_size):
            block = node.data[at : at + block_size]
            packed = compress(block)
            if len(packed) < len(block):
                sizes.append(len(packed))
                data.extend(packed)
            else:
                sizes.append(len(block) | 0x1000000)
                data.extend(block)
        body = struct.pack("<IIII", start, 0xFFFFFFFF, 0, len(node.data))
        return body + struct.pack(f"<{len(sizes)}I", *sizes)

    def write(node: Node, parent_number: int) -> tuple[int, int]:
        """Writes ``node`` (children first) and returns its (inode ref, inode number)."""
        if node.kind == "dir":
            entries = []
            for name, child in sorted(node.children.items()):
                ref, child_number = write(child, numbers[id(node)])
                entries.append((name.encode(), _INODE_TYPE[child.kind], ref, child_number))
            listing = _directory_listing(entries)
            block, offset = directories.position()
            directories.write(listing)
            subdirs = sum(1 for child in node.children.values() if child.kind == "dir")
            body = struct.pack(
                "<IIHHI", block, 2 + subdirs, len(listing) + 3, offset, parent_number
            )
        elif node.kind == "file":
            body = write_file(node)
        elif node.kind == "symlink":
            body = struct.pack("<II", 1, len(node.data)) + node.data
        else:
            body = struct.pack("<II", 1, node.rdev)
        block, offset = inodes.position()
        inodes.write(header(node, node.kind) + body)
        return (block << 16) | offset, numbers[id(node)]

    root_ref, _ = write(tree, inode_count + 1)
    inode_table = inodes.finish()
    directory_table = directories.finish()
    ids = _MetadataStream(compress)
    ids.write(struct.pack("<I", 0))
    id_block = ids.finish()

    inode_table_start = superblock_size + len(data)
    directory_table_start = inode_table_start + len(inode_table)
    fragment_table_start = directory_table_start + len(directory_table)
    id_block_start = fragment_table_start
    id_table_start = id_block_start + len(id_block)
    bytes_used = id_table_start + 8
    no_fragments, no_xattrs = 0x0010, 0x0200
    unused = 0xFFFFFFFFFFFFFFFF
    superblock = struct.pack(
        "<4sIIIIHHHHHHQQQQQQQQ", magic, inode_count, int(time.time()), block_size, 0,
        compressor_id, block_size.bit_length() - 1, no_fragments | no_xattrs, 1, 4, 0,
        root_ref, bytes_used, id_table_start, unused, inode_table_start, directory_table_start,
        fragment_table_start, unused,
    )  # fmt: skip
    image = (
        superblock
        + bytes(data)
        + inode_table
        + directory_table
        + id_block
        + struct.pack("<Q", id_block_start)
    )
    return image + b"\0" * (-len(image) % 4096)


def _directory_listing(entries: list[tuple[bytes, int, int, int]]) -> bytes:
    """Directory entries grouped under headers that share one inode metadata block."""
    out = bytearray()
    for group in _groups(entries):
        _, _, first_ref, base = group[0]
        out += struct.pack("<III", len(group) - 1, first_ref >> 16, base)
        for name, kind, ref, inode_number in group:
            out += struct.pack("<HhHH", ref & 0xFFFF, inode_number - base, kind, len(name) - 1)
            out += name
    return bytes(out)


def _groups(
    entries: list[tuple[bytes, int, int, int]],
) -> Iterator[list[tuple[bytes, int, int, int]]]:
    group: list[tuple[bytes, int, int, int]] = []
    for entry in entries:
        if group and (
            entry[2] >> 16 != group[0][2] >> 16
            or len(group) == 256
            or abs(entry[3] - group[0][3]) > 32767
        ):
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def vendor_lzma_squashfs(rootfs: Path, out: Path, *, magic: bytes = b"hsqs") -> Path:
    """SquashFS 4.0 of ``rootfs`` whose blocks are raw LZMA behind a 5-byte properties header
    (compressor id 2, no size field), as vendor kernels read it; stock unsquashfs rejects it."""
    out.write_bytes(squashfs_from_tree(tree_from_directory(rootfs), magic=magic))
    return out


# --------------------------------------------------------------------------------------------
# SquashFS 3.x written in Python (2006-2012 routers; nothing packaged writes it any more)

#: Block compressors of the 3.x writer: stock 3.x is zlib; sqlzma (squashfs-3.x-lzma, as in
#: firmware-mod-kit) writes lzma-alone blocks; Broadcom/DD-WRT style kernels read the raw
#: stream behind the 5 properties bytes, or with no header at all.
SQUASHFS3_WRITER_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: zlib.compress(data, 9),
    "lzma": _alone_lzma,
    "lzma-vendor": lzma_props_only,
    "lzma-raw": lambda data: lzma.compress(
        data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20}]
    ),  # no header at all: the LZMA SDK defaults lc=3, lp=0, pb=2 are implied
    "zlib+lzma": lambda data: (
        zlib.compress(data, 9) if zlib.crc32(data) % 2 else _alone_lzma(data)
    ),  # blocks of both kinds in one image, which sqlzma's reader accepts
}

_INVALID_FRAGMENT = 0xFFFFFFFF
_UNCOMPRESSED_DATA = 1 << 24
_GUID_SAME_AS_UID = 255


def pack_bits(values: tuple[int, ...], widths: tuple[int, ...], endian: str) -> bytes:
    """A packed C structure of bit-fields as a 3.x compiler lays it out: from the lowest bit
    of one little-endian number, or from the highest bit of one big-endian number."""
    total = sum(widths)
    value, used = 0, 0
    for field_value, width in zip(values, widths, strict=True):
        if not 0 <= field_value < 1 << width:
            raise ValueError(f"{field_value} does not fit {width} bits")
        shift = used if endian == "<" else total - used - width
        value |= field_value << shift
        used += width
    return value.to_bytes(total // 8, "little" if endian == "<" else "big")


def squashfs3_from_tree(
    tree: Node,
    *,
    compression: str = "gzip",
    big_endian: bool = False,
    minor: int = 1,
    block_size: int = 4096,
    magic: bytes | None = None,
    long_inodes: bool = False,
    check_data: bool = False,
    mkfs_time: int = 1_200_000_000,
) -> bytes:
    """SquashFS 3.``minor`` of ``tree``, laid out as mksquashfs 3.x does: superblock (119
    bytes), file blocks and fragment blocks (tails of every file, 'always use fragments'),
    inode table, directory table, fragment table and its index, uid and gid tables, 4 KiB
    padding. ``compression`` is one of :data:`SQUASHFS3_WRITER_COMPRESSORS`; ``long_inodes``
    writes every file and directory as the long forms (LREG, LDIR) real images use for hard
    links, files over 4 GiB and big directories; ``check_data`` adds the marker bytes.

    With 'gzip' the stock unsquashfs (4.x reads 3.x) reads the result in either byte order,
    which checks this writer against an independent reader; the LZMA forms are what vendor
    kernels read and stock unsquashfs rejects."""
    endian = ">" if big_endian else "<"
    magic = magic or (b"sqsh" if big_endian else b"hsqs")
    compress = SQUASHFS3_WRITER_COMPRESSORS[compression]
    superblock_size = 119
    data = bytearray()
    inodes = _MetadataStream(compress, endian=endian, marker=check_data)
    directories = _MetadataStream(compress, endian=endian, marker=check_data)
    fragments: list[tuple[int, int]] = []  # (start, stored size) of each fragment block
    pending_fragment = bytearray()
    uids: dict[int, int] = {}
    gids: dict[int, int] = {}
    numbers: dict[int, int] = {}

    def number(node: Node) -> None:  # pre-order inode numbers, 1..n; a loop has no inode
        numbers[id(node)] = len(numbers) + 1
        for child in node.children.values():
            if child.kind != "loop":
                number(child)

    number(tree)
    inode_count = len(numbers)

    def store(block: bytes) -> int:
        """Writes a data or fragment block; returns its size entry (bit 24: stored raw)."""
        packed = compress(block)
        if len(packed) < len(block):
            data.extend(packed)
            return len(packed)
        data.extend(block)
        return len(block) | _UNCOMPRESSED_DATA

    def flush_fragment() -> None:
        if pending_fragment:
            start = superblock_size + len(data)
            fragments.append((start, store(bytes(pending_fragment))))
            pending_fragment.clear()

    def header(node: Node) -> bytes:
        uid_index = uids.setdefault(node.uid, len(uids))
        gid_index = (
            _GUID_SAME_AS_UID if node.gid == node.uid else gids.setdefault(node.gid, len(gids))
        )
        kind = _INODE_TYPE[node.kind] + (7 if long_inodes and node.kind in ("dir", "file") else 0)
        fields = (kind, node.mode & 0o7777, uid_index, gid_index, mkfs_time, numbers[id(node)])
        return pack_bits(fields, (4, 12, 8, 8, 32, 32), endian)

    def write_file(node: Node) -> bytes:
        content = node.data
        start = superblock_size + len(data)
        full = len(content) // block_size
        sizes = [store(content[i * block_size : (i + 1) * block_size]) for i in range(full)]
        tail = content[full * block_size :]
        fragment, fragment_offset = _INVALID_FRAGMENT, 0
        if tail:
            if len(pending_fragment) + len(tail) > block_size:
                flush_fragment()
            fragment, fragment_offset = len(fragments), len(pending_fragment)
            pending_fragment.extend(tail)
        size = len(content) if node.claimed_size is None else node.claimed_size
        if long_inodes:
            body = pack_bits(
                (1, start, fragment, fragment_offset, size), (32, 64, 32, 32, 64), endian
            )
        else:
            body = pack_bits((start, fragment, fragment_offset, size), (64, 32, 32, 32), endian)
        return body + struct.pack(f"{endian}{len(sizes)}I", *sizes)

    def write_directory(node: Node, parent_number: int) -> bytes:
        entries = []
        for name, child in sorted(node.children.items()):
            if child.kind != "loop":
                ref, child_number = write(child, numbers[id(node)])
                entries.append((name.encode(), _INODE_TYPE[child.kind], ref, child_number))
        block, offset = inodes.position()  # where this directory's own inode goes
        for name, child in sorted(node.children.items()):
            if child.kind == "loop":
                entries.append((name.encode(), 1, (block << 16) | offset, numbers[id(node)]))
        listing = _directory_listing3(sorted(entries), endian)
        start, at = directories.position()
        directories.write(listing)
        size = len(listing) + 3 if node.claimed_size is None else node.claimed_size
        links = 2 + sum(1 for child in node.children.values() if child.kind == "dir")
        if long_inodes:
            return pack_bits(
                (links, size, at, start, 0, parent_number), (32, 27, 13, 32, 16, 32), endian
            )
        return pack_bits((links, size, at, start, parent_number), (32, 19, 13, 32, 32), endian)

    def write(node: Node, parent_number: int) -> tuple[int, int]:
        """Writes ``node`` (children first) and returns its (inode ref, inode number)."""
        if node.kind == "dir":
            body = write_directory(node, parent_number)
        elif node.kind == "file":
            body = write_file(node)
        elif node.kind == "symlink":
            body = pack_bits((1, len(node.data)), (32, 16), endian) + node.data
        else:
            body = pack_bits((1, node.rdev), (32, 16), endian)
        block, offset = inodes.position()
        inodes.write(header(node) + body)
        return (block << 16) | offset, numbers[id(node)]

    root_ref, _ = write(tree, inode_count + 1)
    flush_fragment()
    inode_table = inodes.finish()
    directory_table = directories.finish()
    fragment_entries = _MetadataStream(compress, endian=endian, marker=check_data)
    for start, stored in fragments:
        fragment_entries.write(struct.pack(endian + "QII", start, stored, 0))
    fragment_blocks = fragment_entries.finish()

    inode_table_start = superblock_size + len(data)
    directory_table_start = inode_table_start + len(inode_table)
    fragment_blocks_start = directory_table_start + len(directory_table)
    fragment_index = b"".join(
        struct.pack(endian + "Q", fragment_blocks_start + at)
        for at in fragment_entries.block_starts
    )
    fragment_table_start = fragment_blocks_start + len(fragment_blocks)
    uid_table_start = fragment_table_start + len(fragment_index)
    uid_table = struct.pack(f"{endian}{len(uids)}I", *uids)
    guid_table = struct.pack(f"{endian}{len(gids)}I", *gids)
    guid_table_start = uid_table_start + len(uid_table) if gids else 0  # 0: no gid table
    bytes_used = uid_table_start + len(uid_table) + len(guid_table)
    flags = (1 << 5) | (1 << 2 if check_data else 0) | (0 if fragments else 1 << 4)
    low = 0xFFFFFFFF  # the 2.x-compatible 32-bit copies of the table starts
    no_export_table = 0xFFFFFFFFFFFFFFFF
    superblock = struct.pack(
        endian + "4sIIIIIIHHHHBBBIQIIIQQQQQQQ", magic, inode_count, bytes_used & low,
        uid_table_start & low, guid_table_start & low, inode_table_start & low,
        directory_table_start & low, 3, minor, block_size & 0xFFFF, block_size.bit_length() - 1,
        flags, len(uids), len(gids), mkfs_time, root_ref, block_size, len(fragments),
        fragment_table_start & low, bytes_used, uid_table_start, guid_table_start,
        inode_table_start, directory_table_start, fragment_table_start, no_export_table,
    )  # fmt: skip
    image = (
        superblock + bytes(data) + inode_table + directory_table + fragment_blocks
        + fragment_index + uid_table + guid_table
    )  # fmt: skip
    return image + b"\0" * (-len(image) % 4096)


def _directory_listing3(entries: list[tuple[bytes, int, int, int]], endian: str) -> bytes:
    """3.x directory headers (9 bytes: count-1, inode block, base inode number) and entries
    (5 bytes of bit-fields: inode offset, type, name length-1, inode number delta, then
    the name)."""
    out = bytearray()
    for group in _groups(entries):
        _, _, first_ref, base = group[0]
        out += pack_bits((len(group) - 1, first_ref >> 16, base), (8, 32, 32), endian)
        for name, kind, ref, inode_number in group:
            delta = (inode_number - base) & 0xFFFF  # a signed 16-bit field
            out += pack_bits((ref & 0xFFFF, kind, len(name) - 1, delta), (13, 3, 8, 16), endian)
            out += name
    return bytes(out)


def tree_with_owners(root: Path, owners: dict[str, tuple[int, int]]) -> Node:
    """:func:`tree_from_directory` with (uid, gid) set on the given relative paths."""

    def walk(node: Node, prefix: str) -> Node:
        children = {
            name: walk(child, f"{prefix}{name}" if child.kind != "dir" else f"{prefix}{name}/")
            for name, child in node.children.items()
        }
        uid, gid = owners.get(prefix.rstrip("/"), (0, 0))
        return replace(node, children=children, uid=uid, gid=gid)

    return walk(tree_from_directory(root), "")
