"""Binary hardening facts of one ELF file, from its content alone (pyelftools).

Reads program headers and the dynamic segment first (they survive ``sstrip``), section
symbols when there are any. A file that starts like an ELF but cannot be parsed gives facts
with ``error`` set: the tree-level check turns that into a failed attempt for the file.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterable
from typing import Any

from elftools.elf.elffile import ELFFile

from iotwarden.firmware.checks.facts import ElfFacts, ElfKind, RelroLevel

ELF_MAGIC = b"\x7fELF"

_PF_X = 0x1
_DF_BIND_NOW = 0x8
_DF_1_NOW = 0x1
_DF_1_PIE = 0x08000000

#: Symbols read per file over all its symbol tables. Real binaries have a few thousand (a
#: large C++ library some 100,000 over .symtab and .dynsym); a crafted file can list one
#: table thousands of times, and pyelftools takes ~20 us per symbol (minutes, unbounded).
MAX_SYMBOLS = 100_000

_CANARY_SYMBOLS = frozenset({"__stack_chk_fail", "__stack_chk_guard", "__stack_chk_fail_local"})
_FORTIFIED = re.compile(r"^__(\w+)_chk$")


def inspect_elf(data: bytes) -> ElfFacts | None:
    """Hardening facts of an ELF file's content; None when ``data`` is not an ELF."""
    if not data.startswith(ELF_MAGIC):
        return None
    try:
        return _inspect(ELFFile(io.BytesIO(data)), data)
    except Exception as error:  # noqa: BLE001 - pyelftools raises anything on corrupt headers
        return ElfFacts(kind=ElfKind.OTHER, error=f"cannot parse ELF headers: {_describe(error)}")


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _inspect(elf: ELFFile, data: bytes) -> ElfFacts:
    header = elf.header
    e_type = header["e_type"]
    interpreter: str | None = None
    gnu_stack_flags: int | None = None
    has_relro = False
    dynamic_segment: Any = None
    segment: Any
    for segment in elf.iter_segments():
        p_type = segment["p_type"]
        if p_type == "PT_INTERP":
            interpreter = segment.get_interp_name()
        elif p_type == "PT_GNU_STACK":
            gnu_stack_flags = segment["p_flags"]
        elif p_type == "PT_GNU_RELRO":
            has_relro = True
        elif p_type == "PT_DYNAMIC":
            dynamic_segment = segment

    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    soname: str | None = None
    bind_now = False
    flags_1 = 0
    if dynamic_segment is not None:
        for tag in dynamic_segment.iter_tags():
            d_tag = tag.entry.d_tag
            if d_tag == "DT_NEEDED":
                needed.append(str(tag.needed))
            elif d_tag == "DT_SONAME":
                soname = str(tag.soname)
            elif d_tag == "DT_RPATH":
                rpath.extend(p for p in str(tag.rpath).split(":") if p)
            elif d_tag == "DT_RUNPATH":
                runpath.extend(p for p in str(tag.runpath).split(":") if p)
            elif d_tag == "DT_BIND_NOW":
                bind_now = True
            elif d_tag == "DT_FLAGS":
                bind_now = bind_now or bool(tag.entry.d_val & _DF_BIND_NOW)
            elif d_tag == "DT_FLAGS_1":
                flags_1 = int(tag.entry.d_val)
                bind_now = bind_now or bool(flags_1 & _DF_1_NOW)

    static = interpreter is None and dynamic_segment is None
    if e_type == "ET_EXEC":
        kind, pie = ElfKind.EXECUTABLE, False
    elif e_type == "ET_DYN":
        if flags_1 & _DF_1_PIE or interpreter is not None:
            kind, pie = ElfKind.PIE_EXECUTABLE, True
        else:
            kind, pie = ElfKind.SHARED_LIBRARY, None
    elif e_type == "ET_REL":
        kind, pie = ElfKind.RELOCATABLE, None
    else:
        kind, pie = ElfKind.OTHER, None

    imported, defined, has_symtab = _symbols(elf, dynamic_segment)
    names = imported | defined
    canary = bool(names & _CANARY_SYMBOLS)
    if not canary and (static or not names):
        # Static (often uClibc) builds that were stripped keep no symbol table; the guard's
        # name survives only as a string, if at all.
        canary = b"__stack_chk_fail" in data or b"__stack_chk_guard" in data
    # Static binaries carry libc's own _chk functions; only calls into them mean FORTIFY.
    chk_source = names if static else imported
    fortified = sorted(
        m.group(1)
        for name in chk_source
        if name not in _CANARY_SYMBOLS and (m := _FORTIFIED.match(name)) is not None
    )

    relro = RelroLevel.NONE
    if has_relro:
        relro = RelroLevel.FULL if bind_now else RelroLevel.PARTIAL

    return ElfFacts(
        kind=kind,
        machine=str(header["e_machine"]).removeprefix("EM_"),
        bits=elf.elfclass,
        little_endian=elf.little_endian,
        interpreter=interpreter,
        static=static,
        nx=gnu_stack_flags is not None and not gnu_stack_flags & _PF_X,
        gnu_stack=gnu_stack_flags is not None,
        pie=pie,
        relro=relro,
        canary=canary,
        fortify=bool(fortified),
        fortified=tuple(fortified),
        rpath=tuple(rpath),
        runpath=tuple(runpath),
        stripped=not has_symtab,
        soname=soname,
        needed=tuple(needed),
    )


def _symbols(elf: ELFFile, dynamic_segment: Any) -> tuple[set[str], set[str], bool]:
    """(imported names, defined names, whether a .symtab exists)."""
    imported: set[str] = set()
    defined: set[str] = set()
    has_symtab = False
    seen_dynsym = False
    budget = MAX_SYMBOLS
    tables: set[tuple[int, int]] = set()
    if elf.num_sections():
        section: Any
        for section in elf.iter_sections():
            section_type = section["sh_type"]
            if section_type == "SHT_SYMTAB":
                has_symtab = True
            if section_type in ("SHT_SYMTAB", "SHT_DYNSYM"):
                seen_dynsym = seen_dynsym or section_type == "SHT_DYNSYM"
                table = (section["sh_offset"], section["sh_size"])
                if table in tables:
                    continue  # the same table listed again (crafted): nothing new in it
                tables.add(table)
                budget = _sort_symbols(section.iter_symbols(), imported, defined, budget)
    if not seen_dynsym and dynamic_segment is not None:
        # No section headers (sstrip): the dynamic segment still lists the symbols.
        # Optional source: missing or damaged hash tables are common.
        with contextlib.suppress(Exception):
            _sort_symbols(dynamic_segment.iter_symbols(), imported, defined, budget)
    return imported, defined, has_symtab


def _sort_symbols(
    symbols: Iterable[Any], imported: set[str], defined: set[str], budget: int
) -> int:
    """Sorts up to ``budget`` symbols by whether they are defined; returns the budget left."""
    for symbol in itertools.islice(symbols, max(budget, 0)):
        budget -= 1
        name = symbol.name
        if not name:
            continue
        (imported if symbol["st_shndx"] == "SHN_UNDEF" else defined).add(name)
    return budget
