"""Fleet inventory kept as tables: CSV files (one kind of record per file) and JSON documents
with products, firmware builds and devices, as owners export them from an asset register."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ijson

from iotwarden.core.fleet import (
    BuildComponents,
    BuildRef,
    Component,
    Criticality,
    Device,
    FirmwareBuild,
    Product,
    ProductRef,
)
from iotwarden.core.identifiers import IdentifierError, parse_cpe, parse_purl
from iotwarden.fleet.interface import (
    ImportFileError,
    ImportOutcome,
    InventoryImporter,
    Located,
    RecordError,
)

logger = logging.getLogger(__name__)

_CRITICALITIES = ", ".join(c.value for c in Criticality)
_FLAGS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Fields:
    """The values of one record (a CSV row or a JSON object) read into typed fields.

    A reader returns None (or the field's default) for a bad value and notes the field and
    the message; the caller reports each note and drops the record, because storing it
    without the bad value would overwrite what the store knows."""

    def __init__(self, values: Mapping[str, Any], *, from_json: bool) -> None:
        self._values = values
        self._from_json = from_json
        #: (field, message) for each bad value; field may carry an index: 'model_numbers[1]'.
        self.errors: list[tuple[str, str]] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append((key, message))

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self._values.get(key)
        if value is not None and not isinstance(value, str):
            hint = f" (quote it: {json.dumps(str(value))})" if _is_number(value) else ""
            self.fail(key, f"{key} must be a string, found {_describe(value)}{hint}")
            return None
        text = value.strip() if value else None
        if not text:
            if required:
                self.fail(key, f"{key} is required")
            return None
        return text

    def lower(self, key: str) -> str | None:
        value = self.text(key)
        return value.lower() if value else None

    def criticality(self, key: str) -> Criticality | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return Criticality(value.lower())
        except ValueError:
            self.fail(key, f"{key} must be one of {_CRITICALITIES}, found {value!r}")
            return None

    def flag(self, key: str) -> bool:
        if self._from_json:
            value = self._values.get(key)
            if value is None or isinstance(value, bool):
                return bool(value)
            self.fail(key, f"{key} must be true or false, found {_describe(value)}")
            return False
        text = self.text(key)
        if text is None:
            return False
        found = _FLAGS.get(text.lower())
        if found is None:
            self.fail(key, f"{key} must be true/false, yes/no, y/n or 1/0, found {text!r}")
            return False
        return found

    def date(self, key: str) -> dt.date | None:
        value = self.text(key)
        if value is None:
            return None
        if _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, f"{key} must be a date as YYYY-MM-DD, found {value!r}")
        return None

    def moment(self, key: str) -> dt.datetime | None:
        """An ISO 8601 date and time; without a time zone it is UTC. Returned in UTC."""
        value = self.text(key)
        if value is None:
            return None
        if _DATETIME.fullmatch(value):
            if value[-1] in "Zz":
                value = value[:-1] + "+00:00"
            try:
                moment = dt.datetime.fromisoformat(value.replace(",", "."))
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    return moment.replace(tzinfo=dt.UTC)
                return moment.astimezone(dt.UTC)
        self.fail(
            key,
            f"{key} must be an ISO 8601 date and time such as 2024-05-01T12:00:00Z, "
            f"found {self._values.get(key)!r}",
        )
        return None

    def purl(self, key: str) -> str | None:
        return self._identifier(key, parse_purl)

    def cpe(self, key: str) -> str | None:
        return self._identifier(key, parse_cpe)

    def _identifier(self, key: str, check: Callable[[str], object]) -> str | None:
        """The value as written, once ``check`` (a purl or CPE parser) accepts it."""
        value = self.text(key)
        if value is None:
            return None
        try:
            check(value)
        except IdentifierError as e:
            self.fail(key, f"{key}: {e}")
            return None
        return value

    def address(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            ipaddress.ip_address(value)
        except ValueError:
            # An all-digit top label is a mistyped IPv4 address (10.0.0.300), not a host name.
            top = value.rstrip(".").rsplit(".", 1)[-1]
            if _HOSTNAME.fullmatch(value) and not top.isdigit():
                return value
            self.fail(key, f"{key} must be an IP address or a host name, found {value!r}")
            return None
        return value

    def names(self, key: str) -> tuple[str, ...]:
        """A list of names: ';'-separated in CSV, a list of strings in JSON."""
        value = self._values.get(key)
        if not self._from_json:
            text = self.text(key) or ""
            return tuple(part.strip() for part in text.split(";") if part.strip())
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(key, f"{key} must be a list of strings, found {_describe(value)}")
            return ()
        names: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{key}[{index}]", f"{key} must hold strings, found {_describe(item)}")
            elif item.strip():
                names.append(item.strip())
        return tuple(names)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: object) -> str:
    """A JSON value as the user wrote it, for messages."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if _is_number(value):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


# One builder per record kind, shared by CSV rows and JSON objects (same field names).


def _product_ref(f: _Fields, product_key: str = "product") -> ProductRef | None:
    vendor = f.text("vendor", required=True)
    name = f.text(product_key, required=True)
    return ProductRef(vendor, name) if vendor and name else None


def _product(f: _Fields) -> Product | None:
    ref = _product_ref(f)
    model_numbers = f.names("model_numbers")
    device_class = f.text("device_class")
    sector = f.lower("sector")
    criticality = f.criticality("criticality")
    if f.errors or ref is None:
        return None
    return Product(ref, model_numbers, device_class, sector, criticality)


def _build(f: _Fields, components: tuple[Component, ...] | None) -> FirmwareBuild | None:
    ref = _product_ref(f)
    version = f.text("version", required=True)
    release_date = f.date("release_date")
    end_of_support = f.date("end_of_support")
    if release_date and end_of_support and end_of_support < release_date:
        f.fail(
            "end_of_support",
            f"end_of_support {end_of_support} is before release_date {release_date}",
        )
    if f.errors or ref is None or version is None:
        return None
    return FirmwareBuild(BuildRef(ref, version), release_date, end_of_support, components)


def _component(f: _Fields, name_key: str) -> Component | None:
    name = f.text(name_key, required=True)
    version = f.text("version")
    purl = f.purl("purl")
    cpe = f.cpe("cpe")
    supplier = f.text("supplier")
    if f.errors or name is None:
        return None
    return Component(name, version, purl, cpe, supplier)


def _device(f: _Fields) -> Device | None:
    device_id = f.text("device_id", required=True)
    ref = _product_ref(f)
    device = Device(
        device_id=device_id or "",
        product=ref or ProductRef("", ""),
        firmware_version=f.text("firmware_version"),
        owner=f.text("owner"),
        owner_contact=f.text("owner_contact"),
        sector=f.lower("sector"),
        site=f.text("site"),
        criticality=f.criticality("criticality"),
        internet_exposed=f.flag("internet_exposed"),
        address=f.address("address"),
        last_seen=f.moment("last_seen"),
    )
    return None if f.errors else device


class _Seen:
    """Where each product, build or device was first read in one file (to name it again)."""

    def __init__(self) -> None:
        self._first: dict[object, str] = {}

    def again(self, key: object, where: str) -> str | None:
        """Where ``key`` was first seen when this is a repeat, else None (and remember it)."""
        first = self._first.setdefault(key, where)
        if first == where:
            return None
        return f"first on {first}" if first.startswith("line") else f"first at {first}"


def _duplicate(record: Product | FirmwareBuild | Device, seen: _Seen, where: str) -> str | None:
    """The message for a record that repeats an earlier one in the same file, else None."""
    if isinstance(record, Product):
        first = seen.again(("product", record.ref.key), where)
        return f"product {record.ref} appears again ({first})" if first else None
    if isinstance(record, FirmwareBuild):
        key = ("build", record.ref.product.key, record.ref.version)
        first = seen.again(key, where)
        return f"firmware build {record.ref} appears again ({first})" if first else None
    first = seen.again(("device", record.device_id), where)
    return f"device_id {record.device_id!r} appears again ({first})" if first else None


def _read_text(origin: str, path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportFileError(origin, f"cannot read the file: {e.strerror or e}") from e
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = bom + e.start  # in the file, as a hex editor shows it
        line = data[:offset].count(b"\n") + 1
        raise ImportFileError(
            origin,
            f"not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); "
            "save the file as UTF-8 and import it again",
            where=f"line {line}",
        ) from e


# ---------------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class _Kind:
    """One kind of CSV file: its columns (in documentation order) and the required ones."""

    name: str
    columns: tuple[str, ...]
    required: frozenset[str]


_PRODUCTS = _Kind(
    "products",
    ("vendor", "product", "model_numbers", "device_class", "sector", "criticality"),
    frozenset({"vendor", "product"}),
)
_BUILDS = _Kind(
    "builds",
    ("vendor", "product", "version", "release_date", "end_of_support"),
    frozenset({"vendor", "product", "version"}),
)
_COMPONENTS = _Kind(
    "components",
    ("vendor", "product", "firmware_version", "component", "version", "purl", "cpe", "supplier"),
    frozenset({"vendor", "product", "firmware_version", "component"}),
)
_DEVICES = _Kind(
    "devices",
    (
        "device_id",
        "vendor",
        "product",
        "firmware_version",
        "owner",
        "owner_contact",
        "sector",
        "site",
        "criticality",
        "internet_exposed",
        "address",
        "last_seen",
    ),
    frozenset({"device_id", "vendor", "product"}),
)
_KINDS = (_PRODUCTS, _BUILDS, _COMPONENTS, _DEVICES)


def _build_without_components(f: _Fields) -> FirmwareBuild | None:
    return _build(f, None)  # a builds table says nothing of components


_MAKERS: dict[str, Callable[[_Fields], Product | FirmwareBuild | Device | None]] = {
    "products": _product,
    "builds": _build_without_components,
    "devices": _device,
}


def _column_name(cell: str) -> str:
    """'Device ID', 'device-id' and 'DEVICE_ID' all name the column device_id."""
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _csv_kind(columns: Sequence[str]) -> tuple[_Kind, list[str]] | None:
    """The kind whose required columns the header has and which leaves the fewest columns
    unknown (ties go to the kind with more required columns: it is the more specific), with
    the unknown columns; None when no kind's required columns are all there."""
    named = {c for c in columns if c}
    candidates = [
        (len(named - set(kind.columns)), -len(kind.required), index, kind)
        for index, kind in enumerate(_KINDS)
        if kind.required <= named
    ]
    if not candidates:
        return None
    kind = min(candidates)[3]
    return kind, [c for c in columns if c and c not in kind.columns]


def _rows(origin: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the row starts, cells) for each non-blank row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ImportFileError(origin, f"malformed CSV: {e}", where=f"line {line}") from e
        if any(cell.strip() for cell in cells):
            yield line, cells


@dataclass
class _Group:
    """The component rows of one firmware build in a components file."""

    build: BuildRef
    where: str
    components: list[Component] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)


class CsvInventoryImporter(InventoryImporter):
    """Inventory CSV: one kind of record per file (products, builds, components or devices),
    recognised by its header row."""

    name: ClassVar[str] = "inventory-csv"
    title: ClassVar[str] = "Inventory CSV"
    description: ClassVar[str] = (
        "CSV files of products (vendor, product, model_numbers, device_class, sector, "
        "criticality), firmware builds (vendor, product, version, release_date, "
        "end_of_support), build components (vendor, product, firmware_version, component, "
        "version, purl, cpe, supplier) or devices (device_id, vendor, product, "
        "firmware_version, owner, owner_contact, sector, site, criticality, internet_exposed, "
        "address, last_seen). The header row says which; column names are case-insensitive."
    )

    @classmethod
    def accepts(cls, path: Path, head: bytes) -> bool:
        # A header with every required column of a kind is ours even with unknown columns
        # besides: read() then names them, which helps more than "no importer for this file".
        if path.suffix.lower() != ".csv":
            return False
        text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
        try:
            first = next(_rows(str(path), text), None)
        except ImportFileError:
            return False
        return first is not None and _csv_kind([_column_name(c) for c in first[1]]) is not None

    def read(self, path: Path, build: BuildRef | None = None) -> Iterator[ImportOutcome]:
        origin = str(path)
        rows = _rows(origin, _read_text(origin, path))
        first = next(rows, None)
        if first is None:
            raise ImportFileError(
                origin, "the file is empty: it needs a header row naming its columns"
            )
        header_line, header = first
        columns = [_column_name(cell) for cell in header]
        where = f"line {header_line}"
        repeated = sorted({c for c in columns if c and columns.count(c) > 1})
        if repeated:
            raise ImportFileError(
                origin, f"the header names {_quoted(repeated)} more than once", where=where
            )
        found = _csv_kind(columns)
        if found is None:
            kinds = "; ".join(f"{k.name}: {', '.join(sorted(k.required))}" for k in _KINDS)
            raise ImportFileError(
                origin,
                f"the header ({', '.join(c for c in columns if c)}) is not an inventory table; "
                f"the required columns are, per kind of file, {kinds}",
                where=where,
            )
        kind, unknown = found
        if unknown:
            raise ImportFileError(
                origin,
                f"unknown column(s) {_quoted(unknown)} in a {kind.name} file; "
                f"its columns are {', '.join(kind.columns)}",
                where=where,
            )
        logger.debug("%s: a %s table", origin, kind.name)
        if kind is _COMPONENTS:
            yield from self._grouped(origin, columns, rows)
        else:
            yield from self._records(origin, _MAKERS[kind.name], columns, rows)

    def _values(
        self, origin: str, columns: list[str], line: int, cells: list[str]
    ) -> tuple[_Fields | None, list[RecordError]]:
        where = f"line {line}"
        if len(cells) != len(columns):
            message = f"the row has {len(cells)} values but the header has {len(columns)} columns"
            return None, [RecordError(origin, where, message)]
        errors = [
            RecordError(
                origin,
                where,
                f"column {index + 1} has a value ({cells[index].strip()!r}) "
                "but no name in the header",
            )
            for index, name in enumerate(columns)
            if not name and cells[index].strip()
        ]
        values = {name: cell for name, cell in zip(columns, cells, strict=True) if name}
        return _Fields(values, from_json=False), errors

    def _records(
        self,
        origin: str,
        make: Callable[[_Fields], Product | FirmwareBuild | Device | None],
        columns: list[str],
        rows: Iterator[tuple[int, list[str]]],
    ) -> Iterator[ImportOutcome]:
        seen = _Seen()
        for line, cells in rows:
            where = f"line {line}"
            fields, errors = self._values(origin, columns, line, cells)
            yield from errors
            if fields is None:
                continue
            record = make(fields)
            for _key, message in fields.errors:
                yield RecordError(origin, where, message)
            if record is None or errors:
                continue
            repeat = _duplicate(record, seen, where)
            if repeat:
                yield RecordError(origin, where, repeat)
            else:
                yield Located(record, origin, where)

    def _grouped(
        self, origin: str, columns: list[str], rows: Iterator[tuple[int, list[str]]]
    ) -> Iterator[ImportOutcome]:
        # BuildComponents replaces a build's stored components, so a build with one bad row
        # is held back whole rather than stored short of that component.
        groups: dict[tuple[tuple[str, str], str], _Group] = {}
        for line, cells in rows:
            where = f"line {line}"
            fields, errors = self._values(origin, columns, line, cells)
            yield from errors
            if fields is None:
                continue
            ref = _product_ref(fields)
            version = fields.text("firmware_version", required=True)
            component = _component(fields, "component")
            group = None
            if ref is not None and version is not None:
                build = BuildRef(ref, version)
                group = groups.setdefault((ref.key, version), _Group(build, where))
            for _key, message in fields.errors:
                yield RecordError(origin, where, message)
            if group is None:
                continue
            if component is None or errors:
                group.bad_lines.append(line)
            else:
                group.components.append(component)
        for group in groups.values():
            if group.bad_lines:
                lines = ", ".join(str(n) for n in group.bad_lines)
                message = (
                    f"the components of firmware build {group.build} are not imported: "
                    f"fix line(s) {lines} first"
                )
                yield RecordError(origin, group.where, message)
            else:
                record = BuildComponents(group.build, tuple(group.components))
                yield Located(record, origin, group.where)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


# --------------------------------------------------------------------------------------- JSON

_SECTIONS = ("products", "firmware_builds", "devices")
_SBOM_MARKERS = frozenset({"bomFormat", "spdxVersion"})
_JSON_KEYS = {
    "products": frozenset(_PRODUCTS.columns),
    "firmware_builds": frozenset(_BUILDS.columns) | {"components"},
    "devices": frozenset(_DEVICES.columns),
}
_COMPONENT_KEYS = frozenset({"name", "version", "purl", "cpe", "supplier"})


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers the keys it held more than once (json keeps the last)."""

    repeated: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        keys = [key for key, _ in pairs]
        obj.repeated = tuple(sorted({key for key in keys if keys.count(key) > 1}))
    return obj


def _path(base: str, key: str) -> str:
    return f"{base}.{key}" if _IDENTIFIER.fullmatch(key) else f"{base}[{json.dumps(key)}]"


def _key_errors(
    origin: str, obj: Mapping[str, Any], allowed: frozenset[str], where: str
) -> list[RecordError]:
    """Unknown and repeated keys of one object: each would lose data if ignored."""
    errors = [
        RecordError(origin, _path(where, key), f"key {key!r} appears more than once")
        for key in getattr(obj, "repeated", ())
    ]
    errors += [
        RecordError(
            origin,
            _path(where, key),
            f"unknown key {key!r}; the known keys are {', '.join(sorted(allowed))}",
        )
        for key in obj
        if key not in allowed
    ]
    return errors


def _field_errors(origin: str, fields: _Fields, where: str) -> list[RecordError]:
    return [RecordError(origin, f"{where}.{key}", message) for key, message in fields.errors]


def _top_level_keys(head: bytes) -> set[str]:
    """The keys of the top-level object that the first bytes of a document show."""
    keys: set[str] = set()
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(head.removeprefix(codecs.BOM_UTF8))):
            if prefix == "" and event == "map_key":
                keys.add(value)
            elif prefix == "" and event != "start_map" and not keys:
                return keys  # not an object
    except (ijson.JSONError, UnicodeDecodeError, ValueError):
        pass  # the head ends mid-document (or is not JSON): judge by what came before
    return keys


class JsonInventoryImporter(InventoryImporter):
    """Inventory JSON: one document with lists of products, firmware builds (with their
    components) and devices."""

    name: ClassVar[str] = "inventory-json"
    title: ClassVar[str] = "Inventory JSON"
    description: ClassVar[str] = (
        'A JSON object with "products", "firmware_builds" and/or "devices" lists; the records '
        "have the fields of the CSV tables, a firmware build may list its components (name, "
        "version, purl, cpe, supplier), model_numbers is a list and internet_exposed a boolean."
    )

    @classmethod
    def accepts(cls, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".json":
            return False
        keys = _top_level_keys(head)
        return bool(keys & set(_SECTIONS)) and not keys & _SBOM_MARKERS

    def read(self, path: Path, build: BuildRef | None = None) -> Iterator[ImportOutcome]:
        origin = str(path)
        text = _read_text(origin, path)
        try:
            document = json.loads(text, object_pairs_hook=_json_object)
        except json.JSONDecodeError as e:
            raise ImportFileError(
                origin, f"invalid JSON: {e.msg}", where=f"line {e.lineno}, column {e.colno}"
            ) from e
        except RecursionError as e:
            raise ImportFileError(origin, "invalid JSON: nested too deeply") from e
        expected = ", ".join(f'"{s}"' for s in _SECTIONS)
        if not isinstance(document, dict):
            raise ImportFileError(
                origin, f"expected an object with {expected}, found {_describe(document)}"
            )
        if document.keys() & _SBOM_MARKERS:
            raise ImportFileError(
                origin, "this is an SBOM (CycloneDX or SPDX), not an inventory document"
            )
        if not document.keys() & set(_SECTIONS):
            raise ImportFileError(origin, f"an inventory document has {expected}: none found")
        yield from _key_errors(origin, document, frozenset(_SECTIONS), "$")
        seen = _Seen()
        for section in _SECTIONS:
            if section not in document:
                continue
            items = document[section]
            if not isinstance(items, list):
                message = f"{section} must be a list, found {_describe(items)}"
                yield RecordError(origin, f"$.{section}", message)
                continue
            for index, item in enumerate(items):
                yield from self._item(origin, section, f"$.{section}[{index}]", item, seen)

    def _item(
        self, origin: str, section: str, where: str, item: object, seen: _Seen
    ) -> Iterator[ImportOutcome]:
        if not isinstance(item, dict):
            yield RecordError(origin, where, f"expected an object, found {_describe(item)}")
            return
        errors = _key_errors(origin, item, _JSON_KEYS[section], where)
        fields = _Fields(item, from_json=True)
        record: Product | FirmwareBuild | Device | None
        if section == "products":
            record = _product(fields)
        elif section == "devices":
            record = _device(fields)
        else:
            components, component_errors = self._components(origin, item, where)
            errors += component_errors
            record = _build(fields, components)
        errors += _field_errors(origin, fields, where)
        yield from errors
        if record is None or errors:
            return
        repeat = _duplicate(record, seen, where)
        if repeat is None:
            yield Located(record, origin, where)
        elif isinstance(record, Device):
            yield RecordError(origin, f"{where}.device_id", repeat)
        else:
            yield RecordError(origin, where, repeat)

    def _components(
        self, origin: str, build: Mapping[str, Any], where: str
    ) -> tuple[tuple[Component, ...] | None, list[RecordError]]:
        """A build's components: None when it does not say (keep what is stored)."""
        items = build.get("components")
        if items is None:
            return None, []
        if not isinstance(items, list):
            message = f"components must be a list, found {_describe(items)}"
            return None, [RecordError(origin, f"{where}.components", message)]
        components: list[Component] = []
        errors: list[RecordError] = []
        for index, item in enumerate(items):
            at = f"{where}.components[{index}]"
            if not isinstance(item, dict):
                errors.append(
                    RecordError(origin, at, f"expected an object, found {_describe(item)}")
                )
                continue
            errors += _key_errors(origin, item, _COMPONENT_KEYS, at)
            fields = _Fields(item, from_json=True)
            component = _component(fields, "name")
            errors += _field_errors(origin, fields, at)
            if component is not None:
                components.append(component)
        return tuple(components), errors
