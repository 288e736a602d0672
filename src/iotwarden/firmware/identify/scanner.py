"""Per-file signature scanning: one pass of one multi-pattern automaton over a file's content.

Every anchor of every signature is compiled into a single Aho-Corasick automaton; a file is
walked once, and only at an anchor hit is the (short, bounded) version regex of that pattern
run. The cost is one linear pass per file whatever the number of signatures. ``scan_content``
is a pure function of the bytes it is given, so callers may cache its result by content hash.

Two readings go past plain strings, both bounded ELF reads (``elf``): a pattern may name an
exported data symbol whose value is the version (``const char sqlite3_version[]``), and each hit
records the component's libraries the file links dynamically (``DT_NEEDED``), so that a
library's banner compiled into a program that links it (the OpenSSL header version in hostapd)
is told apart from a copy of the library built into it (``combine`` decides what it weighs).

Kernel images hide their banner: an x86 bzImage keeps it behind a header pointer, a uImage
usually compresses it. Both are looked into (within a size bound) so the kernel version is read
from the image itself, not only from its modules' ``vermagic``.
"""

from __future__ import annotations

import bz2
import dataclasses
import functools
import lzma
import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ahocorasick

from iotwarden.firmware.identify.elf import needed_libraries, symbol_value
from iotwarden.firmware.identify.signatures import (
    Pattern,
    Signature,
    load_signatures,
    looks_like_version,
    signatures_by_id,
)

#: A uImage payload is decompressed up to this many bytes (kernels are a few MiB).
MAX_KERNEL_BYTES = 48 * 1024 * 1024
#: Hits of one pattern looked at per file: past this a file is noise for that pattern
#: (a text full of "curl ..."), and the first hits already told what there is to tell.
MAX_ANCHOR_HITS = 2000
MATCHED_CHARS = 120

# File types that cannot carry a readable version string (compressed or media data): their
# content is skipped at the cost of comparing a few magic bytes.
_OPAQUE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\x04\x22\x4d\x18",  # lz4
    b"PK\x03\x04",
    b"SQLite format 3\x00",  # a database, not the library
    b"RIFF",
    b"OggS",
    b"ID3",
    b"wOFF",
    b"wOF2",
    b"\x00\x00\x01\x00",  # ICO
)

_UIMAGE_MAGIC = b"\x27\x05\x19\x56"
_UIMAGE_HEADER = 64


@dataclass(frozen=True, slots=True)
class SignatureHit:
    """One signature seen in one file: which component, the version read (None when the
    string carries none), the text seen (trimmed) and where."""

    signature: str
    version: str | None
    matched: str
    offset: int
    #: The pattern is one a file could borrow or quote: weaker evidence on its own.
    weak: bool = False
    #: The component's own libraries this file links dynamically (DT_NEEDED names matching
    #: the signature's file names): in such a file the string is the version of the headers
    #: it was built against, not a copy of the library.
    linked: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "version": self.version,
            "matched": self.matched,
            "offset": self.offset,
            "weak": self.weak,
            "linked": list(self.linked),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignatureHit:
        return cls(
            signature=data["signature"],
            version=data.get("version"),
            matched=data.get("matched", ""),
            offset=int(data.get("offset", 0)),
            weak=bool(data.get("weak", False)),
            linked=tuple(str(n) for n in data.get("linked", ())),
        )


class _Engine:
    """All signatures' anchors in one automaton; each anchor maps to the patterns using it."""

    def __init__(self, signatures: tuple[Signature, ...]) -> None:
        by_anchor: dict[bytes, list[tuple[Signature, Pattern]]] = {}
        for signature in signatures:
            for pattern in signature.patterns:
                by_anchor.setdefault(pattern.anchor, []).append((signature, pattern))
        self.automaton = ahocorasick.Automaton()
        for anchor, users in by_anchor.items():
            self.automaton.add_word(anchor.decode("latin-1"), (len(anchor), tuple(users)))
        self.automaton.make_automaton()

    def scan(
        self, data: bytes, ranges: Sequence[tuple[int, int]] | None = None, base: int = 0
    ) -> list[SignatureHit]:
        """Hits in ``data`` (only within ``ranges`` when given); offsets are shifted by ``base``."""
        text_file = _is_text(data)
        hits: list[SignatureHit] = []
        seen: set[tuple[str, str | None]] = set()
        tried: dict[int, int] = {}
        # Symbol values read in this file (a symbol's name can be hit many times).
        symbols: dict[bytes, tuple[int, bytes] | None] = {}
        for lo, hi in ranges if ranges is not None else [(0, len(data))]:
            # The automaton works on str: Latin-1 maps each byte to one code point, so string
            # offsets are byte offsets.
            text = data[lo:hi].decode("latin-1")
            for end, (length, users) in self.automaton.iter(text):
                start = lo + end - length + 1
                for signature, pattern in users:
                    key = id(pattern)
                    tried[key] = tried.get(key, 0) + 1
                    if tried[key] > MAX_ANCHOR_HITS:
                        continue
                    hit = _read(signature, pattern, data, start, base, text_file, symbols)
                    if hit is None or (hit.signature, hit.version) in seen:
                        continue
                    seen.add((hit.signature, hit.version))
                    hits.append(hit)
        return hits


