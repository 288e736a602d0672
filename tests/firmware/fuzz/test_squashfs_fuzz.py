"""Property tests: damaged and crafted SquashFS 4.0 and 3.x images against the built-in reader.

Seeds are small valid images from the test generators (gzip and vendor LZMA, both 3.x byte
orders, -check_data markers); each example flips bytes in the superblock and tables, cuts the
image short or appends garbage. Whatever the damage, the reader may only raise its documented
errors (FormatError, LimitExceeded), must finish within the example deadline, and must never
write outside its output directory.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from iotwarden.firmware.extract.interface import ExtractionLimits, FormatError, LimitExceeded
from iotwarden.firmware.extract.sandbox import Budget
from iotwarden.firmware.extract.squashfs import extract_squashfs as extract
from iotwarden.firmware.extract.squashfs import (
    find_superblocks,
    parse_superblock,
    probe_version,
)
from tests.firmware import images
from tests.firmware.fuzz.mutations import (
    FUZZ,
    FUZZ_SLOW,
    Mutation,
    mutations,
    sandbox,
    time_limit,
    words,
    written_outside,
)

PASSWD = b"root:x:0:0:root:/root:/bin/ash\n"


def _tree() -> images.Node:
    """A router-like tree that reaches every inode kind the readers decode: directories two
    deep, a file of several blocks (with a tail), an empty file, relative and absolute links,
    a device node."""
    return images.Node(
        "dir",
        mode=0o755,
        children={
            "bin": images.Node(
                "dir",
                mode=0o755,
                children={
                    "busybox": images.Node("file", bytes(range(256)) * 20, 0o755),
                    "sh": images.Node("symlink", b"busybox", 0o777),
                },
            ),
            "etc": images.Node(
                "dir",
                mode=0o755,
                children={
                    "passwd": images.Node("file", PASSWD),
                    "empty": images.Node("file", b""),
                    "localtime": images.Node("symlink", b"/usr/share/zoneinfo/UTC", 0o777),
                },
            ),
            "dev": images.Node("dir", mode=0o755, children={"null": images.Node("chr")}),
        },
    )


#: name -> how to build the seed image (4.0 through the Python writer, 3.x through its own).
SEEDS = {
    "4.0-gzip": lambda: images.squashfs_from_tree(_tree(), compression="gzip"),
    "4.0-lzma-vendor": lambda: images.squashfs_from_tree(
        _tree(), compression="lzma-vendor", magic=b"shsq"
    ),
    "3.1-le-gzip": lambda: images.squashfs3_from_tree(_tree(), compression="gzip"),
    "3.0-be-lzma": lambda: images.squashfs3_from_tree(
        _tree(), compression="lzma-vendor", big_endian=True, minor=0, long_inodes=True
    ),
    "3.1-le-check-data": lambda: images.squashfs3_from_tree(
        _tree(), compression="zlib+lzma", check_data=True
    ),
}


@functools.cache
def seed(name: str) -> bytes:
    # The writers pad to 4 KiB; mutations of the padding would test nothing.
    image = SEEDS[name]()
    return image[: parse_superblock(image[:128]).bytes_used]


def _extract(image: bytes) -> tuple[Path | None, list[str], str | None]:
    """Extracts ``image``; (output, problems, documented error) with every write checked to
    stay inside the output directory."""
    with sandbox() as (out, neighbour):
        source = out.parent / "image.sqsh"
        source.write_bytes(image)
        problems: list[str] = []
        limits = ExtractionLimits(max_total_bytes=8 << 20, max_files=2000)
        error = None
        try:
            with time_limit(10):
                extract(source, out, budget=Budget(limits, len(image)), problems=problems)
        except (FormatError, LimitExceeded) as e:
            error = str(e)
            assert error, "a documented error must say what is wrong"
        stray = written_outside(out.parent, out, {source, neighbour})
        assert stray == [], f"written outside the output directory: {stray}"
        assert (neighbour / "keep").read_bytes() == b"untouched"
        for path in out.rglob("*") if out.exists() else ():
            if path.is_file() and not path.is_symlink():
                assert path.stat().st_mode & 0o6000 == 0, f"set-id bit kept on {path}"
        return out, problems, error


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_extract_completely(name: str) -> None:
    """The unmutated seeds are valid (else the properties below test nothing)."""
    with sandbox() as (out, _):
        source = out.parent / "image.sqsh"
        source.write_bytes(seed(name))
        problems: list[str] = []
        written, _ = extract(
            source, out, budget=Budget(ExtractionLimits(), len(seed(name))), problems=problems
        )
        assert (out / "etc/passwd").read_bytes() == PASSWD
        assert (out / "bin/busybox").read_bytes() == bytes(range(256)) * 20
        assert (out / "bin/sh").readlink() == Path("busybox")
        assert not (out / "dev/null").exists()
        assert written == 8
        assert problems == [
            "character device 'dev/null' not created (special files are never written)"
        ]


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ_SLOW
@given(data=st.data())
def test_damaged_image_gives_documented_errors_only(name: str, data: st.DataObject) -> None:
    image = seed(name)
    hot = 119 if name.startswith("3") else 96
    mutation = data.draw(st.one_of(mutations(len(image), hot=hot), words(len(image), hot=hot)))
    _extract(mutation.apply(image))


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(cut=st.integers(0, 4096))
def test_truncated_image_keeps_what_precedes_the_cut(name: str, cut: int) -> None:
    image = seed(name)
    cut = min(cut, len(image))
    _, problems, error = _extract(image[:cut])
    if error is None and cut < len(image):
        assert any("truncated" in problem for problem in problems), problems


@FUZZ
@given(st.binary(max_size=160))
@example(b"hsqs" + bytes(24) + b"\x04\x00\x00\x00")  # 4.0 named, nothing else there
@example(b"sqsh" + bytes(24) + b"\x00\x03\x00\x01")  # 3.1 big-endian, superblock cut short
def test_superblock_parsers_raise_format_errors_only(head: bytes) -> None:
    for magic in (b"hsqs", b"sqsh", b"shsq"):
        candidate = magic + head[4:] if head[:1] == b"\0" else head
        try:
            block = parse_superblock(candidate)
        except FormatError:
            continue
        assert block.version[0] in (3, 4)
        assert 4096 <= block.block_size <= 1 << 20
        assert block.inode_table < block.directory_table <= block.bytes_used
    try:
        _, endian, major, _ = probe_version(head)
    except FormatError:
        pass
    else:
        assert endian in "<>" and major in (1, 2, 3, 4)
    offsets = list(find_superblocks(head * 2))
    assert all(0 <= offset < 2 * len(head) for offset in offsets)


def test_mutation_descriptions_apply_as_written() -> None:
    """The helper the properties rely on: writes, then the cut, then the tail."""
    assert Mutation(writes=((1, 0x41), (9, 0x42)), cut=3, tail=b"!").apply(b"abcdef") == b"aAc!"
