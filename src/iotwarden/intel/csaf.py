"""CSAF 2.0 and 2.1 documents (security advisories, VEX, informational advisories): one
normalised Advisory per document, with the product tree resolved into product identities and
version ranges, and every product status, remediation, score, flag and threat kept."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import DocumentError, VersionError
from iotwarden.core.identifiers import product_condition
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
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
from iotwarden.intel.reading import (
    JsonObject,
    describe_kind,
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

SUPPORTED_VERSIONS = ("2.0", "2.1")

#: product_status lists and what they mean, in the order they are read.
_STATUS_LISTS: tuple[tuple[str, AffectedStatus], ...] = (
    ("first_affected", AffectedStatus.AFFECTED),
    ("known_affected", AffectedStatus.AFFECTED),
    ("last_affected", AffectedStatus.AFFECTED),
    ("first_fixed", AffectedStatus.FIXED),
    ("fixed", AffectedStatus.FIXED),
    ("recommended", AffectedStatus.FIXED),
    ("known_not_affected", AffectedStatus.NOT_AFFECTED),
    ("under_investigation", AffectedStatus.UNDER_INVESTIGATION),
    ("unknown", AffectedStatus.UNKNOWN),  # CSAF 2.1
)

_REMEDIATION_CATEGORIES = {c.value: c for c in RemediationCategory}

#: Vulnerability notes worth keeping (legal disclaimers and general prose are left in ``raw``).
_KEPT_NOTE_CATEGORIES = frozenset({"summary", "description", "details"})

#: A product_version branch whose name is a range in disguise ('*', 'vers:all/*', 'All',
#: '<V2.3', 'prior to 4.0', '1.2 and earlier', '1.0 to 1.4'): read as free text, not as one
#: version.
_VERSION_LOOKS_LIKE_RANGE = re.compile(
    r"^\s*(?:\*|vers:|all\b)|[<>=]"
    r"|\b(?:prior|before|earlier|older|later|newer|through|until|up to)\b"
    r"|\s(?:to|thru)\s",
    re.IGNORECASE,
)

#: Which _Context field a branch category sets.
_CONTEXT_FIELDS = {
    "vendor": "vendor",
    "product_family": "family",
    "product_name": "product",
    "product_version": "version",
    "product_version_range": "version",
    "service_pack": "service_pack",
}

_CVSS_KEYS_20 = ("cvss_v2", "cvss_v3")
_CVSS_KEYS_21 = ("cvss_v2", "cvss_v3", "cvss_v4")


@dataclass(frozen=True, slots=True)
class _Product:
    """A product_id resolved from the product tree."""

    identity: ProductIdentity
    ranges: tuple[VersionRange, ...] = ()
    version: str | None = None  # the exact version name, for fixed_versions of siblings
    #: What it runs on or with: one group per product it relates to (AND of OR groups).
    conditions: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class _Helper:
    """What a product_identification_helper says."""

    cpe: str | None
    purl: str | None
    model_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Derived:
    """A product defined by a 2.0 relationship or a 2.1 product path: a component (which
    carries the version) placed on, in or with other products."""

    component: str
    relates_to: tuple[str, ...]
    helper: _Helper


@dataclass(frozen=True, slots=True)
class _Context:
    """What the branches above a product said."""

    vendor: str | None = None
    family: str | None = None
    product: str | None = None
    version_kind: str | None = None  # 'product_version' or 'product_version_range'
    version: str | None = None
    service_pack: str | None = None


@dataclass(slots=True)
class _Collected:
    """Everything read from the vulnerabilities, accumulated for the Advisory."""

    affected: list[AffectedProduct] = dataclasses.field(default_factory=list)
    remediations: list[Remediation] = dataclasses.field(default_factory=list)
    scores: list[Score] = dataclasses.field(default_factory=list)
    weaknesses: dict[Weakness, None] = dataclasses.field(default_factory=dict)
    references: dict[Reference, None] = dataclasses.field(default_factory=dict)
    statements: list[Statement] = dataclasses.field(default_factory=list)
    vuln_ids: dict[str, None] = dataclasses.field(default_factory=dict)
    aliases: dict[str, None] = dataclasses.field(default_factory=dict)


def _req_object(obj: JsonObject, key: str, origin: str, path: str) -> JsonObject:
    value = obj.get(key)
    if value is None:
        raise DocumentError(origin, jp(path, key), "required field is missing")
    return expect_object(value, origin, jp(path, key))


def _str_list(obj: JsonObject, key: str, origin: str, path: str) -> list[str]:
    """An optional array of strings (product ids, group ids, model numbers)."""
    values = opt_list(obj, key, origin, path)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DocumentError(
                origin, jp(path, key, index), f"expected a string, found {describe_kind(value)}"
            )
    return values


class CsafParser(AdvisoryParser):
    """Reads CSAF 2.0 and 2.1 documents: security advisories, VEX and informational ones."""

    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.CSAF
    title: ClassVar[str] = "CSAF 2.0 / 2.1"
    description: ClassVar[str] = (
        "OASIS Common Security Advisory Framework documents (csaf_version 2.0 or 2.1): one "
        "advisory per document, keyed by publisher namespace and tracking id so a newer "
        "revision replaces the older one. The product tree is resolved: vendor, product name "
        "(or family) and model numbers from the branches, purl and CPE from the "
        "identification helper, the version from product_version (exact) or "
        "product_version_range (vers or free text; text that cannot be read is kept "
        "verbatim). Relationships (2.0) and product paths (2.1) give the component's identity "
        "with the platform it runs on as a condition; product groups are expanded. Every "
        "product_status list becomes an affected/fixed/not-affected/under-investigation entry "
        "per vulnerability; VEX justifications come from flags or impact threats. "
        "Remediations, CVSS v2/v3/v4 scores (2.0 scores, 2.1 metrics), CWEs, references, "
        "threats, flags and notes are kept; 2.1 withdrawn documents are marked withdrawn."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object" or "document" not in sniff.top_keys:
            return False
        whole = sniff.document
        if isinstance(whole, dict):
            document = whole.get("document")
            # Another format that happens to use a 'document' key: not ours. A CSAF document
            # with an unsupported csaf_version is accepted so that parse can say so.
            if isinstance(document, dict) and "csaf_version" not in document:
                return False
        return True

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        data = whole_json(doc, sniff)
        reader = _DocumentReader(doc.origin, data)
        yield reader.read()
        # What was wrong inside the document without spoiling the rest of it.
        yield from reader.problems


class _DocumentReader:
    """Reads one CSAF document; state that would otherwise be passed around lives here."""

    def __init__(self, origin: str, data: Any) -> None:
        self.origin = origin
        self.data = expect_object(data, origin, "$")
        self.products: dict[str, _Product] = {}
        self.names: dict[str, str] = {}
        self.groups: dict[str, tuple[str, ...]] = {}
        self._range_cache: dict[tuple[str | None, str | None, str | None], _Product] = {}
        self.publisher: str | None = None
        self.tracking_id = ""
        self.problems: list[DocumentError] = []

    # --- document ---------------------------------------------------------------------------

    def read(self) -> Advisory:
        origin = self.origin
        document = _req_object(self.data, "document", origin, "$")
        dpath = "$.document"
        csaf_version = req_str(document, "csaf_version", origin, dpath)
        if csaf_version not in SUPPORTED_VERSIONS:
            raise DocumentError(
                origin,
                jp(dpath, "csaf_version"),
                f"unsupported CSAF version {csaf_version!r}: IoT Warden reads CSAF "
                + " and ".join(SUPPORTED_VERSIONS),
            )
        tpath = jp(dpath, "tracking")
        tracking = _req_object(document, "tracking", origin, dpath)
        tracking_id = req_str(tracking, "id", origin, tpath)
        self.tracking_id = tracking_id
        publisher = _req_object(document, "publisher", origin, dpath)
        namespace = req_str(publisher, "namespace", origin, jp(dpath, "publisher"))
        self.publisher = opt_str(publisher, "name", origin, jp(dpath, "publisher"))
        category = opt_str(document, "category", origin, dpath)
        current = parse_datetime(
            tracking.get("current_release_date"), origin, jp(tpath, "current_release_date")
        )
        initial = parse_datetime(
            tracking.get("initial_release_date"), origin, jp(tpath, "initial_release_date")
        )
        tracking_status = opt_str(tracking, "status", origin, tpath)

        collected = _Collected()
        if tracking_status is not None and tracking_status != "final":
            collected.statements.append(
                Statement(kind="note", category="tracking_status", details=tracking_status)
            )
        description = self._document_description(document, dpath)
        self._references(document, dpath, collected)

        self._read_product_tree()
        for index, item in enumerate(opt_list(self.data, "vulnerabilities", origin, "$")):
            self._vulnerability(index, item, collected)

        withdrawn = csaf_version == "2.1" and category == "csaf_withdrawn"
        collected.aliases.pop(tracking_id, None)
        return Advisory(
            source=AdvisoryFormat.CSAF,
            key=f"{namespace.strip().lower().rstrip('/')}/{tracking_id}",
            id=tracking_id,
            aliases=tuple(collected.aliases),
            vuln_ids=tuple(collected.vuln_ids),
            title=opt_str(document, "title", origin, dpath),
            description=description,
            published=initial,
            modified=current,
            revision=opt_str(tracking, "version", origin, tpath),
            spec_version=csaf_version,
            status=AdvisoryStatus.WITHDRAWN if withdrawn else AdvisoryStatus.ACTIVE,
            withdrawn_at=current if withdrawn else None,
            publisher=self.publisher,
            affected=tuple(collected.affected),
            remediations=tuple(collected.remediations),
            scores=tuple(collected.scores),
            weaknesses=tuple(collected.weaknesses),
            references=tuple(collected.references),
            statements=tuple(collected.statements),
            raw=raw_bytes(self.data),
        )

    def _document_description(self, document: JsonObject, dpath: str) -> str | None:
        for index, note in enumerate(opt_list(document, "notes", self.origin, dpath)):
            npath = jp(dpath, "notes", index)
            note_obj = expect_object(note, self.origin, npath)
            if opt_str(note_obj, "category", self.origin, npath) in ("summary", "description"):
                return opt_str(note_obj, "text", self.origin, npath)
        return None

    def _references(self, owner: JsonObject, path: str, collected: _Collected) -> None:
        for index, item in enumerate(opt_list(owner, "references", self.origin, path)):
            rpath = jp(path, "references", index)
            ref = expect_object(item, self.origin, rpath)
            url = req_str(ref, "url", self.origin, rpath)
            kind = opt_str(ref, "category", self.origin, rpath)
            collected.references[Reference(url=url, type=kind)] = None

    # --- product tree -----------------------------------------------------------------------

    def _read_product_tree(self) -> None:
        origin = self.origin
        tree = opt_object(self.data, "product_tree", origin, "$")
        ppath = "$.product_tree"
        self._walk_branches(tree, ppath)
        for index, item in enumerate(opt_list(tree, "full_product_names", origin, ppath)):
            path = jp(ppath, "full_product_names", index)
            name, product_id, helper = self._full_product_name(item, path)
            self._define(product_id, name, _Context(), helper)

        derived: dict[str, _Derived] = {}
        for index, item in enumerate(opt_list(tree, "relationships", origin, ppath)):
            path = jp(ppath, "relationships", index)
            rel = expect_object(item, origin, path)
            req_str(rel, "category", origin, path)
            component = req_str(rel, "product_reference", origin, path)
            relates = req_str(rel, "relates_to_product_reference", origin, path)
            fpn = _req_object(rel, "full_product_name", origin, path)
            name, product_id, helper = self._full_product_name(fpn, jp(path, "full_product_name"))
            self.names.setdefault(product_id, name)
            derived.setdefault(product_id, _Derived(component, (relates,), helper))
        for index, item in enumerate(opt_list(tree, "product_paths", origin, ppath)):
            path = jp(ppath, "product_paths", index)
            pp = expect_object(item, origin, path)
            component = req_str(pp, "beginning_product_reference", origin, path)
            nexts: list[str] = []
            for sub_index, sub in enumerate(opt_list(pp, "subpaths", origin, path)):
                spath = jp(path, "subpaths", sub_index)
                sub_obj = expect_object(sub, origin, spath)
                nexts.append(req_str(sub_obj, "next_product_reference", origin, spath))
            fpn = _req_object(pp, "full_product_name", origin, path)
            name, product_id, helper = self._full_product_name(fpn, jp(path, "full_product_name"))
            self.names.setdefault(product_id, name)
            derived.setdefault(product_id, _Derived(component, tuple(nexts), helper))
        for product_id in derived:
            self._resolve(product_id, derived)

        for index, item in enumerate(opt_list(tree, "product_groups", origin, ppath)):
            path = jp(ppath, "product_groups", index)
            group = expect_object(item, origin, path)
            group_id = req_str(group, "group_id", origin, path)
            self.groups[group_id] = tuple(_str_list(group, "product_ids", origin, path))

    def _walk_branches(self, tree: JsonObject, tree_path: str) -> None:
        """Depth-first over the branches, without recursion (hostile documents nest deep)."""
        origin = self.origin
        stack: list[tuple[Any, str, _Context]] = [
            (branch, jp(tree_path, "branches", index), _Context())
            for index, branch in enumerate(opt_list(tree, "branches", origin, tree_path))
        ]
        stack.reverse()
        while stack:
            item, path, parent = stack.pop()
            branch = expect_object(item, origin, path)
            category = req_str(branch, "category", origin, path)
            name = req_str(branch, "name", origin, path)
            field = _CONTEXT_FIELDS.get(category)
            if field is None:  # architecture, language, platform, ...: not part of identity
                context = parent
            elif field == "version":
                context = dataclasses.replace(parent, version_kind=category, version=name)
            else:
                context = dataclasses.replace(parent, **{field: name})
            product = branch.get("product")
            if product is not None:
                pname, product_id, helper = self._full_product_name(product, jp(path, "product"))
                self._define(product_id, pname, context, helper)
            children = opt_list(branch, "branches", origin, path)
            for index in range(len(children) - 1, -1, -1):
                stack.append((children[index], jp(path, "branches", index), context))

    def _full_product_name(self, item: Any, path: str) -> tuple[str, str, _Helper]:
        origin = self.origin
        fpn = expect_object(item, origin, path)
        name = req_str(fpn, "name", origin, path)
        product_id = req_str(fpn, "product_id", origin, path)
        hpath = jp(path, "product_identification_helper")
        helper = opt_object(fpn, "product_identification_helper", origin, path)
        purl = opt_str(helper, "purl", origin, hpath)
        if purl is None:
            purls = _str_list(helper, "purls", origin, hpath)  # CSAF 2.1
            purl = purls[0] if purls else None
        return (
            name,
            product_id,
            _Helper(
                cpe=opt_str(helper, "cpe", origin, hpath),
                purl=purl,
                model_numbers=tuple(_str_list(helper, "model_numbers", origin, hpath)),
            ),
        )

    def _define(self, product_id: str, name: str, context: _Context, helper: _Helper) -> None:
        self.names.setdefault(product_id, name)
        if product_id in self.products:
            return  # the first definition wins; duplicates are a producer error
        versioned = self._versioned(context)
        identity = ProductIdentity(
            purl=helper.purl,
            cpe=helper.cpe,
            vendor=context.vendor,
            product=context.product or context.family or name,
            model_numbers=helper.model_numbers,
            product_ref=product_id,
        )
        self.products[product_id] = _Product(identity, versioned.ranges, versioned.version)

    def _versioned(self, context: _Context) -> _Product:
        """The ranges of a product from its version branches (cached: big trees repeat them)."""
        key = (context.version_kind, context.version, context.service_pack)
        cached = self._range_cache.get(key)
        if cached is not None:
            return cached
        kind, name, service_pack = key
        ranges: tuple[VersionRange, ...] = ()
        version: str | None = None
        if kind == "product_version_range" and name is not None:
            ranges = (parse_range_text(name),)
        elif kind == "product_version" and name is not None:
            if _VERSION_LOOKS_LIKE_RANGE.search(name):
                ranges = (parse_range_text(name),)
            else:
                version = _with_service_pack(name, service_pack)
        elif service_pack is not None:
            version = service_pack
        if version is not None:
            try:
                ranges = (exact_versions([version.strip()], raw=version),)
            except VersionError:  # an empty name: keep the text, never "all versions"
                ranges = (parse_range_text(version),)
                version = None
        result = _Product(identity=ProductIdentity(), ranges=ranges, version=version)
        self._range_cache[key] = result
        return result

    def _resolve(self, product_id: str, derived: dict[str, _Derived]) -> None:
        """Resolve a relationship/product-path product through its chain of components."""
        chain: list[str] = []
        seen: set[str] = set()
        current = product_id
        while current in derived and current not in self.products and current not in seen:
            seen.add(current)
            chain.append(current)
            current = derived[current].component
        base = self.products.get(current)
        for link in reversed(chain):
            spec = derived[link]
            conditions = tuple(self._condition(ref) for ref in spec.relates_to)
            if base is None:  # dangling component: keep what the relationship itself says
                identity = ProductIdentity(
                    purl=spec.helper.purl,
                    cpe=spec.helper.cpe,
                    model_numbers=spec.helper.model_numbers,
                    product_ref=link,
                )
                base = _Product(identity=identity, conditions=conditions)
            else:
                identity = dataclasses.replace(
                    base.identity,
                    purl=spec.helper.purl or base.identity.purl,
                    cpe=spec.helper.cpe or base.identity.cpe,
                    model_numbers=spec.helper.model_numbers or base.identity.model_numbers,
                    product_ref=link,
                )
                base = dataclasses.replace(
                    base, identity=identity, conditions=base.conditions + conditions
                )
            self.products[link] = base

    def _condition(self, product_id: str) -> tuple[str, ...]:
        """The alternatives that name the product a relationship depends on: its label, then
        what the inventory can check (purl, CPE, vendor + product + version)."""
        name = self.names.get(product_id)
        label = f"csaf:{product_id} {name}" if name else f"csaf:{product_id}"
        held = self.products.get(product_id)
        if held is None:
            return (label,)
        ident = held.identity
        alternatives = [label]
        if ident.purl:
            alternatives.append(ident.purl)
        if ident.cpe:
            alternatives.append(ident.cpe)
        if ident.vendor and ident.product:
            version = held.version
            if version is None and held.ranges:
                version = held.ranges[0].raw or None
            alternatives.append(product_condition(ident.vendor, ident.product, version))
        return tuple(alternatives)

    def _refs(self, owner: JsonObject, path: str, ids_key: str = "product_ids") -> tuple[str, ...]:
        """product ids plus the products of the named groups, in order, without repeats."""
        refs = dict.fromkeys(_str_list(owner, ids_key, self.origin, path))
        for index, group_id in enumerate(_str_list(owner, "group_ids", self.origin, path)):
            group = self.groups.get(group_id)
            if group is None:
                self.problems.append(
                    DocumentError(
                        self.origin,
                        jp(path, "group_ids", index),
                        f"product group {group_id!r} is not defined in the product tree",
                    )
                )
                continue
            refs.update(dict.fromkeys(group))
        return tuple(refs)

    # --- vulnerabilities --------------------------------------------------------------------

    def _vulnerability(self, index: int, item: Any, out: _Collected) -> None:
        origin = self.origin
        vpath = jp("$", "vulnerabilities", index)
        vuln = expect_object(item, origin, vpath)
        cve = opt_str(vuln, "cve", origin, vpath)
        id_texts: list[str] = []
        for id_index, id_item in enumerate(opt_list(vuln, "ids", origin, vpath)):
            ipath = jp(vpath, "ids", id_index)
            id_texts.append(req_str(expect_object(id_item, origin, ipath), "text", origin, ipath))
        if cve:
            out.vuln_ids[cve] = None
            out.aliases[cve] = None
        else:
            out.vuln_ids.update(dict.fromkeys(id_texts))
        out.aliases.update(dict.fromkeys(id_texts))
        vuln_id = cve or (id_texts[0] if id_texts else f"{self.tracking_id}#vuln{index}")

        justifications = self._flags_and_threats(vuln, vpath, vuln_id, out)
        self._product_status(vuln, vpath, vuln_id, justifications, out)
        self._remediations(vuln, vpath, vuln_id, out)
        self._scores(vuln, vpath, vuln_id, out)
        self._weaknesses(vuln, vpath, vuln_id, out)
        self._references(vuln, vpath, out)
        self._notes_and_involvements(vuln, vpath, vuln_id, out)

    def _flags_and_threats(
        self, vuln: JsonObject, vpath: str, vuln_id: str, out: _Collected
    ) -> dict[str, str]:
        """Keep flags and threats as statements; return the VEX justification per product
        (a flag's label first, else an impact threat's details)."""
        origin = self.origin
        from_flags: dict[str, str] = {}
        from_impact: dict[str, str] = {}
        for index, item in enumerate(opt_list(vuln, "flags", origin, vpath)):
            fpath = jp(vpath, "flags", index)
            flag = expect_object(item, origin, fpath)
            label = opt_str(flag, "label", origin, fpath)
            refs = self._refs(flag, fpath)
            out.statements.append(
                Statement(
                    kind="flag",
                    category=label,
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=parse_datetime(flag.get("date"), origin, jp(fpath, "date")),
                )
            )
            if label:
                for ref in refs:
                    from_flags.setdefault(ref, label)
        for index, item in enumerate(opt_list(vuln, "threats", origin, vpath)):
            tpath = jp(vpath, "threats", index)
            threat = expect_object(item, origin, tpath)
            category = opt_str(threat, "category", origin, tpath)
            details = opt_str(threat, "details", origin, tpath)
            refs = self._refs(threat, tpath)
            out.statements.append(
                Statement(
                    kind="threat",
                    category=category,
                    details=details,
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=parse_datetime(threat.get("date"), origin, jp(tpath, "date")),
                )
            )
            if category == "impact" and details:
                for ref in refs:
                    from_impact.setdefault(ref, details.strip())
        return from_impact | from_flags

    def _product(self, product_id: str) -> _Product:
        product = self.products.get(product_id)
        if product is None:  # a dangling reference: real advisories have them
            product = _Product(identity=ProductIdentity(product_ref=product_id))
            self.products[product_id] = product
        return product

    def _product_status(
        self,
        vuln: JsonObject,
        vpath: str,
        vuln_id: str,
        justifications: dict[str, str],
        out: _Collected,
    ) -> None:
        origin = self.origin
        spath = jp(vpath, "product_status")
        status_obj = opt_object(vuln, "product_status", origin, vpath)
        lists = [
            (key, status, _str_list(status_obj, key, origin, spath))
            for key, status in _STATUS_LISTS
        ]
        # Versions fixed per (vendor, product), for the affected siblings' fixed_versions.
        fixed_by_product: dict[tuple[str | None, str | None], dict[str, None]] = {}
        for _key, status, ids in lists:
            if status is not AffectedStatus.FIXED:
                continue
            for product_id in ids:
                product = self._product(product_id)
                if product.version is not None:
                    group = (product.identity.vendor, product.identity.product)
                    fixed_by_product.setdefault(group, {})[product.version] = None
        fixed_tuples = {group: tuple(versions) for group, versions in fixed_by_product.items()}

        seen: set[tuple[str, AffectedStatus]] = set()
        for key, status, ids in lists:
            for position, product_id in enumerate(ids):
                if (product_id, status) in seen:
                    continue
                seen.add((product_id, status))
                product = self._product(product_id)
                fixed_versions: tuple[str, ...] = ()
                if status is AffectedStatus.AFFECTED and fixed_tuples:
                    group = (product.identity.vendor, product.identity.product)
                    fixed_versions = fixed_tuples.get(group, ())
                out.affected.append(
                    AffectedProduct(
                        identity=product.identity,
                        status=status,
                        ranges=product.ranges,
                        vuln_id=vuln_id,
                        conditions=product.conditions,
                        justification=(
                            justifications.get(product_id)
                            if status is AffectedStatus.NOT_AFFECTED
                            else None
                        ),
                        fixed_versions=fixed_versions,
                        source_path=jp(spath, key, position),
                    )
                )

    def _remediations(self, vuln: JsonObject, vpath: str, vuln_id: str, out: _Collected) -> None:
        origin = self.origin
        for index, item in enumerate(opt_list(vuln, "remediations", origin, vpath)):
            rpath = jp(vpath, "remediations", index)
            rem = expect_object(item, origin, rpath)
            raw_category = req_str(rem, "category", origin, rpath)
            details = opt_str(rem, "details", origin, rpath)
            refs = self._refs(rem, rpath)
            date = parse_datetime(rem.get("date"), origin, jp(rpath, "date"))
            category = _REMEDIATION_CATEGORIES.get(raw_category)
            if category is None:  # a category newer than our model: keep it as said
                out.statements.append(
                    Statement(
                        kind="remediation",
                        category=raw_category,
                        details=details,
                        product_refs=refs,
                        vuln_id=vuln_id,
                        date=date,
                    )
                )
                continue
            out.remediations.append(
                Remediation(
                    category=category,
                    details=details,
                    url=opt_str(rem, "url", origin, rpath),
                    product_refs=refs,
                    vuln_id=vuln_id,
                    date=date,
                )
            )

    def _scores(self, vuln: JsonObject, vpath: str, vuln_id: str, out: _Collected) -> None:
        """CVSS vectors from 2.0 `scores` and 2.1 `metrics` (both are read whatever the
        declared version: producers mix them), one Score per distinct vector."""
        origin = self.origin
        found: dict[str, Score] = {}  # vector -> score, in document order
        blocks: list[tuple[JsonObject, str, tuple[str, ...], tuple[str, ...]]] = []
        for index, item in enumerate(opt_list(vuln, "scores", origin, vpath)):
            path = jp(vpath, "scores", index)
            block = expect_object(item, origin, path)
            blocks.append((block, path, _CVSS_KEYS_20, self._refs(block, path, "products")))
        for index, item in enumerate(opt_list(vuln, "metrics", origin, vpath)):
            path = jp(vpath, "metrics", index)
            metric = expect_object(item, origin, path)
            content = opt_object(metric, "content", origin, path)
            refs = self._refs(metric, path, "products")
            blocks.append((content, jp(path, "content"), _CVSS_KEYS_21, refs))
        for block, path, keys, refs in blocks:
            for key in keys:
                cvss = opt_object(block, key, origin, path)
                if not cvss:
                    continue
                cpath = jp(path, key)
                vector = req_str(cvss, "vectorString", origin, cpath).strip()
                known = found.get(vector)
                if known is not None:  # the same score stated for more products
                    merged = tuple(dict.fromkeys(known.product_refs + refs))
                    found[vector] = dataclasses.replace(known, product_refs=merged)
                    continue
                stated_version = opt_str(cvss, "version", origin, cpath)
                score = score_vector(
                    vector,
                    source=self.publisher,
                    vuln_id=vuln_id,
                    stated_score=opt_number(cvss, "baseScore", origin, cpath),
                    stated_version=stated_version,
                )
                found[vector] = dataclasses.replace(score, product_refs=refs)
        out.scores.extend(found.values())

    def _weaknesses(self, vuln: JsonObject, vpath: str, vuln_id: str, out: _Collected) -> None:
        origin = self.origin
        cwe = opt_object(vuln, "cwe", origin, vpath)  # CSAF 2.0
        if cwe:
            cwe_id = req_str(cwe, "id", origin, jp(vpath, "cwe"))
            out.weaknesses[Weakness(cwe_id=cwe_id, vuln_id=vuln_id)] = None
        for index, item in enumerate(opt_list(vuln, "cwes", origin, vpath)):  # CSAF 2.1
            path = jp(vpath, "cwes", index)
            cwe_id = req_str(expect_object(item, origin, path), "id", origin, path)
            out.weaknesses[Weakness(cwe_id=cwe_id, vuln_id=vuln_id)] = None

    def _notes_and_involvements(
        self, vuln: JsonObject, vpath: str, vuln_id: str, out: _Collected
    ) -> None:
        origin = self.origin
        for index, item in enumerate(opt_list(vuln, "notes", origin, vpath)):
            path = jp(vpath, "notes", index)
            note = expect_object(item, origin, path)
            category = opt_str(note, "category", origin, path)
            text = opt_str(note, "text", origin, path)
            if category in _KEPT_NOTE_CATEGORIES and text:
                out.statements.append(
                    Statement(kind="note", category=category, details=text, vuln_id=vuln_id)
                )
        for index, item in enumerate(opt_list(vuln, "involvements", origin, vpath)):
            path = jp(vpath, "involvements", index)
            involvement = expect_object(item, origin, path)
            party = opt_str(involvement, "party", origin, path)
            status = opt_str(involvement, "status", origin, path)
            out.statements.append(
                Statement(
                    kind="involvement",
                    category=f"{party}:{status}" if party and status else (party or status),
                    details=opt_str(involvement, "summary", origin, path),
                    vuln_id=vuln_id,
                    date=parse_datetime(involvement.get("date"), origin, jp(path, "date")),
                )
            )


def _with_service_pack(version: str, service_pack: str | None) -> str:
    """The version a product_version + service_pack pair names. Cisco writes the full release
    as the service pack ('12.2SE' / '12.2(55)SE'); others write only the pack ('13' / 'SP2')."""
    if not service_pack:
        return version
    if service_pack[:1].isdigit():
        return service_pack
    return f"{version} {service_pack}"