def _read(
    signature: Signature,
    pattern: Pattern,
    data: bytes,
    start: int,
    base: int,
    text_file: bool,
    symbols: dict[bytes, tuple[int, bytes] | None],
) -> SignatureHit | None:
    if pattern.symbol:
        if pattern.anchor not in symbols:
            symbols[pattern.anchor] = symbol_value(data, pattern.anchor.decode("latin-1"))
        return _read_symbol(signature, pattern, symbols[pattern.anchor], base)
    stop = start + len(pattern.anchor) + pattern.after
    if pattern.before:
        lo = max(0, start - pattern.before)
        match = pattern.regex.search(data, lo, stop)
    else:
        match = pattern.regex.match(data, start, stop)
    if match is None:
        return None
    version = _version_of(match, pattern)
    if version is False:
        return None
    return SignatureHit(
        signature=signature.id,
        version=version,
        matched=_matched_text(match),
        offset=base + match.start(),
        # A binary's banner quoted in a README or a script is weaker than the binary itself.
        weak=pattern.weak or (text_file and not pattern.text),
    )


def _version_of(match: re.Match[bytes], pattern: Pattern) -> str | Literal[False] | None:
    """The version a pattern's match read; None when it reads none; False when what it read
    does not look like a version (the hit is then dropped)."""
    if "version" not in pattern.regex.groupindex or match.group("version") is None:
        return None
    version = match.group("version").decode("latin-1")
    return version if looks_like_version(version) else False


def _read_symbol(
    signature: Signature, pattern: Pattern, found: tuple[int, bytes] | None, base: int
) -> SignatureHit | None:
    """A version kept as the value of an exported data symbol named by the anchor (found in
    the symbol string table). Only a file that defines the symbol gives a hit: a program that
    imports it names it too, but has no value for it."""
    if found is None:
        return None
    offset, value = found
    match = pattern.regex.match(value)
    if match is None:
        return None
    version = _version_of(match, pattern)
    if version is False:
        return None
    return SignatureHit(
        signature=signature.id,
        version=version,
        matched=_printable(pattern.anchor + b" = " + match.group(0)),
        offset=base + offset,
        weak=pattern.weak,
    )


def _matched_text(match: re.Match[bytes]) -> str:
    """The text seen, trimmed; when the version lies far from the anchor (a literal found
    among a banner's neighbours) the start and the version's own string, joined by '...'."""
    whole = match.group(0)
    if "version" not in match.re.groupindex or match.group("version") is None:
        return _printable(whole)
    end = match.end("version")
    if end - match.start() <= MATCHED_CHARS:
        return _printable(whole)
    return f"{_printable(whole[:60])} ... {_printable(match.group('version'))}"


def _is_text(data: bytes) -> bool:
    """Text, not a binary: no NUL byte in the first 8 KiB (as grep and git decide)."""
    return b"\x00" not in data[:8192]


def _printable(raw: bytes) -> str:
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in raw[: MATCHED_CHARS + 8])
    return text[:MATCHED_CHARS].strip()


@functools.cache
def _engine() -> _Engine:
    return _Engine(load_signatures())


def is_opaque(data: bytes) -> bool:
    """Whether ``data`` is compressed or media content that cannot hold a version string."""
    return data.startswith(_OPAQUE_MAGIC)


