"""Property tests: the uImage, TRX and cpio handlers (header validators and openers) against
damaged and crafted containers.

Validators run on every magic match in every file of an image, so they must answer "not
this format" (None) for anything, never raise. Openers run through
:func:`formats.open_container`, whose documented errors are FormatError and LimitExceeded;
whatever they do write stays under the output directory.
"""

from __future__ import annotations

import mmap
import stat
import zlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from iotwarden.firmware.extract import formats
from iotwarden.firmware.extract.interface import ExtractionLimits, FormatError, LimitExceeded
from iotwarden.firmware.extract.sandbox import Budget
from tests.firmware import images
from tests.firmware.fuzz.mutations import (
    FUZZ,
    FUZZ_SLOW,
    mutations,
    sandbox,
    time_limit,
    words,
    written_outside,
)

KERNEL = b"Linux version 5.10.176 (builder@buildhost)\n" + bytes(range(256)) * 4
ROOTFS = b"hsqs" + bytes(200)


def _multi_uimage() -> bytes:
    """A multi-file uImage (type 4): the sizes list, a 0 ending it, then 4-byte aligned parts."""
    parts = [KERNEL, b"initramfs\n" * 7]
    payload = b"".join(len(p).to_bytes(4, "big") for p in parts) + bytes(4)
    for part in parts:
        payload += part + bytes(-len(part) % 4)
    return images.uimage(payload, name="multi", image_type="multi")


