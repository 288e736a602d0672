"""SBOM importers: the components of one firmware build, read from CycloneDX 1.4–1.6 JSON
(validated and deserialised by cyclonedx-python-lib) and SPDX 2.2/2.3 JSON (parsed and
validated by spdx-tools)."""

from __future__ import annotations

import functools
import json
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from iotwarden.core.fleet import BuildComponents, BuildRef, Component, ProductRef
from iotwarden.core.identifiers import IdentifierError, parse_cpe, parse_purl
from iotwarden.core.settings import settings
from iotwarden.fleet.interface import (
    ImportFileError,
    ImportOutcome,
    InventoryImporter,
    Located,
    RecordError,
)

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.validation.json import JsonValidator
    from spdx_tools.spdx.validation.validation_message import ValidationMessage

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]

#: How a user names the build an SBOM describes when the SBOM does not say it.
BUILD_HINT = "pass --build 'VENDOR/PRODUCT@VERSION' to say which firmware build it describes"

CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6")
SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")

#: Validation problems named in an error message; the rest are counted.
_SHOWN_PROBLEMS = 3
_MAX_MESSAGE = 300

_JSON_OBJECT_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*\{")
_CYCLONEDX_MARKER = re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')
_SPDX_MARKER = re.compile(rb'"spdxVersion"\s*:\s*"SPDX-')


def _clip(text: str) -> str:
    # jsonschema messages repr the offending instance (a whole component tree, maybe) and
    # spdx-tools messages quote their regexes; the ends say what is wrong and with what.
    if len(text) <= _MAX_MESSAGE:
        return text
    return text[: _MAX_MESSAGE * 2 // 3] + " … " + text[-(_MAX_MESSAGE // 3) :]


def _text(value: object) -> str | None:
    """A non-empty, stripped string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _load_json(path: Path) -> JsonObject:
    origin = str(path)
    limit = settings().max_document_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise ImportFileError(
                origin,
                f"the file holds {size} bytes, more than the {limit} bytes allowed "
                "(raise IOTWARDEN_MAX_DOCUMENT_MB to read it)",
            )
        data = path.read_bytes()
    except OSError as e:
        raise ImportFileError(origin, f"cannot read the file: {e.strerror or e}") from e
    try:
        document = json.loads(data)
    except json.JSONDecodeError as e:
        raise ImportFileError(
            origin, f"not valid JSON: {e.msg}", where=f"line {e.lineno} column {e.colno}"
        ) from e
    except UnicodeDecodeError as e:
        raise ImportFileError(origin, f"not UTF-8 text: {e.reason}") from e
    if not isinstance(document, dict):
        raise ImportFileError(origin, "the document is not a JSON object", where="$")
    return document


def _vendor_product_version(
    vendor: str | None, product: str | None, version: str | None, *, origin: str, what: str
) -> BuildRef:
    missing = [
        label
        for label, value in (("vendor", vendor), ("product name", product), ("version", version))
        if value is None
    ]
    if vendor is None or product is None or version is None:
        raise ImportFileError(
            origin,
            f"the SBOM does not name its firmware build ({what} lacks: "
            f"{', '.join(missing)}); {BUILD_HINT}",
        )
    return BuildRef(ProductRef(vendor, product), version)


def _checked(component: Component, where: str, origin: str) -> tuple[Component, list[RecordError]]:
    """The component with its purl in canonical form; a malformed purl or CPE is dropped (the
    component is kept: its name and version still match advisories) and reported."""
    errors: list[RecordError] = []
    label = f"component {component.name}" + (f" {component.version}" if component.version else "")
    purl = component.purl
    if purl is not None:
        try:
            purl = parse_purl(purl).to_string()
        except IdentifierError as e:
            errors.append(RecordError(origin, where, f"{label}: the purl is ignored: {e}"))
            purl = None
    cpe = component.cpe
    if cpe is not None:
        try:
            parse_cpe(cpe)
        except IdentifierError as e:
            errors.append(RecordError(origin, where, f"{label}: the CPE is ignored: {e}"))
            cpe = None
    return replace(component, purl=purl, cpe=cpe), errors


def _unique_sorted(components: Iterable[Component]) -> tuple[Component, ...]:
    """One component per (name, version, purl), the first stated winning; sorted so that the
    same SBOM always gives the same tuple, whichever way it was read."""
    seen: dict[tuple[str, str | None, str | None], Component] = {}
    for component in components:
        seen.setdefault((component.name, component.version, component.purl), component)
    return tuple(
        sorted(seen.values(), key=lambda c: (c.name.lower(), c.version or "", c.purl or ""))
    )


# --- CycloneDX ---------------------------------------------------------------------------


@functools.cache
def _cyclonedx_validator(spec_version: str) -> JsonValidator:
    # The validator loads and compiles the schema on first use: keep one per version.
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonValidator

    return JsonValidator(SchemaVersion.from_version(spec_version))


@dataclass(frozen=True)
class _CdxRoot:
    """What metadata says about the described firmware build."""

    vendor: str | None
    product: str | None
    version: str | None
    purl: str | None


def _raw_components(nodes: object, base: str) -> Iterator[tuple[str, JsonObject]]:
    """Every component in a (validated) components array, nested ones too, with its path."""
    if not isinstance(nodes, list):
        return
    for index, node in enumerate(nodes):
        if isinstance(node, dict):
            path = f"{base}[{index}]"
            yield path, node
            yield from _raw_components(node.get("components"), f"{path}.components")


def _raw_all_components(document: JsonObject) -> Iterator[tuple[str, JsonObject]]:
    metadata = document.get("metadata")
    root = metadata.get("component") if isinstance(metadata, dict) else None
    if isinstance(root, dict):
        yield from _raw_components(root.get("components"), "$.metadata.component.components")
    yield from _raw_components(document.get("components"), "$.components")


def _name_of(entity: object) -> str | None:
    return _text(entity.get("name")) if isinstance(entity, dict) else None


class CycloneDxImporter(InventoryImporter):
    name: ClassVar[str] = "cyclonedx"
    title: ClassVar[str] = "CycloneDX SBOM (JSON, spec 1.4–1.6)"
    description: ClassVar[str] = (
        "The components of one firmware build. The build is metadata.component (supplier or "
        "manufacturer, name, version) unless --build names it; every component, nested ones "
        "too, becomes a component of the build. Validated against the official schema."
    )

    @classmethod
    def accepts(cls, path: Path, head: bytes) -> bool:
        return bool(_JSON_OBJECT_START.match(head) and _CYCLONEDX_MARKER.search(head))

    def read(self, path: Path, build: BuildRef | None = None) -> Iterator[ImportOutcome]:
        origin = str(path)
        document = _load_json(path)
        if document.get("bomFormat") != "CycloneDX":
            raise ImportFileError(origin, "not a CycloneDX document", where="$.bomFormat")
        spec_version = document.get("specVersion")
        if spec_version not in CYCLONEDX_VERSIONS:
            raise ImportFileError(
                origin,
                f"CycloneDX spec version {spec_version!r} is not supported; IoT Warden reads "
                f"CycloneDX {', '.join(CYCLONEDX_VERSIONS)} JSON (export the SBOM as one of "
                "those)",
                where="$.specVersion",
            )
        self._validate(document, spec_version, origin)

        try:
            root, found = self._from_library(document)
        except Exception as e:  # noqa: BLE001 - py_serializable raises assorted types
            logger.info(
                "%s: cyclonedx-python-lib cannot deserialise this CycloneDX %s document (%s); "
                "reading the validated JSON directly",
                origin,
                spec_version,
                e,
            )
            root, found = self._from_json(document)

        where = "$"
        if build is None:
            build = _vendor_product_version(
                root.vendor, root.product, root.version, origin=origin, what="metadata.component"
            )
            where = "$.metadata.component"

        paths = {
            (_text(node.get("name")), _text(node.get("version"))): path
            for path, node in reversed(list(_raw_all_components(document)))
        }
        components: list[Component] = []
        for component in found:
            if (component.name, component.version, component.purl) == (
                root.product,
                root.version,
                root.purl,
            ):
                continue  # the described build itself, listed once more among its parts
            checked, errors = _checked(
                component, paths.get((component.name, component.version), "$"), origin
            )
            yield from errors
            components.append(checked)
        yield Located(BuildComponents(build, _unique_sorted(components)), origin, where)

    @staticmethod
    def _validate(document: JsonObject, spec_version: str, origin: str) -> None:
        from jsonschema.exceptions import best_match

        found = _cyclonedx_validator(spec_version).validate_str(
            json.dumps(document), all_errors=True
        )
        problems = [problem.data for problem in found or ()]
        if not problems:
            return
        first = best_match(problems)
        more = len(problems) - 1
        raise ImportFileError(
            origin,
            f"not a valid CycloneDX {spec_version} document: {_clip(first.message)}"
            + (f" (and {more} more schema violation{'s' if more > 1 else ''})" if more else ""),
            where=first.json_path,
        )

    @staticmethod
    def _from_library(document: JsonObject) -> tuple[_CdxRoot, list[Component]]:
        from cyclonedx.model.bom import Bom
        from cyclonedx.schema.deprecation import BaseSchemaDeprecationWarning

        with warnings.catch_warnings(record=True) as caught:
            # Deprecated fields (1.5's metadata.manufacture) are the document's business, not
            # a fault of ours: log them instead of letting the library warn on stderr.
            warnings.simplefilter("always", BaseSchemaDeprecationWarning)
            bom: Bom | None = Bom.from_json(document)  # type: ignore[attr-defined]
        for warning in caught:
            logger.debug("cyclonedx-python-lib: %s", warning.message)
        if bom is None:
            raise ValueError("the library returned no BOM")
        metadata = bom.metadata
        root = metadata.component
        vendor = None
        if root is not None:
            vendor = _text(root.supplier.name if root.supplier else None)
        for entity in (metadata.manufacturer, metadata.manufacture):
            if vendor is None and entity is not None:
                vendor = _text(entity.name)
        if vendor is None and root is not None:
            vendor = _text(root.group)
        if vendor is None and metadata.supplier is not None:
            vendor = _text(metadata.supplier.name)
        described = _CdxRoot(
            vendor=vendor,
            product=_text(root.name) if root else None,
            version=_text(root.version) if root else None,
            purl=str(root.purl) if root and root.purl else None,
        )

        def walk(nodes: Iterable[CdxComponent]) -> Iterator[Component]:
            for node in nodes:
                supplier = node.supplier.name if node.supplier else None
                yield Component(
                    name=node.name,
                    version=_text(node.version),
                    purl=str(node.purl) if node.purl else None,
                    cpe=_text(node.cpe),
                    supplier=_text(supplier) or _text(node.publisher) or _text(node.group),
                )
                yield from walk(node.components)

        nested = list(walk(root.components)) if root is not None else []
        return described, nested + list(walk(bom.components))

    @staticmethod
    def _from_json(document: JsonObject) -> tuple[_CdxRoot, list[Component]]:
        """The same reading as _from_library, straight from the schema-valid JSON."""
        metadata = document.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        root = metadata.get("component")
        root = root if isinstance(root, dict) else {}
        vendor = (
            _name_of(root.get("supplier"))
            or _name_of(metadata.get("manufacturer"))
            or _name_of(metadata.get("manufacture"))
            or _text(root.get("group"))
            or _name_of(metadata.get("supplier"))
        )
        described = _CdxRoot(
            vendor=vendor,
            product=_text(root.get("name")),
            version=_text(root.get("version")),
            purl=_text(root.get("purl")),
        )
        components = [
            Component(
                name=str(node.get("name", "")),
                version=_text(node.get("version")),
                purl=_text(node.get("purl")),
                cpe=_text(node.get("cpe")),
                supplier=_name_of(node.get("supplier"))
                or _text(node.get("publisher"))
                or _text(node.get("group")),
            )
            for _path, node in _raw_all_components(document)
        ]
        return described, components


# --- SPDX --------------------------------------------------------------------------------


def _spdx_problem(message: ValidationMessage, paths: dict[str, str]) -> tuple[str, str]:
    """(where, text) of one spdx-tools validation message."""
    context = message.context
    kind = context.element_type.name.lower().replace("_", " ") if context.element_type else ""
    named = " ".join(part for part in (kind, context.spdx_id or "") if part)
    if context.parent_id:
        named += f" in {context.parent_id}"
    where = paths.get(context.spdx_id or "") or paths.get(context.parent_id or "") or "$"
    text = _clip(message.validation_message)
    return where, f"{named}: {text}" if named else text


class SpdxImporter(InventoryImporter):
    name: ClassVar[str] = "spdx"
    title: ClassVar[str] = "SPDX SBOM (JSON, 2.3 and 2.2)"
    description: ClassVar[str] = (
        "The components of one firmware build. The build is the package the document "
        "DESCRIBES (supplier, name, version) unless --build names it; every other package "
        "becomes a component, with its purl and CPE from the external references."
    )

    @classmethod
    def accepts(cls, path: Path, head: bytes) -> bool:
        return bool(_JSON_OBJECT_START.match(head) and _SPDX_MARKER.search(head))

    def read(self, path: Path, build: BuildRef | None = None) -> Iterator[ImportOutcome]:
        from spdx_tools.spdx.model.actor import Actor
        from spdx_tools.spdx.model.package import ExternalPackageRefCategory
        from spdx_tools.spdx.model.relationship import RelationshipType
        from spdx_tools.spdx.parser.error import SPDXParsingError
        from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
        from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

        origin = str(path)
        raw = _load_json(path)
        version = raw.get("spdxVersion")
        if version not in SPDX_VERSIONS:
            raise ImportFileError(
                origin,
                f"SPDX version {version!r} is not supported; IoT Warden reads SPDX 2.3 (and "
                "2.2) JSON",
                where="$.spdxVersion",
            )
        paths: dict[str, str] = {}
        for key in ("packages", "files", "snippets"):
            elements = raw.get(key)
            for index, element in enumerate(elements if isinstance(elements, list) else ()):
                if isinstance(element, dict) and isinstance(element.get("SPDXID"), str):
                    paths.setdefault(element["SPDXID"], f"$.{key}[{index}]")

        try:
            document = JsonLikeDictParser().parse(raw)  # type: ignore[no-untyped-call]
        except SPDXParsingError as e:
            shown = "; ".join(e.messages[:_SHOWN_PROBLEMS])
            raise ImportFileError(origin, f"not a valid SPDX document: {_clip(shown)}") from e
        except (AttributeError, TypeError, ValueError, KeyError) as e:
            # spdx-tools assumes the JSON shapes the spec gives; other shapes fail like this.
            raise ImportFileError(origin, f"not a valid SPDX document: {e}") from e

        messages = validate_full_spdx_document(document)
        if messages:
            problems = [_spdx_problem(message, paths) for message in messages]
            shown = "; ".join(text for _where, text in problems[:_SHOWN_PROBLEMS])
            more = len(problems) - _SHOWN_PROBLEMS
            raise ImportFileError(
                origin,
                f"not a valid SPDX {version[5:]} document: {shown}"
                + (f" (and {more} more)" if more > 0 else ""),
                where=problems[0][0],
            )

        document_id = document.creation_info.spdx_id
        described_ids = {
            r.related_spdx_element_id
            for r in document.relationships
            if r.relationship_type == RelationshipType.DESCRIBES
            and r.spdx_element_id == document_id
        } | {
            r.spdx_element_id
            for r in document.relationships
            if r.relationship_type == RelationshipType.DESCRIBED_BY
            and r.related_spdx_element_id == document_id
        }
        described = [p for p in document.packages if p.spdx_id in described_ids]
        if not described_ids and len(document.packages) == 1:
            described = list(document.packages)  # the one package is what the document is about

        def actor_name(actor: object) -> str | None:
            return _text(actor.name) if isinstance(actor, Actor) else None

        where = "$"
        if build is None:
            if len(described) != 1:
                raise ImportFileError(
                    origin,
                    f"the SBOM describes {len(described)} packages, not one firmware build; "
                    + BUILD_HINT,
                )
            package = described[0]
            where = paths.get(package.spdx_id, "$")
            build = _vendor_product_version(
                actor_name(package.supplier),
                _text(package.name),
                _text(package.version),
                origin=origin,
                what=f"the described package {package.spdx_id}",
            )

        components: list[Component] = []
        for package in document.packages:
            if package.spdx_id in described_ids or package in described:
                continue
            purl = next(
                (
                    ref.locator
                    for ref in package.external_references
                    if ref.category == ExternalPackageRefCategory.PACKAGE_MANAGER
                    and ref.reference_type == "purl"
                ),
                None,
            )
            cpes = {
                ref.reference_type: ref.locator
                for ref in reversed(package.external_references)
                if ref.category == ExternalPackageRefCategory.SECURITY
            }
            component = Component(
                name=package.name,
                version=_text(package.version),
                purl=_text(purl),
                cpe=_text(cpes.get("cpe23Type") or cpes.get("cpe22Type")),
                supplier=actor_name(package.supplier),
            )
            checked, errors = _checked(component, paths.get(package.spdx_id, "$"), origin)
            yield from errors
            components.append(checked)
        yield Located(BuildComponents(build, _unique_sorted(components)), origin, where)
