"""Property tests: damaged and crafted ELF files against the two ELF readers.

``checks.elf.inspect_elf`` (pyelftools) must turn any damage into facts with ``error`` set;
``identify.elf`` (our bounded reads of DT_NEEDED and exported data symbols) must answer
"nothing" instead of raising. Seeds are small programs and libraries built with gcc; the
mutations aim at the ELF header, the program and section header tables and the dynamic
segment, and cut files short.
"""

from __future__ import annotations

import functools
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from iotwarden.firmware.checks.elf import inspect_elf
from iotwarden.firmware.checks.facts import ElfFacts, ElfKind
from iotwarden.firmware.identify.elf import MAX_NEEDED, MAX_VALUE, needed_libraries, symbol_value
from tests.firmware import binaries
from tests.firmware.fuzz.mutations import FUZZ, Mutation, mutations, time_limit, words

SEED_NAMES = ("program", "library", "static")


@functools.cache
def _built() -> dict[str, bytes]:
    binaries.tool_or_skip("gcc")
    with tempfile.TemporaryDirectory(prefix="iw-fuzz-elf-") as name:
        root = Path(name)
        library = binaries.compile_library_exporting(
            {"sqlite3_version": "3.40.1"}, root / "libsqlite3.so.0", strings=["SQLite 3.40.1"]
        )
        program = binaries.compile_program_linking(["OpenSSL 1.1.1k"], root / "prog", [library])
        static = binaries.compile_program(["BusyBox v1.36.1"], root / "static", static=True)
        return {
            "program": program.read_bytes(),
            "library": library.read_bytes(),
            # A static binary is large; its headers and first pages are what the readers see.
            "static": static.read_bytes()[:65536],
        }


def seed(name: str) -> bytes:
    try:
        return _built()[name]
    except RuntimeError as e:  # gcc could not link (no static libc): nothing to fuzz
        pytest.skip(str(e))


def _hot(data: bytes) -> int:
    """Bytes holding the ELF header and the program header table."""
    if data[4] == 2:
        phoff, phentsize, phnum = struct.unpack_from("<Q", data, 0x20)[0], 56, data[0x38]
    else:
        phoff, phentsize, phnum = struct.unpack_from("<I", data, 0x1C)[0], 32, data[0x2C]
    return min(len(data), phoff + phentsize * phnum)


def _check(data: bytes) -> None:
    with time_limit(10):
        facts = inspect_elf(data)
        needed = needed_libraries(data)
        value = symbol_value(data, "sqlite3_version")
    if not data.startswith(b"\x7fELF"):
        assert facts is None
    else:
        assert isinstance(facts, ElfFacts)
        assert facts.error is None or facts.kind is ElfKind.OTHER
        assert ElfFacts.from_dict(facts.to_dict()) == facts
    assert isinstance(needed, tuple) and len(needed) <= MAX_NEEDED
    assert all(isinstance(name, str) and name and len(name) <= 512 for name in needed)
    if value is not None:
        offset, content = value
        assert offset >= 0 and 0 < len(content) <= MAX_VALUE
        assert data[offset : offset + len(content)] == content


def test_seeds_read_as_built() -> None:
    program, library = seed("program"), seed("library")
    assert needed_libraries(program)[0] == "libsqlite3.so.0"
    assert symbol_value(library, "sqlite3_version") is not None
    assert symbol_value(library, "sqlite3_version")[1].startswith(b"3.40.1")  # type: ignore[index]
    facts = inspect_elf(program)
    assert facts is not None and facts.error is None and "libsqlite3.so.0" in facts.needed


@pytest.mark.parametrize("name", SEED_NAMES)
@FUZZ
@given(data=st.data())
def test_damaged_elf_never_raises(name: str, data: st.DataObject) -> None:
    elf = seed(name)
    hot = _hot(elf)
    strategy = st.one_of(mutations(len(elf), hot=hot), words(len(elf), hot=hot))
    _check(data.draw(strategy).apply(elf))


@pytest.mark.parametrize("name", ["program", "library"])
@FUZZ
@given(cut=st.integers(0, 70_000), flips=st.lists(st.integers(0, 255), max_size=4))
def test_truncated_elf_never_raises(name: str, cut: int, flips: list[int]) -> None:
    elf = seed(name)
    _check(Mutation(writes=tuple(enumerate(flips, start=4)), cut=cut % (len(elf) + 1)).apply(elf))


@FUZZ
@given(st.binary(min_size=0, max_size=512))
@example(b"\x7fELF\x02\x01" + bytes(58))  # an ELF64 header and nothing else
@example(b"\x7fELF\x01\x02" + bytes(10))  # cut inside the header
def test_anything_after_the_magic(tail: bytes) -> None:
    _check(b"\x7fELF" + tail)


def many_symbol_tables(size: int, tables: int, *, shift: int) -> bytes:
    """A crafted ELF32: ``size`` bytes of zeros holding one 'sqlite3_version' string, then
    ``tables`` section headers, section 0 a string table over the whole file and every other
    one a .dynsym over the whole file (``shift`` 0) or starting ``shift`` bytes later each
    (so the tables are not literally the same)."""
    body = bytearray(size)
    body[100:116] = b"sqlite3_version\0"
    sections = [struct.pack("<10I", 0, 3, 0, 0, 0, size, 0, 0, 0, 0)]  # SHT_STRTAB
    for index in range(1, tables):
        start = shift * index
        sections.append(struct.pack("<10I", 0, 11, 0, 0, start, size - start, 0, 0, 0, 16))
    header = struct.pack(
        "<4s4B8sHHIIIIIHHHHHH",
        b"\x7fELF",
        1,
        1,
        1,
        0,
        bytes(8),
        3,
        3,
        1,
        0,
        0,
        size,
        0,
        52,
        32,
        0,
        40,
        tables,
        0,
    )  # fmt: skip  (ELF32 LE, ET_DYN, EM_386, no program headers, section headers at the end)
    body[: len(header)] = header
    return bytes(body) + b"".join(sections)


@pytest.mark.parametrize("shift", [0, 16])
def test_thousands_of_symbol_tables_are_read_in_bounded_time(shift: int) -> None:
    """2,000 symbol tables over one 64 KiB file: 8 million symbols listed. inspect_elf took
    147 s on it (pyelftools reads ~20 us per symbol); now the same table is read once and at
    most MAX_SYMBOLS symbols per file."""
    crafted = many_symbol_tables(65536, 2000, shift=shift)
    with time_limit(15):
        facts = inspect_elf(crafted)
        assert symbol_value(crafted, "sqlite3_version") is None
    assert facts is not None and facts.error is None
    assert facts.machine == "386" and facts.kind is ElfKind.SHARED_LIBRARY
