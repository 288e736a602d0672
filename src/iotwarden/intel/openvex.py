"""OpenVEX documents (v0.2.0, and the older v0.0.x forms): one normalised Advisory per
document, with one affected entry per statement and product (or per subcomponent of it), so
that a vendor's or the user's "not affected" statement takes a build out of an exposure and
says why."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from iotwarden.core.errors import DocumentError
from iotwarden.core.identifiers import IdentifierError, parse_cpe, parse_purl
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AffectedProduct,
    AffectedStatus,
    ProductIdentity,
    Remediation,
    RemediationCategory,
    Statement,
    VersionRange,
)
from iotwarden.core.versions import exact_versions
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff
from iotwarden.intel.reading import (
    JsonObject,
    describe_kind,
    expect_list,
    expect_object,
    jp,
    opt_list,
    opt_object,
    opt_str,
    parse_datetime,
    raw_bytes,
    req_str,
    whole_json,
)

#: OpenVEX status -> normalised status.
_STATUSES = {
    "not_affected": AffectedStatus.NOT_AFFECTED,
    "affected": AffectedStatus.AFFECTED,
    "fixed": AffectedStatus.FIXED,
    "under_investigation": AffectedStatus.UNDER_INVESTIGATION,
}

#: Package URL types whose versions have a scheme of their own (the `vers` scheme is the purl
#: type); every other type is compared with the generic scheme.
_PURL_SCHEMES = frozenset(
    {
        "pypi",
        "npm",
        "deb",
        "rpm",
        "maven",
        "golang",
        "cargo",
        "gem",
        "nuget",
        "apk",
        "composer",
        "hex",
    }
)

_SPEC_VERSION = re.compile(r"v?(\d+\.\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Identified:
    """A product or component named by purl / CPE / IRI, with its version as an exact range."""

    identity: ProductIdentity
    ranges: tuple[VersionRange, ...]
    label: str  # how the document names it (its @id, else its purl or CPE)


def scheme_for_purl_type(purl_type: str) -> str:
    kind = purl_type.lower()
    return kind if kind in _PURL_SCHEMES else "generic"


def identify(
    purl: str | None,
    cpe: str | None,
    origin: str,
    purl_path: str,
    cpe_path: str,
    **identity: Any,
) -> tuple[ProductIdentity, tuple[VersionRange, ...]]:
    """The identity of a purl and/or CPE, and the exact version they name as a range (none
    when they name no version: then the statement is about every version of it).

    Raises DocumentError (at ``purl_path`` or ``cpe_path``) for an identifier that cannot be
    read."""
    version: str | None = None
    scheme = "generic"
    if purl is not None:
        try:
            parsed = parse_purl(purl)
        except IdentifierError as e:
            raise DocumentError(origin, purl_path, str(e)) from e
        version = parsed.version or None
        scheme = scheme_for_purl_type(parsed.type)
    if cpe is not None:
        try:
            parsed_cpe = parse_cpe(cpe)
        except IdentifierError as e:
            raise DocumentError(origin, cpe_path, str(e)) from e
        if version is None and parsed_cpe.version not in ("*", "-", ""):
            version = parsed_cpe.version
    ranges = (exact_versions([version], scheme, raw=version),) if version else ()
    return ProductIdentity(purl=purl, cpe=cpe, **identity), ranges


def spec_version_of(context: str) -> str:
    """'https://openvex.dev/ns/v0.2.0' -> '0.2.0' (the context itself when it has none)."""
    match = _SPEC_VERSION.search(context)
    return match.group(1) if match else context


def _context_of(value: Any) -> str | None:
    """The OpenVEX context among a JSON-LD @context (a string or a list of them)."""
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        if isinstance(candidate, str) and "openvex" in candidate.lower():
            return candidate
    return None


@dataclass(slots=True)
class _Collected:
    affected: list[AffectedProduct] = dataclasses.field(default_factory=list)
    remediations: list[Remediation] = dataclasses.field(default_factory=list)
    statements: list[Statement] = dataclasses.field(default_factory=list)
    vuln_ids: dict[str, None] = dataclasses.field(default_factory=dict)
    aliases: dict[str, None] = dataclasses.field(default_factory=dict)
    stamps: list[Any] = dataclasses.field(default_factory=list)


class OpenVexParser(AdvisoryParser):
    """Reads OpenVEX documents: VEX statements about products and their subcomponents."""

    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.OPENVEX
    title: ClassVar[str] = "OpenVEX"
    description: ClassVar[str] = (
        "OpenVEX documents (@context https://openvex.dev/ns/...): one advisory per document, "
        "keyed by its @id so a newer version replaces the older one. Each statement gives one "
        "entry per product, or per subcomponent when subcomponents are named (the "
        "subcomponent is what is or is not affected; the product it sits in is kept as a "
        "condition). Products are identified by the purl or CPE of their @id or identifiers; "
        "the version they name becomes an exact version range (none: every version). "
        "Statuses not_affected, affected, fixed and under_investigation are kept with the "
        "justification (and impact statement) that suppresses a finding; action statements "
        "become mitigations and status notes are kept."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object" or "statements" not in sniff.top_keys:
            return False
        if _context_of(sniff.top_scalars.get("@context")) is not None:
            return True
        # A JSON-LD @context given as a list is no scalar: look at the document when it is here.
        whole = sniff.document
        return isinstance(whole, dict) and _context_of(whole.get("@context")) is not None

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        reader = _DocumentReader(doc.origin, whole_json(doc, sniff))
        yield reader.read()
        yield from reader.problems


class _DocumentReader:
    def __init__(self, origin: str, data: Any) -> None:
        self.origin = origin
        self.data = expect_object(data, origin, "$")
        self.problems: list[DocumentError] = []

    def read(self) -> Advisory:
        origin, data = self.origin, self.data
        context = _context_of(data.get("@context"))
        if context is None:
            raise DocumentError(origin, "$.@context", "not an OpenVEX context")
        doc_id = req_str(data, "@id", origin, "$")
        author = opt_str(data, "author", origin, "$")
        published = parse_datetime(data.get("timestamp"), origin, "$.timestamp")
        updated = parse_datetime(data.get("last_updated"), origin, "$.last_updated")
        version = data.get("version")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int | str)
        ):
            raise DocumentError(
                origin, "$.version", f"expected a number, found {describe_kind(version)}"
            )
        if "statements" not in data:
            raise DocumentError(origin, "$.statements", "required field is missing")
        statements = expect_list(data["statements"], origin, "$.statements")

        collected = _Collected()
        for index, item in enumerate(statements):
            try:
                self._statement(item, jp("$.statements", index), collected)
            except DocumentError as e:
                self.problems.append(e)

        stamps = [s for s in (published, updated, *collected.stamps) if s is not None]
        for vuln_id in collected.vuln_ids:
            collected.aliases.pop(vuln_id, None)
        collected.aliases.pop(doc_id, None)
        return Advisory(
            source=AdvisoryFormat.OPENVEX,
            key=doc_id,
            id=doc_id,
            aliases=tuple(collected.aliases),
            vuln_ids=tuple(collected.vuln_ids),
            published=published,
            modified=updated or (max(stamps) if stamps else None),
            revision=str(version) if version is not None else None,
            spec_version=spec_version_of(context),
            publisher=author,
            affected=tuple(collected.affected),
            remediations=tuple(collected.remediations),
            statements=tuple(collected.statements),
            raw=raw_bytes(data),
        )

    # --- statements -------------------------------------------------------------------------

    def _statement(self, item: Any, path: str, out: _Collected) -> None:
        origin = self.origin
        statement = expect_object(item, origin, path)
        vuln_id, aliases = self._vulnerability(statement, path)
        raw_status = req_str(statement, "status", origin, path)
        status = _STATUSES.get(raw_status)
        if status is None:
            raise DocumentError(
                origin,
                jp(path, "status"),
                f"unknown status {raw_status!r}: expected one of " + ", ".join(_STATUSES),
            )
        justification = opt_str(statement, "justification", origin, path)
        impact = opt_str(statement, "impact_statement", origin, path)
        action = opt_str(statement, "action_statement", origin, path)
        notes = opt_str(statement, "status_notes", origin, path)
        stamp = parse_datetime(statement.get("timestamp"), origin, jp(path, "timestamp"))
        updated = parse_datetime(statement.get("last_updated"), origin, jp(path, "last_updated"))
        products = opt_list(statement, "products", origin, path)
        if not products:
            raise DocumentError(origin, jp(path, "products"), "a statement names no product")
        # v0.0.x put the subcomponents on the statement, for every product.
        shared_subs = opt_list(statement, "subcomponents", origin, path)

        reason = None
        if status is AffectedStatus.NOT_AFFECTED:
            reason = ": ".join(t for t in (justification, impact) if t) or None
        entries: list[AffectedProduct] = []
        for index, product in enumerate(products):
            ppath = jp(path, "products", index)
            try:
                entries.extend(
                    self._product_entries(product, ppath, shared_subs, path, status, vuln_id)
                )
            except DocumentError as e:
                self.problems.append(e)
        out.affected.extend(dataclasses.replace(e, justification=reason) for e in entries)
        out.vuln_ids[vuln_id] = None
        out.aliases.update(dict.fromkeys(aliases))
        out.stamps.extend(s for s in (stamp, updated) if s is not None)

        refs = tuple(
            dict.fromkeys(e.identity.product_ref for e in entries if e.identity.product_ref)
        )
        if action:
            out.remediations.append(
                Remediation(
                    category=RemediationCategory.MITIGATION,
                    details=action,
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=updated or stamp,
                )
            )
        if notes:
            out.statements.append(
                Statement(
                    kind="note",
                    category="status_notes",
                    details=notes,
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=updated or stamp,
                )
            )
        if impact and status is not AffectedStatus.NOT_AFFECTED:
            out.statements.append(
                Statement(
                    kind="note",
                    category="impact_statement",
                    details=impact,
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=updated or stamp,
                )
            )

    def _vulnerability(self, statement: JsonObject, path: str) -> tuple[str, list[str]]:
        """(the vulnerability's id, its other names)."""
        origin = self.origin
        vpath = jp(path, "vulnerability")
        value = statement.get("vulnerability")
        if value is None:
            raise DocumentError(origin, vpath, "required field is missing")
        if isinstance(value, str):  # v0.0.x: the name itself
            if not value.strip():
                raise DocumentError(origin, vpath, "the vulnerability name is empty")
            return value.strip(), []
        vuln = expect_object(value, origin, vpath)
        name = opt_str(vuln, "name", origin, vpath)
        iri = opt_str(vuln, "@id", origin, vpath)
        names: list[str] = []
        for index, alias in enumerate(opt_list(vuln, "aliases", origin, vpath)):
            if not isinstance(alias, str):
                raise DocumentError(
                    origin,
                    jp(vpath, "aliases", index),
                    f"expected a string, found {describe_kind(alias)}",
                )
            names.append(alias)
        vuln_id = name or iri
        if not vuln_id:
            raise DocumentError(origin, jp(vpath, "name"), "required field is missing")
        if iri and iri != vuln_id:
            names.append(iri)
        return vuln_id, names

    def _product_entries(
        self,
        product: Any,
        ppath: str,
        shared_subs: list[Any],
        spath: str,
        status: AffectedStatus,
        vuln_id: str,
    ) -> list[AffectedProduct]:
        identified = self._identified(product, ppath)
        if isinstance(product, dict):
            own_subs = opt_list(product, "subcomponents", self.origin, ppath)
            subs = [(item, jp(ppath, "subcomponents", i)) for i, item in enumerate(own_subs)]
        else:
            subs = []
        if not subs:
            subs = [(item, jp(spath, "subcomponents", i)) for i, item in enumerate(shared_subs)]
        if not subs:
            return [
                AffectedProduct(
                    identity=identified.identity,
                    status=status,
                    ranges=identified.ranges,
                    vuln_id=vuln_id,
                    source_path=ppath,
                )
            ]
        out = []
        for item, sub_path in subs:
            sub = self._identified(item, sub_path)
            out.append(
                AffectedProduct(
                    identity=sub.identity,
                    status=status,
                    ranges=sub.ranges,
                    vuln_id=vuln_id,
                    # The component is (not) affected as it sits in this product.
                    conditions=((identified.label,),),
                    source_path=sub_path,
                )
            )
        return out

    def _identified(self, value: Any, path: str) -> Identified:
        """A product or subcomponent: an IRI string (v0.0.x) or an object with @id and
        identifiers."""
        origin = self.origin
        obj = {"@id": value} if isinstance(value, str) else expect_object(value, origin, path)
        iri = opt_str(obj, "@id", origin, path)
        ids = opt_object(obj, "identifiers", origin, path)
        ipath = jp(path, "identifiers")
        purl = opt_str(ids, "purl", origin, ipath)
        purl_path = jp(ipath, "purl")
        if purl is None and iri is not None and iri.startswith("pkg:"):
            purl, purl_path = iri, jp(path, "@id")
        cpe = opt_str(ids, "cpe23", origin, ipath)
        cpe_path = jp(ipath, "cpe23")
        if cpe is None:
            cpe, cpe_path = opt_str(ids, "cpe22", origin, ipath), jp(ipath, "cpe22")
        if cpe is None and iri is not None and iri.lower().startswith("cpe:"):
            cpe, cpe_path = iri, jp(path, "@id")
        label = iri or purl or cpe
        if not label:
            raise DocumentError(
                origin, path, "a product needs an @id or a purl or CPE among its identifiers"
            )
        identity, ranges = identify(purl, cpe, origin, purl_path, cpe_path, product_ref=label)
        return Identified(identity, ranges, label)
