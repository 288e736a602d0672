"""What an advisory parser is: it declares the format it reads and turns one input document
into normalised records (advisories, KEV entries, EPSS scores) or per-record errors."""

from __future__ import annotations

import contextlib
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, cast

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import Advisory, AdvisoryFormat, EpssScore, KevEntry

#: What a parser yields: a record, or the error of one record (the rest of the document goes on).
ParseOutcome = Advisory | KevEntry | EpssScore | DocumentError


@dataclass(frozen=True)
class InputDocument:
    """One document to read: a file, a member of a zip bundle, or standard input (spooled).

    ``open`` may be called more than once (streaming parsers read twice: sniff, then parse).
    """

    origin: str
    opener: Callable[[], IO[bytes]]
    size: int | None = None
    #: The content, when it is already in memory (tests, callers holding bytes).
    data: bytes | None = None
    #: Where a small zip member lies (a sources.ZipMember), so that a parsing worker process
    #: can read it itself instead of receiving its bytes.
    zip_member: object = None

    def open(self) -> IO[bytes]:
        return self.opener()

    @classmethod
    def from_bytes(cls, origin: str, data: bytes) -> InputDocument:
        return cls(origin=origin, opener=lambda: io.BytesIO(data), size=len(data), data=data)


@dataclass(frozen=True)
class Sniff:
    """What format detection saw at the top of a document, without loading it whole."""

    kind: str  # 'json-object', 'json-array', 'csv', 'unknown'
    top_keys: frozenset[str] = frozenset()
    top_scalars: dict[str, object] = field(default_factory=dict)
    first_item_keys: frozenset[str] = frozenset()  # json-array: keys of the first element
    header: tuple[str, ...] = ()  # csv: the column names
    #: The whole parsed JSON value when the document was small enough to be read whole during
    #: detection; parsers use it instead of reading the document again (see reading.whole_json).
    document: object = None


class AdvisoryParser(ABC):
    """One advisory format. Declarative attributes say what it is; ``parse`` does the work."""

    format: ClassVar[AdvisoryFormat]
    title: ClassVar[str]
    #: Documentation of what is read and how it is normalised, shown by `iotwarden intel formats`.
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def accepts(cls, sniff: Sniff) -> bool:
        """True when the sniffed document is in this parser's format."""

    @abstractmethod
    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        """Yield the document's records. Raise DocumentError when the whole document is
        unusable; yield a DocumentError for one bad record inside a stream of good ones."""


UTF8_BOM = b"\xef\xbb\xbf"


@contextlib.contextmanager
def opened(doc: InputDocument) -> Iterator[IO[bytes]]:
    """Open a document for reading, past a UTF-8 byte order mark if it has one (JSON parsers
    reject it; some Windows tools write it)."""
    raw = doc.open()
    fh = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    try:
        if fh.peek(3)[:3] == UTF8_BOM:
            fh.read(3)
        yield fh
    finally:
        fh.close()