def scan_content(data: bytes) -> tuple[SignatureHit, ...]:
    """Every signature hit in one file's content, in order of appearance.

    Pure: depends on ``data`` only. Within a file each (component, version) is reported once;
    a version-less hit is dropped when the same file also gives that component's version.
    """
    engine = _engine()
    hits: list[SignatureHit] = []
    if not is_opaque(data):
        hits = engine.scan(data, _data_ranges(data))
    for offset, payload in _kernel_payloads(data):
        hits.extend(engine.scan(payload, base=offset))
    hits = _mark_linked(data, hits)
    versioned = {h.signature for h in hits if h.version is not None}
    out: list[SignatureHit] = []
    seen: set[tuple[str, str | None]] = set()
    for hit in hits:
        if hit.version is None and hit.signature in versioned:
            continue
        if (hit.signature, hit.version) in seen:
            continue
        seen.add((hit.signature, hit.version))
        out.append(hit)
    return tuple(out)


def _mark_linked(data: bytes, hits: list[SignatureHit]) -> list[SignatureHit]:
    """Each hit with the component's libraries the file links dynamically (see SignatureHit)."""
    if not hits or not data.startswith(b"\x7fELF"):
        return hits
    needed = needed_libraries(data)
    if not needed:
        return hits
    signatures = signatures_by_id()
    out = []
    for hit in hits:
        signature = signatures.get(hit.signature)
        linked = tuple(n for n in needed if signature and signature.owns_file(n))
        out.append(dataclasses.replace(hit, linked=linked) if linked else hit)
    return out


def _kernel_payloads(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Where a kernel image keeps its banner out of plain sight: (file offset, bytes)."""
    # x86 boot protocol: "HdrS" at 0x202, a pointer (minus 0x200) to the version string at 0x20E.
    if len(data) > 0x210 and data[0x202:0x206] == b"HdrS":
        (pointer,) = struct.unpack_from("<H", data, 0x20E)
        where = pointer + 0x200
        if pointer and where < len(data):
            end = data.find(b"\x00", where, where + 256)
            if end > where:
                yield where, b"Linux version " + data[where:end]
    if data.startswith(_UIMAGE_MAGIC) and len(data) > _UIMAGE_HEADER:
        size = struct.unpack_from(">I", data, 12)[0]
        compression = data[31]
        payload = data[_UIMAGE_HEADER : _UIMAGE_HEADER + size]
        if compression != 0:  # an uncompressed payload was scanned with the file
            unpacked = _decompress(compression, payload)
            if unpacked:
                yield _UIMAGE_HEADER, unpacked


def _decompress(kind: int, payload: bytes) -> bytes:
    """Up to MAX_KERNEL_BYTES of a uImage payload; b'' if the method is unknown or it fails."""
    try:
        if kind == 1:  # gzip
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload, MAX_KERNEL_BYTES)
        if kind == 2:  # bzip2
            return bz2.BZ2Decompressor().decompress(payload, MAX_KERNEL_BYTES)
        if kind == 3:  # lzma (legacy .lzma; an xz stream is read too)
            return lzma.LZMADecompressor().decompress(payload, MAX_KERNEL_BYTES)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError):
        return b""
    return b""


_SHF_EXECINSTR = 0x4
_SHT_NOBITS = 8


def _data_ranges(data: bytes) -> list[tuple[int, int]] | None:
    """The parts of an ELF file that can hold strings: every section but code and .bss.

    Machine code is most of a binary and never holds a version string, so skipping it halves
    the scan. None (scan everything) for anything else, or an ELF file whose section headers
    are missing (sstrip) or do not add up.
    """
    if not data.startswith(b"\x7fELF") or len(data) < 64:
        return None
    bits, order = data[4], data[5]
    if bits not in (1, 2) or order not in (1, 2):
        return None
    endian = "<" if order == 1 else ">"
    try:
        if bits == 1:
            shoff, shentsize, shnum = (
                struct.unpack_from(endian + "I", data, 0x20)[0],
                *struct.unpack_from(endian + "HH", data, 0x2E),
            )
            layout, wanted = endian + "IIIIII", 24
        else:
            shoff, shentsize, shnum = (
                struct.unpack_from(endian + "Q", data, 0x28)[0],
                *struct.unpack_from(endian + "HH", data, 0x3A),
            )
            layout, wanted = endian + "IIQQQQ", 40
        if not shoff or not shnum or shentsize < wanted or shoff + shnum * shentsize > len(data):
            return None
        ranges = []
        for index in range(shnum):
            _name, kind, flags, _addr, offset, size = struct.unpack_from(
                layout, data, shoff + index * shentsize
            )
            if kind in (0, _SHT_NOBITS) or flags & _SHF_EXECINSTR or not size:
                continue
            if offset + size > len(data):
                return None
            ranges.append((offset, offset + size))
    except struct.error:
        return None
    if not ranges:
        return None
    ranges.sort()
    merged = [ranges[0]]
    for lo, hi in ranges[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
