"""The ELF reads identification relies on: linked libraries and exported data symbols, on
gcc-built files, on files whose section headers are gone (sstrip), and on hostile input."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from iotwarden.firmware.identify.elf import needed_libraries, symbol_value
from tests.firmware import binaries


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    binaries.tool_or_skip("gcc")
    where = tmp_path_factory.mktemp("elf")
    library = binaries.compile_library_exporting(
        {"sqlite3_version": "3.40.1", "iw_other": "x"}, where / "libsqlite3.so.0"
    )
    crypto = binaries.compile_library(["OpenSSL 3.0.20 7 Apr 2026"], where / "libcrypto.so.3")
    program = binaries.compile_program_linking(["hello"], where / "daemon", [library, crypto])
    client = binaries.compile_program_importing(["sqlite3_version"], where / "client", [library])
    return {"library": library, "program": program, "client": client}


def _without_section_headers(data: bytes) -> bytes:
    """What sstrip leaves: e_shoff, e_shnum and e_shstrndx zeroed (ELF64 little-endian)."""
    out = bytearray(data)
    struct.pack_into("<Q", out, 0x28, 0)
    struct.pack_into("<HHH", out, 0x3A, 0, 0, 0)
    return bytes(out)


def test_the_libraries_a_program_links_are_read_in_order(built: dict[str, Path]) -> None:
    needed = needed_libraries(built["program"].read_bytes())
    assert needed[:2] == ("libsqlite3.so.0", "libcrypto.so.3")
    assert "libc.so.6" in needed


def test_an_exported_data_symbol_gives_its_value(built: dict[str, Path]) -> None:
    data = built["library"].read_bytes()
    found = symbol_value(data, "sqlite3_version")
    assert found is not None
    offset, value = found
    assert value == b"3.40.1\x00"
    assert data[offset : offset + 6] == b"3.40.1"
    assert symbol_value(data, "iw_other") is not None
    assert symbol_value(data, "sqlite3") is None  # a prefix of a name is not the name
    assert symbol_value(data, "no_such_symbol") is None


def test_a_program_importing_the_symbol_has_no_value_for_it(built: dict[str, Path]) -> None:
    data = built["client"].read_bytes()
    assert b"sqlite3_version" in data
    assert symbol_value(data, "sqlite3_version") is None


def test_both_reads_work_without_section_headers(built: dict[str, Path]) -> None:
    stripped = _without_section_headers(built["library"].read_bytes())
    found = symbol_value(stripped, "sqlite3_version")
    assert found is not None and found[1] == b"3.40.1\x00"
    program = _without_section_headers(built["program"].read_bytes())
    assert needed_libraries(program)[:2] == ("libsqlite3.so.0", "libcrypto.so.3")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x7fELF",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
        b"\x7fELF\x02\x01\x01" + b"\xff" * 200,
        b"\x7fELF\x01\x02\x01" + bytes(range(256)) * 4,
        b"not an ELF file at all" * 10,
    ],
)
def test_hostile_input_gives_nothing(data: bytes) -> None:
    assert needed_libraries(data) == ()
    assert symbol_value(data, "sqlite3_version") is None


def test_truncated_libraries_give_nothing_or_the_truth(built: dict[str, Path]) -> None:
    data = built["library"].read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 97)):
        found = symbol_value(data[:cut], "sqlite3_version")
        assert found is None or found[1].startswith(b"3.40.1"[: len(found[1])])
        needed_libraries(data[:cut])