SEEDS = {
    "uimage": images.uimage(KERNEL, name="Linux-5.10"),
    "uimage-multi": _multi_uimage(),
    "trx": images.trx([b"loader" * 10, KERNEL, ROOTFS]),
    "cpio": images.cpio_from_entries(
        [
            ("etc", stat.S_IFDIR | 0o755, b""),
            ("etc/passwd", stat.S_IFREG | 0o644, b"root:x:0:0::/root:/bin/sh\n"),
            ("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
            ("dev/console", stat.S_IFCHR | 0o600, b""),
        ]
    ),
}
FORMAT = {"uimage": "uimage", "uimage-multi": "uimage", "trx": "trx", "cpio": "cpio"}
HOT = {"uimage": 64, "uimage-multi": 80, "trx": 28, "cpio": 110}


def _validate(name: str, data: bytes, at: int) -> formats.Hit | None:
    hit = formats.BY_NAME[name].validate(data, at)
    if hit is not None:
        assert hit.format == name and hit.offset == at
        assert hit.length is None or hit.length >= 0
    return hit


def _open(name: str, data: bytes) -> tuple[list[str], str | None, dict[str, bytes]]:
    """Opens ``data`` as ``name`` (validated first, as the engine does); (problems, documented
    error, regular files written by relative path)."""
    with sandbox() as (out, neighbour):
        source = out.parent / "firmware.bin"
        source.write_bytes(data)
        problems: list[str] = []
        budget = Budget(ExtractionLimits(max_total_bytes=4 << 20, max_files=500), len(data))
        context = formats.Context(budget, problems, tool_timeout_s=10, tool_path="/nonexistent")
        error = None
        hit = _validate(name, data, 0)
        if hit is not None:
            try:
                with time_limit(10):
                    formats.open_container(source, hit, out, context)
            except (FormatError, LimitExceeded) as e:
                error = str(e)
        assert written_outside(out.parent, out, {source, neighbour}) == []
        assert (neighbour / "keep").read_bytes() == b"untouched"
        files = {
            str(path.relative_to(out)): path.read_bytes()
            for path in (out.rglob("*") if out.exists() else ())
            if path.is_file() and not path.is_symlink()
        }
        return problems, error, files


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_open_cleanly(name: str) -> None:
    problems, error, files = _open(FORMAT[name], SEEDS[name])
    assert error is None
    if name == "uimage":
        assert files == {"Linux-5.10.bin": KERNEL}
    elif name == "uimage-multi":
        assert files == {"multi.part0": KERNEL, "multi.part1": b"initramfs\n" * 7}
    elif name == "trx":
        assert files["part1"][: len(KERNEL)] == KERNEL and files["part2"][:4] == b"hsqs"
    else:
        assert files == {"etc/passwd": b"root:x:0:0::/root:/bin/sh\n"}
        assert problems == [
            "device node or special file 'dev/console' not created (special files are never "
            "written)"
        ]


@FUZZ
@given(st.binary(max_size=300), st.integers(0, 320))
def test_validators_never_raise(data: bytes, at: int) -> None:
    for name in ("uimage", "trx", "cpio", "squashfs", "jffs2", "cramfs", "ext", "lzma"):
        _validate(name, data, at)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_validators_on_damaged_headers(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    mutation = data.draw(mutations(len(seed), hot=HOT[name]))
    damaged = mutation.apply(seed)
    hit = _validate(FORMAT[name], damaged, 0)
    if name.startswith("uimage") and hit is not None:
        # The header CRC is the whole of the uImage check: a damaged header never passes.
        header = damaged[:64]
        assert zlib.crc32(header[:4] + bytes(4) + header[8:]) == int.from_bytes(header[4:8], "big")
    if damaged:
        with mmap.mmap(-1, len(damaged)) as mapped:  # the engine passes an mmap
            mapped[:] = damaged
            assert _validate(FORMAT[name], mapped, 0) == hit


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ_SLOW
@given(data=st.data())
def test_openers_give_documented_errors_only(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    hot = HOT[name]
    mutation = data.draw(st.one_of(mutations(len(seed), hot=hot), words(len(seed), hot=hot)))
    _open(FORMAT[name], mutation.apply(seed))


def _reheader(data: bytes) -> bytes:
    """A uImage whose header CRC is recomputed after a mutation (a crafted file, not a bad
    flash read: the CRC check is no defence against an attacker)."""
    header = bytearray(data[:64])
    header[4:8] = bytes(4)
    header[4:8] = zlib.crc32(bytes(header)).to_bytes(4, "big")
    return bytes(header) + data[64:]


@pytest.mark.parametrize("name", ["uimage", "uimage-multi"])
@FUZZ_SLOW
@given(data=st.data())
def test_crafted_uimage_headers(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    mutation = data.draw(st.one_of(mutations(len(seed), hot=80), words(len(seed), hot=80)))
    damaged = mutation.apply(seed)
    if len(damaged) >= 64:
        damaged = _reheader(damaged)
    _open("uimage", damaged)


@FUZZ
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.integers(0, 0o177777), st.binary(max_size=40)),
        max_size=5,
    )
)
@example([("../../escape", stat.S_IFREG | 0o644, b"x")])
@example(
    [
        ("/etc/abs", stat.S_IFLNK | 0o777, b"../../../../etc/passwd"),
        ("/etc/abs/x", stat.S_IFREG, b"x"),
    ]
)
def test_cpio_member_names_never_escape(entries: list[tuple[str, int, bytes]]) -> None:
    """Any names, modes and contents a crafted cpio can hold: everything stays inside."""
    _open("cpio", images.cpio_from_entries(entries))


#: What a crafted numeric field of a cpio header can hold besides hex digits: signs, white
#: space and underscores, which Python's int() accepts.
_CPIO_FIELD = st.one_of(
    st.integers(0, 0xFFFFFFFF).map(lambda value: b"%08X" % value),
    st.text("0123456789abcdefABCDEF+-_ ", min_size=8, max_size=8).map(str.encode),
)


@FUZZ
@given(st.integers(0, 12), _CPIO_FIELD)
@example(6, b"-0000070")  # a negative size sent the reader back to the same header, forever
@example(11, b"-0000010")  # a negative name size read the rest of the file as the name
def test_cpio_crafted_header_field(index: int, value: bytes) -> None:
    """One numeric field of the entry after a valid one replaced by anything that looks like
    a number: the reader ends (a time limit holds it) and says the header is bad."""
    entries = images.cpio_from_entries(
        [
            ("etc/passwd", stat.S_IFREG | 0o644, b"root::0:0::/:/bin/sh\n"),
            ("bin", stat.S_IFDIR, b""),
        ]
    )
    second = entries.index(b"070701", 6)
    at = second + 6 + 8 * index
    crafted = entries[:at] + value + entries[at + 8 :]
    problems, error, files = _open("cpio", crafted)
    assert error is None
    assert files["etc/passwd"] == b"root::0:0::/:/bin/sh\n"
    if not set(value) <= set(b"0123456789abcdefABCDEF"):
        assert any("bad number" in problem for problem in problems), problems
