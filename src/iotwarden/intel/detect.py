"""Format detection: look at the top of a document (reading small ones whole, streaming large
ones only as far as a deciding key) and pick the parser that accepts it."""

from __future__ import annotations

import csv
import io
from typing import Any

import ijson

from iotwarden.core.errors import DocumentError, UnknownFormatError
from iotwarden.intel.interface import UTF8_BOM, AdvisoryParser, InputDocument, Sniff, opened
from iotwarden.intel.reading import (
    STREAM_ERRORS,
    is_top_level_scalar,
    parse_json_bytes,
    read_upto,
    stream_error,
)

#: Documents up to this size are read whole once and handed to the parser already parsed.
WHOLE_READ_LIMIT = 8 * 1024 * 1024

# A top-level key that, once seen, tells the format: stop streaming there.
_DECIDING_KEYS = frozenset(
    {
        "document",  # CSAF
        "cveMetadata",  # CVE JSON 5
        "dataType",
        "catalogVersion",  # CISA KEV
        "resultsPerPage",  # NVD API 2.0 response
        "vulnStatus",  # NVD single record
        "sourceIdentifier",
        "modified",  # OSV (NVD says lastModified)
    }
)


def sniff(doc: InputDocument) -> Sniff:
    """Describe the document's shape. Raises DocumentError for empty or undecodable input."""
    if doc.data is not None and len(doc.data) <= WHOLE_READ_LIMIT:
        head = doc.data[3:] if doc.data.startswith(UTF8_BOM) else doc.data
    else:
        try:
            with opened(doc) as fh:
                head = read_upto(fh, WHOLE_READ_LIMIT, doc.size)
        except STREAM_ERRORS as e:
            raise DocumentError(doc.origin, "", f"cannot be read: {stream_error(e)}") from e
    stripped = head.lstrip()
    if not stripped:
        raise DocumentError(doc.origin, "", "the document is empty")
    first = stripped[:1]
    if first in (b"{", b"["):
        if len(head) <= WHOLE_READ_LIMIT:
            return _sniff_loaded(parse_json_bytes(doc.origin, head))
        return _sniff_stream(doc)
    return _sniff_text(doc.origin, head)


def _sniff_loaded(value: Any) -> Sniff:
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
        return Sniff(
            kind="json-object", top_keys=frozenset(value), top_scalars=scalars, document=value
        )
    if isinstance(value, list):
        first_keys = frozenset(value[0]) if value and isinstance(value[0], dict) else frozenset()
        return Sniff(kind="json-array", first_item_keys=first_keys, document=value)
    return Sniff(kind="unknown", document=value)


def _sniff_stream(doc: InputDocument) -> Sniff:
    keys: set[str] = set()
    scalars: dict[str, object] = {}
    item_keys: set[str] = set()
    kind = "unknown"
    try:
        with opened(doc) as fh:
            for prefix, event, value in ijson.parse(fh, use_float=True):
                if prefix == "" and event == "start_map":
                    kind = "json-object"
                elif prefix == "" and event == "start_array":
                    kind = "json-array"
                elif kind == "json-object" and prefix == "" and event == "map_key":
                    keys.add(value)
                    if value in _DECIDING_KEYS:
                        break
                elif kind == "json-object" and is_top_level_scalar(prefix, event):
                    scalars[prefix] = value
                elif kind == "json-array":
                    if prefix == "item" and event == "map_key":
                        item_keys.add(value)
                    elif prefix == "item" and event == "end_map":
                        break
    except ijson.JSONError as e:
        raise DocumentError(doc.origin, "$", f"invalid JSON: {e}") from e
    except STREAM_ERRORS as e:
        raise DocumentError(doc.origin, "", f"cannot be read: {stream_error(e)}") from e
    return Sniff(
        kind=kind,
        top_keys=frozenset(keys),
        top_scalars=scalars,
        first_item_keys=frozenset(item_keys),
    )


def _sniff_text(origin: str, head: bytes) -> Sniff:
    try:
        text = head[:65536].decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:65536].decode("latin-1")
        except UnicodeDecodeError as e:  # pragma: no cover - latin-1 decodes every byte
            raise DocumentError(origin, "", "neither JSON nor text") from e
    if "\x00" in text:
        raise UnknownFormatError(origin, "", "binary data, not an advisory document")
    lines = [line for line in text.splitlines() if line.strip()]
    header_line = next((ln for ln in lines if not ln.lstrip().startswith("#")), "")
    header: tuple[str, ...] = ()
    if "," in header_line:
        header = tuple(h.strip() for h in next(csv.reader(io.StringIO(header_line))))
    return Sniff(kind="csv" if header else "unknown", header=header)


def choose_parser(
    doc: InputDocument, found: Sniff, parsers: list[type[AdvisoryParser]]
) -> type[AdvisoryParser]:
    for parser in parsers:
        if parser.accepts(found):
            return parser
    raise UnknownFormatError(doc.origin, "", describe_unknown(found))


def describe_unknown(found: Sniff) -> str:
    known = (
        "OSV, CSAF 2.0/2.1, CVE JSON 5, NVD API 2.0, CISA KEV (JSON/CSV), FIRST EPSS (CSV), "
        "OpenVEX, CycloneDX VEX"
    )
    if found.kind == "json-object":
        keys = ", ".join(sorted(found.top_keys)[:8]) or "none"
        return f"unknown format: a JSON object with top-level keys {keys}; expected one of {known}"
    if found.kind == "json-array":
        return (
            "unknown format: a JSON array whose first element is not an OSV record; "
            f"expected {known}"
        )
    if found.kind == "csv":
        return f"unknown format: CSV with columns {', '.join(found.header[:8])}; expected {known}"
    return f"unknown format: neither JSON nor CSV; expected one of {known}"
