"""CycloneDX VEX (a CycloneDX 1.4+ BOM with vulnerabilities and their analysis): one
normalised Advisory per document, with one affected entry per vulnerability, referenced
component and status, so that a vendor's "not affected" analysis of its own device product or
of a component in it takes the build out of an exposure and says why."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AffectedProduct,
    AffectedStatus,
    ProductIdentity,
    Reference,
    Remediation,
    RemediationCategory,
    Score,
    Statement,
    VersionRange,
    Weakness,
)
from iotwarden.core.versions import exact_versions, parse_range_text
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff
from iotwarden.intel.openvex import identify
from iotwarden.intel.reading import (
    JsonObject,
    describe_kind,
    expect_list,
    expect_object,
    jp,
    opt_list,
    opt_number,
    opt_object,
    opt_str,
    parse_datetime,
    raw_bytes,
    req_str,
    whole_json,
)

#: analysis.state -> normalised status.
_STATES = {
    "not_affected": AffectedStatus.NOT_AFFECTED,
    "false_positive": AffectedStatus.NOT_AFFECTED,
    "resolved": AffectedStatus.FIXED,
    "resolved_with_pedigree": AffectedStatus.FIXED,
    "exploitable": AffectedStatus.AFFECTED,
    "in_triage": AffectedStatus.UNDER_INVESTIGATION,
}

#: analysis.response -> remediation category.
_RESPONSES = {
    "update": RemediationCategory.UPGRADE,
    "rollback": RemediationCategory.MITIGATION,
    "workaround_available": RemediationCategory.WORKAROUND,
    "can_not_fix": RemediationCategory.NONE_AVAILABLE,
    "will_not_fix": RemediationCategory.NO_FIX_PLANNED,
}

_VERSION_STATUSES = ("affected", "unaffected", "unknown")

#: rating.method -> (CVSS version, the prefix a bare vector needs).
_CVSS_METHODS = {
    "CVSSv2": ("2.0", ""),
    "CVSSv3": ("3.0", "CVSS:3.0/"),
    "CVSSv31": ("3.1", "CVSS:3.1/"),
    "CVSSv4": ("4.0", "CVSS:4.0/"),
}

_SPEC_VERSION = re.compile(r"^1\.(\d+)$")
_MIN_MINOR = 4  # vulnerabilities entered the core schema in CycloneDX 1.4


@dataclass(frozen=True, slots=True)
class _Component:
    identity: ProductIdentity
    ranges: tuple[VersionRange, ...]  # its own version, exactly (none when unknown)
    scheme: str


@dataclass(slots=True)
class _Collected:
    affected: list[AffectedProduct] = dataclasses.field(default_factory=list)
    remediations: list[Remediation] = dataclasses.field(default_factory=list)
    scores: list[Score] = dataclasses.field(default_factory=list)
    weaknesses: dict[Weakness, None] = dataclasses.field(default_factory=dict)
    references: dict[Reference, None] = dataclasses.field(default_factory=dict)
    statements: list[Statement] = dataclasses.field(default_factory=list)
    vuln_ids: dict[str, None] = dataclasses.field(default_factory=dict)
    aliases: dict[str, None] = dataclasses.field(default_factory=dict)
    first_issued: list[Any] = dataclasses.field(default_factory=list)
    updated: list[Any] = dataclasses.field(default_factory=list)

    def merge(self, other: _Collected) -> None:
        self.affected += other.affected
        self.remediations += other.remediations
        self.scores += other.scores
        self.weaknesses.update(other.weaknesses)
        self.references.update(other.references)
        self.statements += other.statements
        self.vuln_ids.update(other.vuln_ids)
        self.aliases.update(other.aliases)
        self.first_issued += other.first_issued
        self.updated += other.updated


def _name_of(value: Any) -> str | None:
    """The name of an organizational entity ({"name": ...}), if it has one."""
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class CycloneDxVexParser(AdvisoryParser):
    """Reads CycloneDX 1.4-1.6 JSON BOMs that carry vulnerabilities (VEX / BOV)."""

    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.CYCLONEDX_VEX
    title: ClassVar[str] = "CycloneDX VEX"
    description: ClassVar[str] = (
        "CycloneDX 1.4-1.6 JSON documents with a vulnerabilities list (VEX or a bill of "
        "vulnerabilities); a BOM without vulnerabilities is an SBOM for `iotwarden fleet "
        "import`, not an advisory. One advisory per document, keyed by serialNumber (else the "
        "described product). Each vulnerability's affects.ref is resolved to a component or "
        "to metadata.component, the device product itself (vendor from its supplier or the "
        "manufacturer, product name, version), identified by purl, CPE and vendor + name; "
        "a component other than metadata.component has that product as its condition; "
        "affects.versions give exact versions or vers ranges (text that cannot be read is "
        "kept verbatim), else the component's own version. analysis.state gives the status "
        "(not_affected and false_positive: not affected; resolved: fixed; exploitable: "
        "affected; in_triage: under investigation; no analysis: affected) with the "
        "justification and detail that suppress a finding; responses become remediations; "
        "CVSS ratings are scored from their vectors; CWEs, references and aliases are kept."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object" or sniff.top_scalars.get("bomFormat") != "CycloneDX":
            return False
        if "vulnerabilities" not in sniff.top_keys:
            return False
        whole = sniff.document
        if isinstance(whole, dict):
            listed = whole.get("vulnerabilities")
            # An empty list is a plain SBOM; anything else malformed is ours to report.
            return not (isinstance(listed, list) and not listed)
        return True

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        reader = _DocumentReader(doc.origin, whole_json(doc, sniff))
        yield reader.read()
        yield from reader.problems


class _DocumentReader:
    def __init__(self, origin: str, data: Any) -> None:
        self.origin = origin
        self.data = expect_object(data, origin, "$")
        self.components: dict[str, _Component] = {}
        #: metadata.component, the product the document speaks of: its bom-ref, and how a
        #: component in it names it as the condition of its statements.
        self.root_ref: str | None = None
        self.root_label: str | None = None
        self.problems: list[DocumentError] = []

    def read(self) -> Advisory:
        origin, data = self.origin, self.data
        if data.get("bomFormat") != "CycloneDX":
            raise DocumentError(origin, "$.bomFormat", "not a CycloneDX document")
        spec = req_str(data, "specVersion", origin, "$")
        match = _SPEC_VERSION.match(spec.strip())
        if match is None or int(match.group(1)) < _MIN_MINOR:
            raise DocumentError(
                origin,
                "$.specVersion",
                f"unsupported CycloneDX version {spec!r}: IoT Warden reads the vulnerabilities "
                "of CycloneDX 1.4 and later",
            )
        if "vulnerabilities" not in data:
            raise DocumentError(origin, "$.vulnerabilities", "required field is missing")
        vulnerabilities = expect_list(data["vulnerabilities"], origin, "$.vulnerabilities")
        if not vulnerabilities:
            raise DocumentError(
                origin,
                "$.vulnerabilities",
                "the BOM lists no vulnerabilities: it is an SBOM, not a VEX "
                "(import it with `iotwarden fleet import`)",
            )
        metadata = opt_object(data, "metadata", origin, "$")
        root = opt_object(metadata, "component", origin, "$.metadata")
        serial = opt_str(data, "serialNumber", origin, "$")
        version = data.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise DocumentError(
                origin, "$.version", f"expected a number, found {describe_kind(version)}"
            )
        stamp = parse_datetime(metadata.get("timestamp"), origin, "$.metadata.timestamp")

        vendor = (
            _name_of(root.get("supplier"))
            or _name_of(root.get("manufacturer"))
            or _name_of(metadata.get("manufacturer"))
            or _name_of(metadata.get("manufacture"))
            or _text(root.get("group"))
            or _name_of(metadata.get("supplier"))
        )
        if root:
            self._walk(root, "$.metadata.component", vendor)
            self.root_ref = _text(root.get("bom-ref"))
            self.root_label = _text(root.get("purl")) or " ".join(
                t for t in (vendor, _text(root.get("name")), _text(root.get("version"))) if t
            )
        for index, item in enumerate(opt_list(data, "components", origin, "$")):
            self._walk(item, jp("$.components", index), None)

        key = serial or self._root_key(root)
        if not key:
            raise DocumentError(
                origin,
                "$.serialNumber",
                "required field is missing (and metadata.component has no purl or name to "
                "identify the document by)",
            )

        collected = _Collected()
        for index, item in enumerate(vulnerabilities):
            # A vulnerability is taken whole or not at all (its error is reported).
            one = _Collected()
            try:
                self._vulnerability(item, jp("$.vulnerabilities", index), one)
            except DocumentError as e:
                self.problems.append(e)
                continue
            collected.merge(one)

        for vuln_id in collected.vuln_ids:
            collected.aliases.pop(vuln_id, None)
        collected.aliases.pop(key, None)
        updated = [s for s in (stamp, *collected.updated) if s is not None]
        publisher = (
            _name_of(metadata.get("supplier"))
            or _name_of(metadata.get("manufacturer"))
            or _name_of(metadata.get("manufacture"))
            or self._first_author(metadata)
            or vendor
        )
        return Advisory(
            source=AdvisoryFormat.CYCLONEDX_VEX,
            key=key,
            id=key,
            aliases=tuple(collected.aliases),
            vuln_ids=tuple(collected.vuln_ids),
            published=min(collected.first_issued) if collected.first_issued else None,
            modified=max(updated) if updated else None,
            revision=str(version) if version is not None else None,
            spec_version=spec.strip(),
            publisher=publisher,
            affected=tuple(collected.affected),
            remediations=tuple(collected.remediations),
            scores=tuple(collected.scores),
            weaknesses=tuple(collected.weaknesses),
            references=tuple(collected.references),
            statements=tuple(collected.statements),
            raw=raw_bytes(data),
        )

    def _root_key(self, root: JsonObject) -> str | None:
        purl = _text(root.get("purl"))
        if purl:
            return purl
        name = _text(root.get("name"))
        if not name:
            return None
        version = _text(root.get("version"))
        return f"{name}@{version}" if version else name

    def _first_author(self, metadata: JsonObject) -> str | None:
        authors = metadata.get("authors")
        if isinstance(authors, list) and authors:
            return _name_of(authors[0])
        return None

    # --- components -------------------------------------------------------------------------

    def _walk(self, item: Any, path: str, vendor: str | None) -> None:
        """Index a component (and the components nested in it) by bom-ref. ``vendor`` is
        given for metadata.component, whose vendor may come from the document's metadata."""
        origin = self.origin
        obj = expect_object(item, origin, path)
        ref = opt_str(obj, "bom-ref", origin, path)
        if ref is not None and ref not in self.components:
            try:
                self.components[ref] = self._component(obj, path, vendor)
            except DocumentError as e:
                self.problems.append(e)
        for index, child in enumerate(opt_list(obj, "components", origin, path)):
            self._walk(child, jp(path, "components", index), None)

    def _component(self, obj: JsonObject, path: str, vendor: str | None) -> _Component:
        origin = self.origin
        name = opt_str(obj, "name", origin, path)
        version = opt_str(obj, "version", origin, path)
        purl = opt_str(obj, "purl", origin, path)
        cpe = opt_str(obj, "cpe", origin, path)
        vendor = (
            vendor
            or _name_of(obj.get("supplier"))
            or _name_of(obj.get("manufacturer"))
            or _text(obj.get("publisher"))
        )
        identity, ranges = identify(
            purl,
            cpe,
            origin,
            jp(path, "purl"),
            jp(path, "cpe"),
            vendor=vendor,
            product=name,
            product_ref=opt_str(obj, "bom-ref", origin, path),
        )
        scheme = ranges[0].scheme if ranges else "generic"
        if version:  # the component's own version field wins over the one in its purl
            ranges = (exact_versions([version], scheme, raw=version),)
        return _Component(identity, ranges, scheme)

    def _resolve(self, ref: str, path: str) -> _Component:
        found = self.components.get(ref)
        if found is not None:
            return found
        # Standalone VEX documents name the component by purl or CPE instead of a bom-ref,
        # or link into another BOM (urn:cdx:serial/version#bom-ref).
        if ref.startswith("pkg:"):
            identity, ranges = identify(ref, None, self.origin, path, path, product_ref=ref)
            return _Component(identity, ranges, ranges[0].scheme if ranges else "generic")
        if ref.lower().startswith("cpe:"):
            identity, ranges = identify(None, ref, self.origin, path, path, product_ref=ref)
            return _Component(identity, ranges, "generic")
        if ref.startswith("urn:cdx:"):
            return _Component(ProductIdentity(product_ref=ref), (), "generic")
        raise DocumentError(self.origin, path, f"{ref!r} names no component of this BOM")

    # --- vulnerabilities --------------------------------------------------------------------

    def _vulnerability(self, item: Any, path: str, out: _Collected) -> None:
        origin = self.origin
        vuln = expect_object(item, origin, path)
        vuln_id = req_str(vuln, "id", origin, path)
        apath = jp(path, "analysis")
        analysis = opt_object(vuln, "analysis", origin, path)
        state = opt_str(analysis, "state", origin, apath)
        base: AffectedStatus = AffectedStatus.AFFECTED  # listed without analysis: a finding
        if state is not None:
            found = _STATES.get(state)
            if found is None:
                raise DocumentError(
                    origin,
                    jp(apath, "state"),
                    f"unknown analysis state {state!r}: expected one of " + ", ".join(_STATES),
                )
            base = found
        justification = opt_str(analysis, "justification", origin, apath)
        detail = opt_str(analysis, "detail", origin, apath)
        reason_label = justification or (state if state == "false_positive" else None)
        reason = ": ".join(t for t in (reason_label, detail) if t) or None
        first = parse_datetime(analysis.get("firstIssued"), origin, jp(apath, "firstIssued"))
        last = parse_datetime(analysis.get("lastUpdated"), origin, jp(apath, "lastUpdated"))
        updated = parse_datetime(vuln.get("updated"), origin, jp(path, "updated"))

        affects = opt_list(vuln, "affects", origin, path)
        if not affects:
            raise DocumentError(origin, jp(path, "affects"), "the vulnerability affects nothing")
        refs: list[str] = []
        for index, entry in enumerate(affects):
            epath = jp(path, "affects", index)
            try:
                for listed in self._affects(entry, epath, vuln_id, base, state is not None):
                    affected = (
                        dataclasses.replace(listed, justification=reason)
                        if listed.status is AffectedStatus.NOT_AFFECTED
                        else listed
                    )
                    out.affected.append(affected)
                    if affected.identity.product_ref:
                        refs.append(affected.identity.product_ref)
            except DocumentError as e:
                self.problems.append(e)
        product_refs = tuple(dict.fromkeys(refs))

        out.vuln_ids[vuln_id] = None
        out.first_issued.extend(s for s in (first,) if s is not None)
        out.updated.extend(s for s in (last, updated) if s is not None)
        self._names_and_references(vuln, path, out)
        self._ratings(vuln, path, vuln_id, out)
        for index, cwe in enumerate(opt_list(vuln, "cwes", origin, path)):
            if isinstance(cwe, bool) or not isinstance(cwe, int):
                raise DocumentError(
                    origin,
                    jp(path, "cwes", index),
                    f"expected a number, found {describe_kind(cwe)}",
                )
            out.weaknesses[Weakness(f"CWE-{cwe}", vuln_id)] = None
        self._responses(vuln, analysis, apath, vuln_id, product_refs, last, out)
        if detail and base is not AffectedStatus.NOT_AFFECTED:
            out.statements.append(
                Statement(
                    kind="note",
                    category="analysis_detail",
                    details=detail,
                    product_refs=product_refs,
                    vuln_id=vuln_id,
                    date=last,
                )
            )
        for field in ("description", "detail", "recommendation"):
            text = opt_str(vuln, field, origin, path)
            if text:
                out.statements.append(
                    Statement(
                        kind="note",
                        category=field,
                        details=text,
                        product_refs=product_refs,
                        vuln_id=vuln_id,
                    )
                )

    def _affects(
        self, item: Any, path: str, vuln_id: str, base: AffectedStatus, analysed: bool
    ) -> list[AffectedProduct]:
        origin = self.origin
        entry = expect_object(item, origin, path)
        ref = req_str(entry, "ref", origin, path)
        component = self._resolve(ref, jp(path, "ref"))
        # A component is (not) affected as it sits in the product the document describes.
        conditions: tuple[tuple[str, ...], ...] = ()
        if self.root_label and ref != self.root_ref:
            conditions = ((self.root_label,),)
        versions = opt_list(entry, "versions", origin, path)
        if not versions:
            return [
                AffectedProduct(
                    identity=component.identity,
                    status=base,
                    ranges=component.ranges,
                    vuln_id=vuln_id,
                    conditions=conditions,
                    source_path=path,
                )
            ]
        by_status: dict[AffectedStatus, list[VersionRange]] = {}
        for index, item_version in enumerate(versions):
            vpath = jp(path, "versions", index)
            obj = expect_object(item_version, origin, vpath)
            written = opt_str(obj, "version", origin, vpath)
            text = opt_str(obj, "range", origin, vpath)
            said = opt_str(obj, "status", origin, vpath) or "affected"
            if said not in _VERSION_STATUSES:
                raise DocumentError(
                    origin,
                    jp(vpath, "status"),
                    f"unknown version status {said!r}: expected one of "
                    + ", ".join(_VERSION_STATUSES),
                )
            if written:
                version_range = exact_versions([written], component.scheme, raw=written)
            elif text:
                version_range = parse_range_text(text, component.scheme)
            else:
                raise DocumentError(origin, vpath, "a version or a range is required")
            if said == "unaffected":
                status = AffectedStatus.NOT_AFFECTED
            elif said == "unknown" and not analysed:
                status = AffectedStatus.UNKNOWN
            else:
                status = base
            by_status.setdefault(status, []).append(version_range)
        return [
            AffectedProduct(
                identity=component.identity,
                status=status,
                ranges=tuple(ranges),
                vuln_id=vuln_id,
                conditions=conditions,
                source_path=path,
            )
            for status, ranges in by_status.items()
        ]

    def _names_and_references(self, vuln: JsonObject, path: str, out: _Collected) -> None:
        origin = self.origin
        source = opt_object(vuln, "source", origin, path)
        url = opt_str(source, "url", origin, jp(path, "source"))
        if url:
            out.references[Reference(url=url, type=_name_of(source))] = None
        for index, item in enumerate(opt_list(vuln, "references", origin, path)):
            rpath = jp(path, "references", index)
            ref = expect_object(item, origin, rpath)
            out.aliases[req_str(ref, "id", origin, rpath)] = None
            ref_source = opt_object(ref, "source", origin, rpath)
            ref_url = opt_str(ref_source, "url", origin, jp(rpath, "source"))
            if ref_url:
                out.references[Reference(url=ref_url, type=_name_of(ref_source))] = None
        for index, item in enumerate(opt_list(vuln, "advisories", origin, path)):
            apath = jp(path, "advisories", index)
            advisory = expect_object(item, origin, apath)
            out.references[
                Reference(url=req_str(advisory, "url", origin, apath), type="advisory")
            ] = None

    def _ratings(self, vuln: JsonObject, path: str, vuln_id: str, out: _Collected) -> None:
        origin = self.origin
        default_source = _name_of(vuln.get("source"))
        for index, item in enumerate(opt_list(vuln, "ratings", origin, path)):
            rpath = jp(path, "ratings", index)
            rating = expect_object(item, origin, rpath)
            method = opt_str(rating, "method", origin, rpath)
            vector = opt_str(rating, "vector", origin, rpath)
            stated = opt_number(rating, "score", origin, rpath)
            severity = opt_str(rating, "severity", origin, rpath)
            who = _name_of(rating.get("source")) or default_source
            cvss = _CVSS_METHODS.get(method or "")
            if cvss is not None and vector:
                version, prefix = cvss
                written = vector.strip().strip("()")
                if prefix and not written.upper().startswith("CVSS:"):
                    written = prefix + written
                out.scores.append(
                    score_vector(
                        written,
                        source=who,
                        vuln_id=vuln_id,
                        stated_score=stated,
                        stated_version=version,
                    )
                )
                continue
            said = " ".join(
                t for t in (severity, str(stated) if stated is not None else None, vector) if t
            )
            if said:
                out.statements.append(
                    Statement(
                        kind="rating",
                        category=method or who,
                        details=said,
                        vuln_id=vuln_id,
                    )
                )

    def _responses(
        self,
        vuln: JsonObject,
        analysis: JsonObject,
        apath: str,
        vuln_id: str,
        product_refs: tuple[str, ...],
        date: Any,
        out: _Collected,
    ) -> None:
        origin = self.origin
        workaround = _text(vuln.get("workaround"))
        recommendation = _text(vuln.get("recommendation"))
        for index, item in enumerate(opt_list(analysis, "response", origin, apath)):
            if not isinstance(item, str):
                raise DocumentError(
                    origin,
                    jp(apath, "response", index),
                    f"expected a string, found {describe_kind(item)}",
                )
            category = _RESPONSES.get(item)
            if category is None:  # a response newer than our model: keep it as said
                out.statements.append(
                    Statement(
                        kind="remediation",
                        category=item,
                        details=recommendation,
                        product_refs=product_refs,
                        vuln_id=vuln_id,
                        date=date,
                    )
                )
                continue
            details = workaround if category is RemediationCategory.WORKAROUND else None
            out.remediations.append(
                Remediation(
                    category=category,
                    details=details or recommendation,
                    product_refs=product_refs,
                    vuln_id=vuln_id,
                    date=date,
                )
            )
        responded = {r for r in analysis.get("response") or () if isinstance(r, str)}
        if workaround and "workaround_available" not in responded:
            out.remediations.append(
                Remediation(
                    category=RemediationCategory.WORKAROUND,
                    details=workaround,
                    product_refs=product_refs,
                    vuln_id=vuln_id,
                    date=date,
                )
            )
