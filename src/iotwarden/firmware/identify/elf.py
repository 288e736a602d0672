"""Just enough ELF reading for identification: the libraries a program links (``DT_NEEDED``)
and the value of an exported data symbol (``const char sqlite3_version[]``).

Both are read from the program headers (the dynamic segment and the loaded segments), which
every executable and shared library keeps even when ``sstrip`` has removed the section
headers; section headers are used when present to count and find the symbol tables. Every
read is bounded and checked: a truncated or hostile file gives "nothing", never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_SHT_SYMTAB = 2
_SHT_DYNSYM = 11
_STT_OBJECT = 1
_SHN_UNDEF = 0

#: Libraries a program may name; past this the dynamic section is not believed.
MAX_NEEDED = 256
#: Symbols looked at per file over all its tables (a large C++ library has ~100,000).
MAX_SYMBOLS = 400_000
#: Symbol tables looked at per file: real files have two (.symtab, .dynsym); a crafted one
#: can list thousands, each costing a search of its string table.
MAX_TABLES = 16
#: Longest symbol value read (a version string is a few bytes).
MAX_VALUE = 256
_MAX_NAME = 512


@dataclass(frozen=True, slots=True)
class _Layout:
    endian: str
    wide: bool  # ELF64

    def unpack(self, fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
        return struct.unpack_from(self.endian + fmt, data, offset)


def _layout(data: bytes) -> _Layout | None:
    if len(data) < 64 or not data.startswith(b"\x7fELF") or data[4] not in (1, 2):
        return None
    if data[5] not in (1, 2):
        return None
    return _Layout("<" if data[5] == 1 else ">", data[4] == 2)


def _segments(data: bytes, lay: _Layout) -> list[tuple[int, int, int, int]]:
    """(type, file offset, virtual address, file size) of each program header."""
    try:
        if lay.wide:
            phoff = lay.unpack("Q", data, 0x20)[0]
            phentsize, phnum = lay.unpack("HH", data, 0x36)
            fmt, wanted = "IIQQQQ", 40
        else:
            phoff = lay.unpack("I", data, 0x1C)[0]
            phentsize, phnum = lay.unpack("HH", data, 0x2A)
            fmt, wanted = "IIIII", 20
        if not phoff or phentsize < wanted or phoff + phnum * phentsize > len(data):
            return []
        out = []
        for index in range(phnum):
            fields = lay.unpack(fmt, data, phoff + index * phentsize)
            if lay.wide:
                kind, _flags, offset, vaddr, _paddr, filesz = fields
            else:
                kind, offset, vaddr, _paddr, filesz = fields
            out.append((kind, offset, vaddr, filesz))
        return out
    except struct.error:
        return []


def _file_offset(segments: list[tuple[int, int, int, int]], address: int) -> int | None:
    """The file offset holding virtual ``address`` (within a loaded segment's file bytes)."""
    for kind, offset, vaddr, filesz in segments:
        if kind == _PT_LOAD and vaddr <= address < vaddr + filesz:
            return offset + (address - vaddr)
    return None


def _dynamic(
    data: bytes, lay: _Layout, segments: list[tuple[int, int, int, int]]
) -> list[tuple[int, int]]:
    """The (tag, value) entries of the dynamic segment, up to DT_NULL."""
    for kind, offset, _vaddr, filesz in segments:
        if kind != _PT_DYNAMIC:
            continue
        size = 16 if lay.wide else 8
        fmt = "qQ" if lay.wide else "iI"
        end = min(offset + filesz, len(data))
        entries = []
        for at in range(offset, end - size + 1, size):
            tag, value = lay.unpack(fmt, data, at)
            if tag == _DT_NULL:
                break
            entries.append((tag, value))
        return entries
    return []


def _c_string(data: bytes, offset: int, stop: int) -> bytes | None:
    if not 0 <= offset < min(stop, len(data)):
        return None
    end = data.find(b"\x00", offset, min(stop, offset + _MAX_NAME, len(data)))
    return data[offset:end] if end >= offset else None


def needed_libraries(data: bytes) -> tuple[str, ...]:
    """The sonames an ELF program or library links dynamically (``DT_NEEDED``), in order;
    () for anything else or a file whose dynamic section does not add up."""
    lay = _layout(data)
    if lay is None:
        return ()
    try:
        segments = _segments(data, lay)
        entries = _dynamic(data, lay, segments)
        tags = dict(entries)
        if _DT_STRTAB not in tags:
            return ()
        strtab = _file_offset(segments, tags[_DT_STRTAB])
        if strtab is None:
            return ()
        stop = strtab + tags.get(_DT_STRSZ, len(data))
        names = []
        for tag, value in entries:
            if tag != _DT_NEEDED:
                continue
            name = _c_string(data, strtab + value, stop)
            if name:
                names.append(name.decode("latin-1"))
            if len(names) >= MAX_NEEDED:
                break
        return tuple(names)
    except (struct.error, OverflowError):
        return ()


def _symbol_tables(
    data: bytes, lay: _Layout, segments: list[tuple[int, int, int, int]]
) -> list[tuple[int, int, int, int]]:
    """(table offset, symbol count, string table offset, string table end) of each symbol
    table: from the section headers when there are any, else from the dynamic segment."""
    tables = []
    entsize = 24 if lay.wide else 16
    if lay.wide:
        shoff = lay.unpack("Q", data, 0x28)[0]
        shentsize, shnum = lay.unpack("HH", data, 0x3A)
        fmt, wanted = "IIQQQQIIQQ", 64
    else:
        shoff = lay.unpack("I", data, 0x20)[0]
        shentsize, shnum = lay.unpack("HH", data, 0x2E)
        fmt, wanted = "IIIIIIIIII", 40
    if shoff and shnum and shentsize >= wanted and shoff + shnum * shentsize <= len(data):
        sections = [lay.unpack(fmt, data, shoff + i * shentsize) for i in range(shnum)]
        for _name, kind, _flags, _addr, offset, size, link, _info, _align, _ent in sections:
            if kind not in (_SHT_DYNSYM, _SHT_SYMTAB) or link >= shnum:
                continue
            str_offset, str_size = sections[link][4], sections[link][5]
            tables.append((offset, size // entsize, str_offset, str_offset + str_size))
            if len(tables) >= MAX_TABLES:
                break
        if tables:
            return tables
    # No section headers (sstrip): the dynamic symbol table, counted by DT_HASH's nchain or,
    # without it, by where the string table starts (the linker puts .dynstr after .dynsym).
    tags = dict(_dynamic(data, lay, segments))
    if _DT_SYMTAB not in tags or _DT_STRTAB not in tags:
        return []
    symtab = _file_offset(segments, tags[_DT_SYMTAB])
    strtab = _file_offset(segments, tags[_DT_STRTAB])
    if symtab is None or strtab is None:
        return []
    count = 0
    hash_at = _file_offset(segments, tags[_DT_HASH]) if _DT_HASH in tags else None
    if hash_at is not None:
        count = lay.unpack("I", data, hash_at + 4)[0]
    elif strtab > symtab:
        count = (strtab - symtab) // entsize
    return [(symtab, count, strtab, strtab + tags.get(_DT_STRSZ, len(data) - strtab))]


def symbol_value(data: bytes, name: str) -> tuple[int, bytes] | None:
    """(file offset, bytes) of the defined data object ``name`` (``const char x[] = "..."``)
    in an ELF file's symbol tables, at most MAX_VALUE bytes; None when it is not defined
    there (a program that only imports it, or holds an empty copy-relocation slot for it) or
    the file does not add up."""
    lay = _layout(data)
    if lay is None:
        return None
    wanted = name.encode("latin-1") + b"\x00"
    entsize = 24 if lay.wide else 16
    fmt = lay.endian + ("IBBHQQ" if lay.wide else "IIIBBH")
    budget = MAX_SYMBOLS
    try:
        segments = _segments(data, lay)
        for table, count, str_lo, str_hi in _symbol_tables(data, lay, segments):
            # The name's places in the string table first (a linker may share a name's tail
            # with a longer one), then the one symbol pointing there: no string read per symbol.
            names: set[int] = set()
            at = data.find(wanted, str_lo, min(str_hi, len(data)))
            while at >= 0 and len(names) < 64:
                names.add(at - str_lo)
                at = data.find(wanted, at + 1, min(str_hi, len(data)))
            usable = min(count, budget, max(0, (len(data) - table) // entsize))
            if not names or usable <= 0 or table < 0:
                continue
            budget -= usable
            for fields in struct.iter_unpack(fmt, data[table : table + usable * entsize]):
                if lay.wide:
                    st_name, info, _other, shndx, value, size = fields
                else:
                    st_name, value, size, info, _other, shndx = fields
                if st_name not in names or shndx == _SHN_UNDEF:
                    continue
                if info & 0xF != _STT_OBJECT or not size:
                    continue
                offset = _file_offset(segments, value)
                content = b"" if offset is None else data[offset : offset + min(size, MAX_VALUE)]
                # All zero: a program's slot for a copy relocation, filled from the library
                # at load time (the program uses the symbol, it does not define it).
                if offset is None or not content.strip(b"\x00"):
                    return None
                return offset, content
    except (struct.error, OverflowError):
        return None
    return None
