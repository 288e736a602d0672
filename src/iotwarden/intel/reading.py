"""Reading helpers shared by the parsers: bounded JSON loading, streaming of large arrays,
typed field access that reports the JSON path of whatever is wrong, and date parsing."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zlib
from collections.abc import Iterator
from typing import IO, Any

import ijson
import orjson

from iotwarden.core.errors import DocumentError, InputError
from iotwarden.core.settings import settings
from iotwarden.intel.interface import InputDocument, Sniff, opened

JsonObject = dict[str, Any]

#: What reading a (possibly compressed) stream can raise; see stream_error.
STREAM_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError)


def jp(base: str, *parts: str | int) -> str:
    """Extend a JSON path: jp('$.a', 'b', 0) == '$.a.b[0]'."""
    out = base
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_upto(fh: IO[bytes], limit: int, size_hint: int | None = None) -> bytes:
    """Read at most ``limit`` + 1 bytes, never asking the reader for much more than the
    document holds (a buffered read allocates all it is asked for up front)."""
    chunks: list[bytes] = []
    total = 0
    step = size_hint + 1 if size_hint is not None else _STEP
    while total <= limit:
        piece = fh.read(min(step, limit + 1 - total))
        if not piece:
            fh.read(1)  # surfaces a truncation that the reader held back at end of data
            break
        chunks.append(piece)
        total += len(piece)
        step = _STEP
    return b"".join(chunks)


_STEP = 1024 * 1024


def read_bounded(doc: InputDocument, limit: int | None = None) -> bytes:
    """Read a whole document, refusing more than ``limit`` bytes (default: settings)."""
    limit = limit if limit is not None else settings().max_document_bytes
    if doc.data is not None and len(doc.data) <= limit:
        return doc.data
    try:
        with opened(doc) as fh:
            data = read_upto(fh, limit, doc.size)
    except STREAM_ERRORS as e:
        raise InputError(doc.origin, f"cannot be read: {stream_error(e)}") from e
    if len(data) > limit:
        raise DocumentError(
            doc.origin,
            "",
            f"document is larger than {limit // (1024 * 1024)} MiB and is not in a streamable "
            "form (a JSON array or an NVD/KEV list); raise IOTWARDEN_MAX_DOCUMENT_MB to read it",
        )
    return data


def load_json(doc: InputDocument, limit: int | None = None) -> Any:
    """Load a whole JSON document (bounded), with a clear error for invalid JSON."""
    data = read_bounded(doc, limit)
    return parse_json_bytes(doc.origin, data)


def whole_json(doc: InputDocument, sniff: Sniff) -> Any:
    """The document's JSON value: from detection when it was read there, else loaded (bounded)."""
    if sniff.document is not None:
        return sniff.document
    return load_json(doc)


def parse_json_bytes(origin: str, data: bytes) -> Any:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if isinstance(e.__cause__, UnicodeDecodeError) or "utf-8" in str(e).lower():
            raise DocumentError(origin, "$", "not UTF-8 encoded JSON") from e
        raise DocumentError(origin, "$", f"invalid JSON: {e}") from e


def iter_json_items(doc: InputDocument, prefix: str, path: str) -> Iterator[tuple[int, Any]]:
    """Stream the elements of the array at ijson ``prefix`` (e.g. 'vulnerabilities.item'),
    yielding (index, element). Memory stays bounded by one element."""
    index = -1
    try:
        with opened(doc) as fh:
            for index, item in enumerate(ijson.items(fh, prefix, use_float=True)):
                yield index, item
    except ijson.JSONError as e:
        raise DocumentError(doc.origin, jp(path, index + 1), f"invalid JSON: {e}") from e
    except STREAM_ERRORS as e:
        raise InputError(doc.origin, f"cannot be read: {stream_error(e)}") from e


_SCALAR_EVENTS = frozenset({"string", "number", "boolean", "null"})


def is_top_level_scalar(prefix: str, event: str) -> bool:
    """Is this ijson event a scalar member of the top-level object ('catalogVersion': ...)?"""
    return bool(prefix) and "." not in prefix and event in _SCALAR_EVENTS


def top_level_scalars(doc: InputDocument, stop_at: str | None = None) -> dict[str, Any]:
    """The scalar members of a top-level JSON object, read as a stream (stops at ``stop_at``'s
    value when given and everything wanted was seen before it)."""
    found: dict[str, Any] = {}
    try:
        with opened(doc) as fh:
            for prefix, event, value in ijson.parse(fh, use_float=True):
                if is_top_level_scalar(prefix, event):
                    found[prefix] = value
                if stop_at is not None and prefix == stop_at and event == "start_array":
                    break
    except ijson.JSONError as e:
        raise DocumentError(doc.origin, "$", f"invalid JSON: {e}") from e
    except STREAM_ERRORS as e:
        raise InputError(doc.origin, f"cannot be read: {stream_error(e)}") from e
    return found


def stream_error(e: BaseException) -> str:
    """A reader's words for one of STREAM_ERRORS."""
    if isinstance(e, EOFError):
        return "truncated (compressed stream ended early)"
    if isinstance(e, gzip.BadGzipFile | zlib.error):
        return f"corrupt compressed data ({e})"
    return str(e) or type(e).__name__


def raw_bytes(obj: Any) -> bytes:
    """The canonical bytes of a JSON value: what we store and hash for lossless keeping."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


# --- typed access -----------------------------------------------------------------------------


def expect_object(value: Any, origin: str, path: str) -> JsonObject:
    if not isinstance(value, dict):
        raise DocumentError(origin, path, f"expected an object, found {describe_kind(value)}")
    return value


def expect_list(value: Any, origin: str, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise DocumentError(origin, path, f"expected an array, found {describe_kind(value)}")
    return value


def req_str(obj: JsonObject, key: str, origin: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        raise DocumentError(origin, jp(path, key), "required field is missing")
    if not isinstance(value, str):
        raise DocumentError(
            origin, jp(path, key), f"expected a string, found {describe_kind(value)}"
        )
    return value


def opt_str(obj: JsonObject, key: str, origin: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DocumentError(
            origin, jp(path, key), f"expected a string, found {describe_kind(value)}"
        )
    return value


def opt_list(obj: JsonObject, key: str, origin: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    return expect_list(value, origin, jp(path, key))


def opt_object(obj: JsonObject, key: str, origin: str, path: str) -> JsonObject:
    value = obj.get(key)
    if value is None:
        return {}
    return expect_object(value, origin, jp(path, key))


def opt_number(obj: JsonObject, key: str, origin: str, path: str) -> float | None:
    """An optional JSON number (a boolean is not one), as a float."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DocumentError(
            origin, jp(path, key), f"expected a number, found {describe_kind(value)}"
        )
    return float(value)


def describe_kind(value: Any) -> str:
    """What a JSON value is, for error messages: 'an object', 'a string', 'null', ..."""
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(value: Any, origin: str, path: str) -> dt.datetime | None:
    """Parse an RFC 3339 / ISO 8601 timestamp (or a bare date) into an aware UTC datetime."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DocumentError(
            origin, path, f"expected a date-time string, found {describe_kind(value)}"
        )
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        text = text.replace("Z", "+00:00").replace("z", "+00:00")
        # '+0000' (EPSS, some feeds) -> '+00:00'
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise DocumentError(origin, path, f"not a valid date-time: {value!r}") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_date(value: Any, origin: str, path: str) -> dt.date | None:
    stamp = parse_datetime(value, origin, path)
    return stamp.date() if stamp else None
