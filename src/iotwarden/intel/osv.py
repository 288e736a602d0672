"""OSV 1.x records (one record, or a JSON array of records streamed element by element).

The per-record path is kept lean on purpose: full OSV feeds have hundreds of thousands of
records, so fields are checked by hand where they are read (no JSON Schema per record) and
JSON paths are only built when something is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import DocumentError, VersionError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    Constraint,
    ProductIdentity,
    RangeKind,
    Reference,
    Remediation,
    RemediationCategory,
    Score,
    Statement,
    VersionRange,
    Weakness,
)
from iotwarden.core.versions import (
    exact_versions,
    from_osv_events,
    scheme_for_ecosystem,
    unparsed,
)
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff
from iotwarden.intel.reading import (
    JsonObject,
    describe_kind,
    expect_list,
    iter_json_items,
    jp,
    opt_list,
    opt_str,
    parse_datetime,
    raw_bytes,
    req_str,
    whole_json,
)

_EVENT_KINDS = frozenset({"introduced", "fixed", "last_affected", "limit"})
_ZERO = dt.timedelta(0)
_CVSS_TYPES = frozenset({"CVSS_V2", "CVSS_V3", "CVSS_V4"})


class OsvParser(AdvisoryParser):
    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.OSV
    title: ClassVar[str] = "OSV 1.x"
    description: ClassVar[str] = (
        "Open Source Vulnerability records (https://ossf.github.io/osv-schema/): one record per "
        "file, or a JSON array of records (streamed when large). One advisory per record, keyed "
        "by its id; aliases stay aliases, upstream ids are kept as upstream (they find the record "
        "but do not merge it with them). Each affected package becomes a "
        "product (purl, ecosystem, name) with its ranges: SEMVER and ECOSYSTEM events become "
        "`vers` constraints in the ecosystem's scheme (introduced and last_affected inclusive, "
        "fixed exclusive), the `versions` list an exact-versions range, GIT ranges are kept as "
        "commit ranges (a record with only GIT ranges is marked git-only), unknown range types "
        "are kept unparsed. Fixed versions become upgrade remediations; CVSS vectors are "
        "scored; `withdrawn` marks the advisory withdrawn."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind == "json-object":
            keys = sniff.top_keys
            return (
                "id" in keys
                and "modified" in keys
                and "document" not in keys
                and "cveMetadata" not in keys
            )
        if sniff.kind == "json-array":
            return "id" in sniff.first_item_keys and "modified" in sniff.first_item_keys
        return False

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        origin = doc.origin
        if sniff.kind == "json-array":
            items: Iterator[tuple[int, Any]]
            if sniff.document is None:
                items = iter_json_items(doc, "item", "$")
            else:
                items = enumerate(expect_list(sniff.document, origin, "$"))
            for index, item in items:
                try:
                    yield parse_record(item, origin, f"$[{index}]")
                except DocumentError as e:
                    yield e
            return
        yield parse_record(whole_json(doc, sniff), origin, "$")


def parse_record(record: Any, origin: str, path: str = "$") -> Advisory:
    """One OSV record as an Advisory. Raises DocumentError naming the JSON path of a fault."""
    if not isinstance(record, dict):
        raise DocumentError(
            origin, path, f"expected an OSV record (an object), found {describe_kind(record)}"
        )
    osv_id = req_str(record, "id", origin, path)
    modified_text = req_str(record, "modified", origin, path)
    modified = _timestamp(modified_text, origin, path, "modified")
    published = _timestamp(record.get("published"), origin, path, "published")
    withdrawn_at = _timestamp(record.get("withdrawn"), origin, path, "withdrawn")

    aliases = _aliases(record, osv_id, origin, path)
    upstream = tuple(
        u for u in _aliases(record, osv_id, origin, path, "upstream") if u not in aliases
    )
    scores: list[Score] = []
    statements: list[Statement] = []
    severity = record.get("severity")
    if severity:
        _severities(severity, osv_id, origin, path + ".severity", (scores, statements))

    affected: list[AffectedProduct] = []
    remediations: list[Remediation] = []
    range_count = 0
    git_count = 0
    has_versions_list = False
    affected_list = record.get("affected")
    if affected_list:
        if not isinstance(affected_list, list):
            raise DocumentError(origin, jp(path, "affected"), _expected("an array", affected_list))
        for i, entry in enumerate(affected_list):
            product, n_ranges, n_git, listed = _affected(entry, origin, path, i)
            affected.append(product)
            range_count += n_ranges
            git_count += n_git
            has_versions_list = has_versions_list or listed
            if product.fixed_versions:
                refs = (product.identity.product_ref,) if product.identity.product_ref else ()
                remediations.append(
                    Remediation(
                        category=RemediationCategory.UPGRADE,
                        product_refs=refs,
                        fixed_versions=product.fixed_versions,
                        vuln_id=osv_id,
                    )
                )
            entry_severity = entry.get("severity")
            if entry_severity:
                entry_path = f"{path}.affected[{i}].severity"
                _severities(entry_severity, osv_id, origin, entry_path, (scores, statements))

    return Advisory(
        source=AdvisoryFormat.OSV,
        key=osv_id,
        id=osv_id,
        aliases=aliases,
        upstream=upstream,
        vuln_ids=(osv_id,),
        title=opt_str(record, "summary", origin, path),
        description=opt_str(record, "details", origin, path),
        published=published,
        modified=modified,
        revision=modified_text,
        spec_version=opt_str(record, "schema_version", origin, path),
        status=AdvisoryStatus.WITHDRAWN if withdrawn_at else AdvisoryStatus.ACTIVE,
        withdrawn_at=withdrawn_at,
        git_only=range_count > 0 and git_count == range_count and not has_versions_list,
        affected=tuple(affected),
        remediations=tuple(remediations),
        scores=tuple(dict.fromkeys(scores)),
        weaknesses=_weaknesses(record, osv_id),
        references=_references(record, origin, path),
        statements=tuple(statements),
        raw=raw_bytes(record),
    )


def _aliases(
    record: JsonObject, osv_id: str, origin: str, path: str, key: str = "aliases"
) -> tuple[str, ...]:
    """The ids listed under ``key`` ('aliases', or 'upstream': the vulnerabilities a
    downstream record derives from, which are not other names of it)."""
    found: dict[str, None] = {}
    values = record.get(key)
    if not values:
        return ()
    if not isinstance(values, list):
        raise DocumentError(origin, jp(path, key), _expected("an array", values))
    for j, value in enumerate(values):
        if not isinstance(value, str):
            raise DocumentError(origin, jp(path, key, j), _expected("a string", value))
        if value != osv_id:
            found[value] = None
    return tuple(found)


def _score_source(osv_id: str) -> str | None:
    """The database that scored the record: its id prefix (GHSA, PYSEC, USN, ...)."""
    prefix, sep, _ = osv_id.partition("-")
    return prefix if sep and prefix else None


def _severities(
    severity: Any,
    osv_id: str,
    origin: str,
    path: str,
    into: tuple[list[Score], list[Statement]],
) -> None:
    scores, statements = into
    source = _score_source(osv_id)
    if not isinstance(severity, list):
        raise DocumentError(origin, path, _expected("an array", severity))
    for k, item in enumerate(severity):
        if not isinstance(item, dict):
            raise DocumentError(origin, jp(path, k), _expected("an object", item))
        item_path = f"{path}[{k}]"
        kind = req_str(item, "type", origin, item_path)
        value = req_str(item, "score", origin, item_path)
        if kind in _CVSS_TYPES:
            scores.append(score_vector(value, source=source, vuln_id=osv_id))
        else:
            # e.g. Ubuntu's own priority words ("medium"): not a vector, keep it as stated
            statements.append(
                Statement(kind="severity", category=kind, details=value, vuln_id=osv_id)
            )


def _weaknesses(record: JsonObject, osv_id: str) -> tuple[Weakness, ...]:
    # database_specific is free-form: read the GHSA convention leniently, never fail on it
    specific = record.get("database_specific")
    if not isinstance(specific, dict):
        return ()
    cwe_ids = specific.get("cwe_ids")
    if not isinstance(cwe_ids, list):
        return ()
    return tuple(
        Weakness(cwe_id=cwe, vuln_id=osv_id)
        for cwe in dict.fromkeys(c for c in cwe_ids if isinstance(c, str) and c)
    )


def _references(record: JsonObject, origin: str, path: str) -> tuple[Reference, ...]:
    refs = record.get("references")
    if not refs:
        return ()
    if not isinstance(refs, list):
        raise DocumentError(origin, jp(path, "references"), _expected("an array", refs))
    out = []
    for k, ref in enumerate(refs):
        ref_path = f"{path}.references[{k}]"
        if not isinstance(ref, dict):
            raise DocumentError(origin, ref_path, _expected("an object", ref))
        out.append(
            Reference(
                url=req_str(ref, "url", origin, ref_path),
                type=opt_str(ref, "type", origin, ref_path),
            )
        )
    return tuple(out)


def _affected(
    entry: Any, origin: str, path: str, index: int
) -> tuple[AffectedProduct, int, int, bool]:
    """One affected entry: the product, its range count, GIT range count, has a versions list."""
    entry_path = f"{path}.affected[{index}]"
    if not isinstance(entry, dict):
        raise DocumentError(origin, entry_path, _expected("an object", entry))
    package = entry.get("package")
    ecosystem: str | None = None
    name: str | None = None
    purl: str | None = None
    if package is not None:
        package_path = entry_path + ".package"
        if not isinstance(package, dict):
            raise DocumentError(origin, package_path, _expected("an object", package))
        ecosystem = req_str(package, "ecosystem", origin, package_path)
        name = req_str(package, "name", origin, package_path)
        purl = opt_str(package, "purl", origin, package_path) or None
    scheme = scheme_for_ecosystem(ecosystem)

    ranges: list[VersionRange] = []
    fixed: dict[str, None] = {}
    git_count = 0
    first_repo: str | None = None
    for j, range_obj in enumerate(opt_list(entry, "ranges", origin, entry_path)):
        version_range, range_fixed = _range(range_obj, scheme, origin, f"{entry_path}.ranges[{j}]")
        ranges.append(version_range)
        if version_range.kind is RangeKind.GIT:
            git_count += 1
            if first_repo is None:
                first_repo = range_obj.get("repo")
        else:
            for version in range_fixed:
                fixed[version] = None

    versions = entry.get("versions")
    has_versions = False
    if versions:
        versions_path = entry_path + ".versions"
        if not isinstance(versions, list):
            raise DocumentError(origin, versions_path, _expected("an array", versions))
        for k, version in enumerate(versions):
            if not isinstance(version, str):
                raise DocumentError(origin, jp(versions_path, k), _expected("a string", version))
        try:
            ranges.append(exact_versions(versions, scheme))
            has_versions = True
        except VersionError:
            pass  # only empty strings: no version to list
    range_count = len(ranges) - (1 if has_versions else 0)

    if ecosystem is not None and name is not None:
        product_ref: str | None = f"{ecosystem}/{name}"
    else:
        product_ref = first_repo if isinstance(first_repo, str) else None
    identity = ProductIdentity(
        purl=purl, product=name, ecosystem=ecosystem, product_ref=product_ref
    )
    product = AffectedProduct(
        identity=identity,
        status=AffectedStatus.AFFECTED,
        ranges=tuple(ranges),
        fixed_versions=tuple(fixed),
        source_path=entry_path,
    )
    return product, range_count, git_count, has_versions


def _range(range_obj: Any, scheme: str, origin: str, path: str) -> tuple[VersionRange, list[str]]:
    """One OSV range and the versions its `fixed` events name."""
    if not isinstance(range_obj, dict):
        raise DocumentError(origin, path, _expected("an object", range_obj))
    range_type = req_str(range_obj, "type", origin, path)
    if range_type not in ("SEMVER", "ECOSYSTEM", "GIT"):
        # a type this version of the schema does not define: keep it verbatim
        return unparsed(orjson.dumps(range_obj).decode(), scheme), []
    events = range_obj.get("events")
    if not isinstance(events, list):
        if events is None:
            raise DocumentError(origin, path + ".events", "required field is missing")
        raise DocumentError(origin, path + ".events", _expected("an array", events))
    if not events:
        raise DocumentError(origin, path + ".events", "an OSV range needs at least one event")
    pairs: list[tuple[str, str]] = []
    fixed: list[str] = []
    for k, event in enumerate(events):
        if not isinstance(event, dict) or len(event) != 1:
            raise DocumentError(
                origin,
                f"{path}.events[{k}]",
                "an event must be an object with exactly one of "
                "introduced, fixed, last_affected or limit",
            )
        ((kind, value),) = event.items()
        if kind not in _EVENT_KINDS:
            raise DocumentError(origin, f"{path}.events[{k}]", f"unknown event {kind!r}")
        if not isinstance(value, str):
            raise DocumentError(origin, f"{path}.events[{k}].{kind}", _expected("a string", value))
        pairs.append((kind, value))
        if kind == "fixed":
            fixed.append(value)
    raw = " ".join(f"{kind}={value}" for kind, value in pairs)
    if range_type == "GIT":
        repo = opt_str(range_obj, "repo", origin, path)
        return VersionRange(
            kind=RangeKind.GIT, scheme="git", raw=f"{repo} {raw}" if repo else raw
        ), fixed
    range_scheme = "semver" if range_type == "SEMVER" else scheme
    if len(pairs) == 2 and pairs[0][0] == "introduced" and pairs[0][1] != "0":
        end_kind, end = pairs[1]
        if end_kind in ("fixed", "last_affected"):
            # The common single interval, built directly: from_osv_events would parse both
            # versions only to sort two constraints that a valid record already has in order
            # (and range_contains orders bounds itself), which dominates the cost of big feeds.
            constraints = (
                Constraint(">=", pairs[0][1]),
                Constraint("<" if end_kind == "fixed" else "<=", end),
            )
            return VersionRange(RangeKind.CONSTRAINTS, range_scheme, constraints, raw), fixed
    try:
        return from_osv_events(range_scheme, pairs, raw=raw), fixed
    except VersionError:
        # no `introduced` event: not a range we can evaluate, but keep what it says
        return unparsed(raw, range_scheme), fixed


def _timestamp(value: Any, origin: str, path: str, key: str) -> dt.datetime | None:
    """An aware UTC datetime. OSV timestamps are RFC 3339 in UTC, which fromisoformat reads
    directly; anything else goes through the general parser (and its error reporting)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if stamp.tzinfo is None:
                return stamp.replace(tzinfo=dt.UTC)
            return stamp if stamp.utcoffset() == _ZERO else stamp.astimezone(dt.UTC)
    return parse_datetime(value, origin, jp(path, key))


def _expected(what: str, value: Any) -> str:
    return f"expected {what}, found {describe_kind(value)}"
