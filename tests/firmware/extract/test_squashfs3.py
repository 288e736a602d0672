"""SquashFS 3.0/3.1 in the built-in reader: both byte orders, gzip and the LZMA variants,
short and long inodes, fragments, owners; the generator checked by stock unsquashfs; truncated
and hostile images."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from iotwarden.firmware.extract import extract
from iotwarden.firmware.extract.interface import ExtractionLimits, FormatError, LimitExceeded
from iotwarden.firmware.extract.sandbox import Budget
from iotwarden.firmware.extract.squashfs import (
    SquashfsReader,
    extract_squashfs,
    main,
    open_reader,
    parse_superblock,
)
from iotwarden.firmware.extract.squashfs3 import DIR_ENTRY, Squashfs3Reader, unpack_bits
from iotwarden.firmware.extract.unblob import find_unblob
from tests.firmware import images
from tests.firmware.extract.test_squashfs import read_tree, run_reader

#: Owners the generator records (uid, gid); everything else is root's.
OWNERS = {"usr/sbin/dropbear": (1000, 100), "etc/shadow": (0, 42)}


@pytest.fixture
def rootfs3(rootfs: Path) -> Path:
    """The router rootfs plus what exercises 3.x files: several blocks with a tail (blocks
    and a fragment), an exact number of blocks (no fragment), an empty file, a set-uid
    program."""
    (rootfs / "big.bin").write_bytes(bytes(range(256)) * 70)  # 4 blocks of 4 KiB + 1,536
    (rootfs / "exact.bin").write_bytes(b"x" * 8192)
    (rootfs / "empty").write_bytes(b"")
    (rootfs / "bin/su").write_bytes(b"\x7fELF su\n")
    (rootfs / "bin/su").chmod(0o4755)
    return rootfs


def image3(rootfs: Path, out: Path, **options: Any) -> Path:
    tree = images.tree_with_owners(rootfs, OWNERS)
    out.write_bytes(images.squashfs3_from_tree(tree, **options))
    return out


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def modes(root: Path) -> dict[str, int]:
    """Permission bits of every file and directory, as extraction keeps them (never set-id
    bits or group/world write in the work tree)."""
    return {
        path.relative_to(root).as_posix(): path.lstat().st_mode & 0o755 | 0o600
        for path in sorted(root.rglob("*"))
        if not path.is_symlink()
    }


def metadata_blocks(data: bytes, endian: str, start: int, end: int) -> int:
    """How many metadata blocks (16-bit size header, then the block) lie in [start, end)."""
    count = 0
    while start < end:
        (header,) = struct.unpack_from(endian + "H", data, start)
        start += 2 + (header & 0x7FFF)
        count += 1
    return count


def test_bit_fields_pack_from_opposite_ends_in_each_byte_order() -> None:
    """A directory entry (inode offset 0x123, type 2, name length 5, inode delta -1): a
    little-endian image fills the 40 bits from the lowest bit up, a big-endian one from the
    highest bit down; bytes worked out by hand."""
    assert unpack_bits(bytes.fromhex("23 41 04 ff ff"), "<", DIR_ENTRY) == (0x123, 2, 4, 0xFFFF)
    assert unpack_bits(bytes.fromhex("09 1a 04 ff ff"), ">", DIR_ENTRY) == (0x123, 2, 4, 0xFFFF)
    assert images.pack_bits((0x123, 2, 4, 0xFFFF), DIR_ENTRY, ">") == bytes.fromhex("091a04ffff")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"big_endian": True},
        {"big_endian": True, "long_inodes": True, "check_data": True, "minor": 0},
        {"long_inodes": True, "block_size": 8192},
    ],
    ids=["le", "be", "be-long-check-3.0", "le-long-8k"],
)
def test_stock_unsquashfs_reads_the_generated_gzip_images(
    tmp_path: Path, rootfs3: Path, options: dict[str, Any]
) -> None:
    """The 3.x writer checked by an independent reader (squashfs-tools reads 3.x gzip)."""
    stock = images.require_tool("unsquashfs")
    image = image3(rootfs3, tmp_path / "fs.sq3", **options)

    done = subprocess.run(
        [stock, "-no-xattrs", "-d", str(tmp_path / "stock"), str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    listing = subprocess.run(
        [stock, "-lln", str(image)], capture_output=True, text=True, check=True
    ).stdout

    assert done.returncode == 0, done.stderr
    assert read_tree(tmp_path / "stock") == read_tree(rootfs3)
    assert " 1000/100 " in next(line for line in listing.splitlines() if "dropbear" in line)
    assert " 0/42 " in next(line for line in listing.splitlines() if "shadow" in line)


@pytest.mark.parametrize(
    ("options", "variant"),
    [
        ({}, "SquashFS 3.1, gzip"),
        ({"big_endian": True, "minor": 0}, "SquashFS 3.0, gzip"),
        ({"big_endian": True, "long_inodes": True, "check_data": True}, "SquashFS 3.1, gzip"),
        ({"compression": "lzma"}, "SquashFS 3.1, lzma-alone"),
        ({"compression": "lzma", "big_endian": True, "minor": 0}, "SquashFS 3.0, lzma-alone"),
        ({"compression": "lzma-vendor", "magic": b"shsq"}, "SquashFS 3.1, lzma-props"),
        (
            {"compression": "lzma-vendor", "big_endian": True, "long_inodes": True},
            "SquashFS 3.1, lzma-props",
        ),
        (
            {"compression": "lzma-vendor", "big_endian": True, "block_size": 65536},
            "SquashFS 3.1, lzma-props",
        ),
        ({"compression": "lzma-raw", "big_endian": True, "minor": 0}, "SquashFS 3.0, lzma-raw"),
    ],
    ids=[
        "gzip-le", "gzip-be-3.0", "gzip-be-long-check", "sqlzma-le", "sqlzma-be-3.0",
        "vendor-lzma-le-shsq", "vendor-lzma-be-long", "vendor-lzma-be-64k", "raw-lzma-be-3.0",
    ],
)  # fmt: skip
def test_reader_extracts_every_variant_to_the_same_tree(
    tmp_path: Path, rootfs3: Path, options: dict[str, Any], variant: str
) -> None:
    image = image3(rootfs3, tmp_path / "fs.sq3", **options)

    written, used, problems = run_reader(image, tmp_path / "out")

    assert (used, problems) == (variant, [])
    assert read_tree(tmp_path / "out") == read_tree(rootfs3)
    assert modes(tmp_path / "out") == modes(rootfs3)
    assert written == len(list(rootfs3.rglob("*")))


def test_zlib_and_lzma_blocks_mixed_in_one_image(tmp_path: Path, rootfs3: Path) -> None:
    image = image3(rootfs3, tmp_path / "fs.sq3", compression="zlib+lzma")
    _, used, problems = run_reader(image, tmp_path / "out")
    assert (used, problems) == ("SquashFS 3.1, lzma-alone", [])
    assert read_tree(tmp_path / "out") == read_tree(rootfs3)


@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_tables_spanning_many_metadata_blocks(
    tmp_path: Path, rootfs3: Path, big_endian: bool
) -> None:
    """700 files in one directory: the inode table and the listing cross 8 KiB metadata
    blocks, the listing needs several headers; stock unsquashfs and the reader agree."""
    stock = images.require_tool("unsquashfs")
    for index in range(700):
        (rootfs3 / "www" / f"page-{index:04d}-of-a-long-name.html").write_bytes(b"p%d" % index)
    image = image3(rootfs3, tmp_path / "fs.sq3", big_endian=big_endian)
    block = parse_superblock(image.read_bytes()[:128])
    data = image.read_bytes()
    assert metadata_blocks(data, block.endian, block.inode_table, block.directory_table) >= 3
    (fragment_entries,) = struct.unpack_from(block.endian + "Q", data, block.fragment_table)
    assert metadata_blocks(data, block.endian, block.directory_table, fragment_entries) >= 2

    stock_out = tmp_path / "stock"
    subprocess.run([stock, "-d", str(stock_out), str(image)], check=True, capture_output=True)
    run_reader(image, tmp_path / "out")

    assert len(list((tmp_path / "out/www").iterdir())) == 701
    assert read_tree(tmp_path / "out") == read_tree(tmp_path / "stock") == read_tree(rootfs3)


def test_owners_come_from_the_uid_and_gid_tables(tmp_path: Path, rootfs3: Path) -> None:
    image = image3(rootfs3, tmp_path / "fs.sq3", big_endian=True, compression="lzma-vendor")
    with open_reader(image) as reader:
        assert isinstance(reader, Squashfs3Reader)
        owners = {}
        for name, reference in reader.entries(reader.inode(reader.sb.root_inode)):
            if name == "etc":
                for member, ref in reader.entries(reader.inode(reference)):
                    inode = reader.inode(ref)
                    owners[member] = (inode.uid, inode.gid)
    assert owners["shadow"] == (0, 42)
    assert owners["passwd"] == (0, 0)


def test_superblock_names_the_version_and_byte_order(tmp_path: Path, rootfs3: Path) -> None:
    data = images.squashfs3_from_tree(
        images.tree_from_directory(rootfs3), big_endian=True, minor=0, block_size=65536
    )
    block = parse_superblock(data[:128])
    assert (block.version, block.endian, block.block_size) == ((3, 0), ">", 65536)
    assert block.label == "SquashFS 3.0 (big-endian, magic 'sqsh')"
    assert block.bytes_used <= len(data) < block.bytes_used + 4096  # padded to 4 KiB
    with pytest.raises(FormatError, match=r"needs open_reader\(\)"):
        SquashfsReader(_write(tmp_path / "fs.sq3", data))


def test_stock_unsquashfs_rejects_3x_lzma_and_extract_reads_it(
    tmp_path: Path, rootfs3: Path
) -> None:
    """Acceptance: a big-endian SquashFS 3.0 with vendor LZMA (a 2008 Broadcom router)."""
    stock = images.require_tool("unsquashfs")
    image = image3(
        rootfs3, tmp_path / "root.sq3", compression="lzma-vendor", big_endian=True, minor=0
    )
    refused = subprocess.run(
        [stock, "-d", str(tmp_path / "stock"), str(image)], capture_output=True, check=False
    )
    assert refused.returncode != 0

    result = extract(image, tmp_path / "work")

    assert result.extractors == ("iotwarden-squashfs (SquashFS 3.0, lzma-props)",)
    best = result.rootfs[0]
    assert (best / "etc/passwd").read_text() == images.PASSWD
    assert (best / "big.bin").read_bytes() == (rootfs3 / "big.bin").read_bytes()
    assert (best / "bin/sh").readlink() == Path("busybox")  # /bin/busybox, neutralised
    assert result.neutralised_links == 1


@pytest.mark.parametrize("big_endian", [False, True], ids=["le-hsqs", "be-sqsh"])
def test_extract_lets_stock_unsquashfs_read_3x_gzip(
    tmp_path: Path, rootfs3: Path, big_endian: bool
) -> None:
    images.require_tool("unsquashfs")
    image = image3(rootfs3, tmp_path / "root.sq3", big_endian=big_endian)
    result = extract(image, tmp_path / "work")
    assert result.extractors == ("unsquashfs",)
    assert (result.rootfs[0] / "etc/passwd").read_text() == images.PASSWD


def test_3x_lzma_is_carved_out_of_a_flash_dump(tmp_path: Path, rootfs3: Path) -> None:
    squash = images.squashfs3_from_tree(
        images.tree_from_directory(rootfs3), compression="lzma", big_endian=True
    )
    image = _write(
        tmp_path / "flash.bin", images.raw_flash_dump(images.fake_kernel(), squash, size=1 << 20)
    )
    result = extract(image, tmp_path / "work")
    squash_steps = [step for step in result.steps if step.format == "squashfs"]
    assert [(step.offset, step.extractor, step.error) for step in squash_steps] == [
        (0x40000, "iotwarden-squashfs (SquashFS 3.1, lzma-alone)", None)
    ]
    assert (result.rootfs[0] / "etc/passwd").read_text() == images.PASSWD


def test_sasquatch_stand_in_reads_3x_lzma(tmp_path: Path, rootfs3: Path) -> None:
    image = image3(rootfs3, tmp_path / "fs.sq3", compression="lzma-vendor", magic=b"shsq")
    assert main(["-le", "-no-exit-code", "-f", "-d", str(tmp_path / "out"), str(image)]) == 0
    assert read_tree(tmp_path / "out") == read_tree(rootfs3)


def test_truncated_image_keeps_what_precedes_the_cut(tmp_path: Path, rootfs3: Path) -> None:
    """Cut where the fragment index starts (as a short flash read would): inodes and
    listings are all there, files in whole blocks come out, tails in fragments cannot."""
    whole = images.squashfs3_from_tree(images.tree_from_directory(rootfs3), big_endian=True)
    block = parse_superblock(whole[:128])
    image = _write(tmp_path / "cut.sq3", whole[: block.fragment_table])

    _, _, problems = run_reader(image, tmp_path / "out")

    assert problems[0] == (
        f"SquashFS in cut.sq3 at 0 is truncated: {block.fragment_table} of "
        f"{block.bytes_used} bytes present"
    )
    assert "SquashFS /etc/passwd: image truncated: needs bytes up to" in "\n".join(problems)
    assert (tmp_path / "out/exact.bin").read_bytes() == b"x" * 8192
    assert (tmp_path / "out/bin/sh").readlink() == Path("/bin/busybox")
    assert (tmp_path / "out/tmp").is_dir()


def test_image_cut_in_half_is_a_problem_not_a_crash(tmp_path: Path, rootfs3: Path) -> None:
    whole = images.squashfs3_from_tree(
        images.tree_from_directory(rootfs3), compression="lzma-vendor"
    )
    image = _write(tmp_path / "half.sq3", whole[: len(whole.rstrip(b"\0")) // 2])

    result = extract(image, tmp_path / "work")

    assert result.rootfs == ()
    assert any("half.sq3 at 0 is truncated" in problem for problem in result.problems)
    assert any("image truncated: needs bytes up to" in problem for problem in result.problems)


def _extract_hostile(image: Path, out: Path) -> list[str]:
    problems: list[str] = []
    try:
        extract_squashfs(
            image, out, budget=Budget(ExtractionLimits(), image.stat().st_size), problems=problems
        )
    except LimitExceeded as e:  # a limit that stops it is bounded too
        problems.append(str(e))
    return problems


def test_a_directory_listing_itself_is_a_problem_not_a_loop(tmp_path: Path) -> None:
    etc = images.Node(
        "dir",
        mode=0o755,
        children={
            "passwd": images.Node("file", images.PASSWD.encode()),
            "again": images.Node("loop"),  # an entry pointing back at /etc
        },
    )
    tree = images.Node("dir", mode=0o755, children={"etc": etc})
    image = _write(tmp_path / "cycle.sq3", images.squashfs3_from_tree(tree, big_endian=True))

    problems = _extract_hostile(image, tmp_path / "out")

    assert problems == ["SquashFS directory /etc/again loops or nests too deep"]
    assert (tmp_path / "out/etc/passwd").read_text() == images.PASSWD


def test_huge_claimed_sizes_are_bounded(tmp_path: Path) -> None:
    """A file claiming 1 TiB and a directory claiming a 128 MiB listing (it runs on into
    the root's listing and then garbage): extraction ends quickly with a bounded list of
    problems, the honest entries extracted and nothing big written."""
    tree = images.Node(
        "dir",
        mode=0o755,
        children={
            "etc": images.Node(
                "dir", mode=0o755, children={"passwd": images.Node("file", images.PASSWD.encode())}
            ),
            "huge": images.Node("file", b"tiny", claimed_size=1 << 40),
            "wide": images.Node(
                "dir",
                mode=0o755,
                claimed_size=(1 << 27) - 1,
                children={"x": images.Node("file", b"x")},
            ),
        },
    )
    image = _write(tmp_path / "hostile.sq3", images.squashfs3_from_tree(tree, long_inodes=True))
    started = time.monotonic()

    problems = _extract_hostile(image, tmp_path / "out")

    assert time.monotonic() - started < 10
    assert any(problem.startswith("SquashFS /huge: image truncated") for problem in problems)
    assert "SquashFS directory /wide: 64 bad entries, rest skipped" in problems
    assert len(problems) < 100
    assert (tmp_path / "out/etc/passwd").read_text() == images.PASSWD
    assert (tmp_path / "out/wide/x").read_bytes() == b"x"
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written < 1 << 20


def test_squashfs_2_is_named_not_misread(tmp_path: Path) -> None:
    header = bytearray(128)
    header[0:4] = b"hsqs"
    header[28:32] = bytes([2, 0, 1, 0])  # little-endian 2.1
    with pytest.raises(FormatError, match=r"SquashFS 2\.1 \(little-endian, magic 'hsqs'\) is not"):
        open_reader(_write(tmp_path / "old.sqfs", bytes(header) + bytes(4000)))


def test_failed_stock_run_leaves_no_partial_output(tmp_path: Path, rootfs3: Path) -> None:
    """unsquashfs fails on 3.x LZMA after creating its target; the built-in reader then
    writes a clean tree (no stock leftovers)."""
    if shutil.which("unsquashfs") is None:
        pytest.skip("unsquashfs not installed")
    image = image3(rootfs3, tmp_path / "fs.sq3", compression="lzma", big_endian=True)
    assert main(["-d", str(tmp_path / "out"), str(image)]) == 0
    assert read_tree(tmp_path / "out") == read_tree(rootfs3)


def test_unblob_opens_3x_lzma_through_the_sasquatch_stand_in(
    tmp_path: Path, rootfs3: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """unblob's squashfs_v3 handler calls 'sasquatch', which is our reader here."""
    if find_unblob() is None:
        reason = "unblob is not installed (./dev test installs it in .tools/unblob)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    monkeypatch.setenv("IOTWARDEN_USE_UNBLOB", "1")
    squash = images.squashfs3_from_tree(
        images.tree_from_directory(rootfs3), compression="lzma-vendor", big_endian=True
    )
    image = _write(tmp_path / "flash.bin", images.raw_flash_dump(images.fake_kernel(), squash))

    result = extract(image, tmp_path / "work")

    assert "unblob" in result.extractors
    assert any(step.format == "squashfs_v3" and step.error is None for step in result.steps)
    assert (result.rootfs[0] / "etc/passwd").read_text() == images.PASSWD
    assert (result.rootfs[0] / "big.bin").read_bytes() == (rootfs3 / "big.bin").read_bytes()
