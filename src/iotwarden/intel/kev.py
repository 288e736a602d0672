"""The CISA Known Exploited Vulnerabilities catalog, in its JSON and CSV forms."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from iotwarden.core.errors import DocumentError
from iotwarden.core.identifiers import CVE_ID
from iotwarden.core.models import AdvisoryFormat, KevEntry
from iotwarden.intel.interface import (
    AdvisoryParser,
    InputDocument,
    ParseOutcome,
    Sniff,
    opened,
)
from iotwarden.intel.reading import (
    expect_list,
    iter_json_items,
    parse_date,
    top_level_scalars,
)

SOURCE = "cisa-kev"
_CWE_SPLIT = re.compile(r"\s*,\s*")


class _EntryError(Exception):
    """A field of one catalog entry is wrong: the field name and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _entry(
    values: Mapping[str, Any], cwes: tuple[str, ...], catalog_version: str | None, origin: str
) -> KevEntry:
    """Build a KevEntry from one catalog row (JSON object or CSV row, same field names).

    cveID and dateAdded are required (they are what a KEV entry asserts); the other fields are
    read when present. Empty text is read as absent so both forms give equal entries.
    """
    cve_id = values.get("cveID")
    if cve_id is None or cve_id == "":
        raise _EntryError("cveID", "required field is missing")
    if not isinstance(cve_id, str):
        raise _EntryError("cveID", f"expected a string, found {type(cve_id).__name__}")
    cve_id = cve_id.strip()
    if not CVE_ID.match(cve_id):
        raise _EntryError("cveID", f"not a CVE id: {cve_id!r}")
    date_added = _date(values, "dateAdded", origin)
    if date_added is None:
        raise _EntryError("dateAdded", "required field is missing")
    return KevEntry(
        cve_id=cve_id,
        date_added=date_added,
        vendor_project=_text(values, "vendorProject"),
        product=_text(values, "product"),
        name=_text(values, "vulnerabilityName"),
        description=_text(values, "shortDescription"),
        required_action=_text(values, "requiredAction"),
        due_date=_date(values, "dueDate", origin),
        ransomware=_text(values, "knownRansomwareCampaignUse"),
        notes=_text(values, "notes"),
        cwes=cwes,
        source=SOURCE,
        catalog_version=catalog_version,
    )


def _text(values: Mapping[str, Any], field: str) -> str | None:
    value = values.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _EntryError(field, f"expected a string, found {type(value).__name__}")
    return value.strip() or None


def _date(values: Mapping[str, Any], field: str, origin: str) -> dt.date | None:
    value = values.get(field)
    if isinstance(value, str):
        value = value.strip()
    try:
        return parse_date(value, origin, field)
    except DocumentError as e:
        raise _EntryError(field, e.message) from e


class KevJsonParser(AdvisoryParser):
    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.KEV
    title: ClassVar[str] = "CISA KEV (JSON)"
    description: ClassVar[str] = (
        "The CISA Known Exploited Vulnerabilities catalog as JSON "
        "(known_exploited_vulnerabilities.json): one KEV entry per listed vulnerability, with "
        "the date added, the due date and required action, ransomware use, notes and CWEs, "
        "tagged with the catalog version. The vulnerabilities list is streamed when large."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object":
            return False
        keys = sniff.top_keys
        return "catalogVersion" in keys or (
            "vulnerabilities" in keys and ("dateReleased" in keys or "count" in keys)
        )

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        origin = doc.origin
        items: Iterator[tuple[int, Any]]
        if sniff.document is not None:
            if not isinstance(sniff.document, dict):
                raise DocumentError(origin, "$", "expected the KEV catalog object")
            catalog_version = sniff.document.get("catalogVersion")
            listed = sniff.document.get("vulnerabilities")
            if listed is None:
                raise DocumentError(origin, "$.vulnerabilities", "required field is missing")
            items = enumerate(expect_list(listed, origin, "$.vulnerabilities"))
        else:
            # catalogVersion comes before the list in CISA's files; read on if it does not
            scalars = top_level_scalars(doc, stop_at="vulnerabilities")
            if "catalogVersion" not in scalars:
                scalars = top_level_scalars(doc)
            catalog_version = scalars.get("catalogVersion")
            items = iter_json_items(doc, "vulnerabilities.item", "$.vulnerabilities")
        if catalog_version is not None and not isinstance(catalog_version, str):
            catalog_version = str(catalog_version)
        for index, item in items:
            path = f"$.vulnerabilities[{index}]"
            if not isinstance(item, dict):
                yield DocumentError(origin, path, "expected an object")
                continue
            cwes = item.get("cwes")
            if cwes is None:
                cwes = []
            if not isinstance(cwes, list) or not all(isinstance(c, str) for c in cwes):
                yield DocumentError(origin, f"{path}.cwes", "expected an array of strings")
                continue
            try:
                yield _entry(item, tuple(c for c in cwes if c), catalog_version, origin)
            except _EntryError as e:
                yield DocumentError(origin, f"{path}.{e.field}", e.message)


class KevCsvParser(AdvisoryParser):
    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.KEV
    title: ClassVar[str] = "CISA KEV (CSV)"
    description: ClassVar[str] = (
        "The CISA Known Exploited Vulnerabilities catalog as CSV "
        "(known_exploited_vulnerabilities.csv): one KEV entry per row, with the same fields as "
        "the JSON form (the CSV carries no catalog version). Rows are streamed; a bad row is "
        "reported with its line number and the rest is read."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        return sniff.kind == "csv" and "cveID" in sniff.header and "vendorProject" in sniff.header

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        origin = doc.origin
        with opened(doc) as fh:
            # surrogateescape: a row with bytes that are not UTF-8 is reported, not fatal
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.reader(text)
            try:
                header = next(reader, None)
            except csv.Error as e:
                raise DocumentError(origin, "line 1", f"invalid CSV: {e}") from e
            if not header or "cveID" not in header:
                raise DocumentError(origin, "line 1", "the header has no cveID column")
            columns = [name.strip() for name in header]
            line = reader.line_num  # the row read next starts on the line after this one
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    yield DocumentError(origin, f"line {line + 1}", f"invalid CSV: {e}")
                    break  # the reader cannot resynchronise after a quoting error
                where = f"line {line + 1}"
                line = reader.line_num
                if not row or not any(row):
                    continue  # a blank line
                yield from _csv_row(columns, row, origin, where)


def _csv_row(columns: list[str], row: list[str], origin: str, where: str) -> Iterator[ParseOutcome]:
    if len(row) > len(columns):
        yield DocumentError(
            origin, where, f"the row has {len(row)} fields, the header {len(columns)}"
        )
        return
    for column, value in zip(columns, row, strict=False):
        if not _is_utf8(value):
            yield DocumentError(origin, where, f"{column}: not UTF-8 encoded text")
            return
    values = dict(zip(columns, row, strict=False))
    cwes = tuple(c for c in _CWE_SPLIT.split(values.get("cwes", "").strip()) if c)
    try:
        yield _entry(values, cwes, None, origin)
    except _EntryError as e:
        yield DocumentError(origin, where, f"{e.field}: {e.message}")


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
