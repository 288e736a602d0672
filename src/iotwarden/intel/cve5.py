"""CVE JSON 5.x records (CVE Services, cvelistV5): one Advisory per record, built from the CNA
container and every ADP container (CISA's SSVC decisions and KEV facts, scores, CWEs)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import DocumentError, VersionError
from iotwarden.core.identifiers import IdentifierError, parse_cpe
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    AffectedStatus,
    KevEntry,
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
    all_versions,
    compare_versions,
    exact_versions,
    from_bounds,
    next_series,
    no_version,
    parse_range_text,
    range_contains,
    unparsed,
)
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff
from iotwarden.intel.reading import (
    JsonObject,
    expect_list,
    expect_object,
    jp,
    opt_list,
    opt_number,
    opt_object,
    opt_str,
    parse_date,
    parse_datetime,
    raw_bytes,
    req_str,
    whole_json,
)

_STATUSES = {
    "affected": AffectedStatus.AFFECTED,
    "unaffected": AffectedStatus.NOT_AFFECTED,
    "unknown": AffectedStatus.UNKNOWN,
}

# CVE 5 versionType -> our version scheme. Anything else ("custom", "original_commit_for_fix")
# falls back to what the collectionURL says, else "generic".
_VERSION_TYPES = {
    "semver": "semver",
    "maven": "maven",
    "python": "pypi",
    "pypi": "pypi",
    "rpm": "rpm",
    "deb": "deb",
    "debian": "deb",
    "npm": "npm",
    "go": "golang",
    "golang": "golang",
    "cargo": "cargo",
    "gem": "gem",
    "nuget": "nuget",
}

# Package registries named by collectionURL -> version scheme (used when versionType is silent).
_COLLECTION_HOSTS = {
    "pypi.org": "pypi",
    "pypi.python.org": "pypi",
    "www.npmjs.com": "npm",
    "registry.npmjs.org": "npm",
    "repo.maven.apache.org": "maven",
    "repo1.maven.org": "maven",
    "crates.io": "cargo",
    "rubygems.org": "gem",
    "www.nuget.org": "nuget",
    "pkg.go.dev": "golang",
    "proxy.golang.org": "golang",
    "packagist.org": "composer",
}

# Values CNAs write when they do not know: never a product name, never "all versions".
_UNKNOWN_WORDS = frozenset({"n/a", "na", "unknown", "unspecified", "[unknown]", "none", ""})
# Starts that mean "from the first version".
_OPEN_STARTS = frozenset({"0", "*"})
# A series wildcard: '5.15.*', '4.x'.
_SERIES = re.compile(r"^(\d+(?:\.\d+)*)\.[*xX]$")
# A bound that starts like a version ('4*', 'v2*'), not like a name ('log4j-core*').
_VERSION_START = re.compile(r"^[vV]?\d")
# Free text in the version field ('>= 1.7.0, < 1.18.4', '11 and 12', '< 1.10.5').
_RANGE_TEXT = re.compile(r"[<>=,|]|\s")
_CWE = re.compile(r"^CWE-\d+")
_SSVC_NAMES = {
    "exploitation": "Exploitation",
    "automatable": "Automatable",
    "technicalimpact": "Technical Impact",
    "technical impact": "Technical Impact",
}


class Cve5Parser(AdvisoryParser):
    """CVE JSON 5.x record format (dataType CVE_RECORD)."""

    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.CVE5
    title: ClassVar[str] = "CVE JSON 5.x"
    description: ClassVar[str] = (
        "One CVE record (cvelistV5 / CVE Services, dataVersion 5.0-5.2). Reads the CNA and every "
        "ADP container: affected[] (vendor/product, packageName, collectionURL, cpes, "
        "defaultStatus, versions with lessThan/lessThanOrEqual and status changes split into "
        "intervals; 'n/a' and 'unspecified' are kept as unparsed ranges, never 'all versions'), "
        "cpeApplicability, CVSS v2/v3.0/v3.1/v4.0 metrics, CISA SSVC decisions (statements) and "
        "KEV facts, CWEs, references, solutions and workarounds. REJECTED records are kept with "
        "status 'rejected'."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object":
            return False
        return "cveMetadata" in sniff.top_keys or sniff.top_scalars.get("dataType") == "CVE_RECORD"

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        record = expect_object(whole_json(doc, sniff), doc.origin, "$")
        yield read_cve_record(record, doc.origin, "$")


# --- the record -------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What the containers of one record say, gathered in document order."""

    affected: list[AffectedProduct]
    remediations: list[Remediation]
    scores: list[Score]
    weaknesses: list[Weakness]
    references: dict[str, list[str]]
    statements: list[Statement]
    kev: list[KevEntry]


def read_cve_record(record: JsonObject, origin: str, path: str = "$") -> Advisory:
    """Normalise one CVE JSON 5 record. Raises DocumentError (with the JSON path) when it is
    malformed."""
    meta_path = jp(path, "cveMetadata")
    meta = expect_object(record.get("cveMetadata"), origin, meta_path)
    cve_id = req_str(meta, "cveId", origin, meta_path)
    state = opt_str(meta, "state", origin, meta_path)
    data_version = opt_str(record, "dataVersion", origin, path)
    published = parse_datetime(meta.get("datePublished"), origin, jp(meta_path, "datePublished"))
    modified = parse_datetime(meta.get("dateUpdated"), origin, jp(meta_path, "dateUpdated"))
    rejected_at = parse_datetime(meta.get("dateRejected"), origin, jp(meta_path, "dateRejected"))
    assigner = opt_str(meta, "assignerShortName", origin, meta_path)

    containers_path = jp(path, "containers")
    containers = expect_object(record.get("containers"), origin, containers_path)
    cna_path = jp(containers_path, "cna")
    cna = expect_object(containers.get("cna"), origin, cna_path)
    title = opt_str(cna, "title", origin, cna_path)

    rejected = state == "REJECTED"
    if rejected:
        reasons_path = jp(cna_path, "rejectedReasons")
        description = english_text(
            opt_list(cna, "rejectedReasons", origin, cna_path), origin, reasons_path
        )
    else:
        descriptions_path = jp(cna_path, "descriptions")
        description = english_text(
            opt_list(cna, "descriptions", origin, cna_path), origin, descriptions_path
        )

    facts = _Facts([], [], [], [], {}, [], [])
    cna_name = _provider_name(cna, origin, cna_path) or assigner
    _read_container(cna, cna_name, origin, cna_path, cve_id, facts=facts)
    adp_path = jp(containers_path, "adp")
    for index, item in enumerate(opt_list(containers, "adp", origin, containers_path)):
        item_path = jp(adp_path, index)
        adp = expect_object(item, origin, item_path)
        _read_container(
            adp, _provider_name(adp, origin, item_path), origin, item_path, cve_id, facts=facts
        )

    return Advisory(
        source=AdvisoryFormat.CVE5,
        key=cve_id,
        id=cve_id,
        aliases=(),
        vuln_ids=(cve_id,),
        title=title,
        description=description,
        published=published,
        modified=modified,
        # The contract keeps CVE's dataVersion here; it is the schema version, so ordering
        # revisions of one record goes by `modified` (cveMetadata.dateUpdated).
        revision=data_version,
        spec_version=data_version,
        status=AdvisoryStatus.REJECTED if rejected else AdvisoryStatus.ACTIVE,
        withdrawn_at=(rejected_at or published) if rejected else None,
        publisher=assigner,
        affected=tuple(facts.affected),
        remediations=tuple(facts.remediations),
        scores=tuple(facts.scores),
        weaknesses=tuple(dict.fromkeys(facts.weaknesses)),
        references=merged_references(facts.references),
        statements=tuple(facts.statements),
        kev=tuple(facts.kev),
        raw=raw_bytes(record),
    )


def _provider_name(container: JsonObject, origin: str, path: str) -> str | None:
    provider_path = jp(path, "providerMetadata")
    provider = opt_object(container, "providerMetadata", origin, path)
    return opt_str(provider, "shortName", origin, provider_path)


def _read_container(
    container: JsonObject,
    name: str | None,
    origin: str,
    path: str,
    cve_id: str,
    *,
    facts: _Facts,
) -> None:
    products, fixes = read_affected(
        opt_list(container, "affected", origin, path), origin, jp(path, "affected"), cve_id
    )
    facts.affected.extend(products)
    facts.remediations.extend(fixes)
    facts.affected.extend(
        read_configurations(
            opt_list(container, "cpeApplicability", origin, path),
            origin,
            jp(path, "cpeApplicability"),
            cve_id,
        )
    )
    _read_metrics(container, name, origin, path, cve_id, facts=facts)
    _read_problem_types(container, origin, path, cve_id, facts)
    add_references(
        opt_list(container, "references", origin, path),
        origin,
        jp(path, "references"),
        facts.references,
    )
    for key, category in (
        ("solutions", RemediationCategory.VENDOR_FIX),
        ("workarounds", RemediationCategory.WORKAROUND),
    ):
        text = english_text(opt_list(container, key, origin, path), origin, jp(path, key))
        if text:
            facts.remediations.append(Remediation(category, details=text, vuln_id=cve_id))
    for index, tag in enumerate(opt_list(container, "tags", origin, path)):
        if not isinstance(tag, str):
            raise DocumentError(origin, jp(path, "tags", index), "expected a string")
        facts.statements.append(Statement(kind="tag", category=name, details=tag, vuln_id=cve_id))


def english_text(items: list[Any], origin: str, path: str) -> str | None:
    """The value of the first English entry of a [{lang, value}] list (else the first one)."""
    first: str | None = None
    for index, item in enumerate(items):
        item_path = jp(path, index)
        entry = expect_object(item, origin, item_path)
        value = req_str(entry, "value", origin, item_path)
        lang = opt_str(entry, "lang", origin, item_path) or ""
        if lang.lower().startswith("en"):
            return value
        if first is None:
            first = value
    return first


# --- affected[] ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """One interval (or version set) with one status, from a versions[] entry."""

    status: AffectedStatus
    range: VersionRange
    start: str | None  # the first version of the interval, when known (fix detection)


def read_affected(
    entries: list[Any], origin: str, path: str, vuln_id: str
) -> tuple[list[AffectedProduct], list[Remediation]]:
    """CVE 5 affected[] entries (also NVD's `affected[].affectedData[]`): one AffectedProduct
    per (product, status, CPE) of each entry, and an UPGRADE remediation per entry that names
    fixed versions (an unaffected interval above an affected one)."""
    products: list[AffectedProduct] = []
    remediations: list[Remediation] = []
    for index, item in enumerate(entries):
        entry_path = jp(path, index)
        entry = expect_object(item, origin, entry_path)
        found, fixed = _read_affected_entry(entry, origin, entry_path, vuln_id)
        products.extend(found)
        if fixed:
            identity = found[0].identity if found else ProductIdentity()
            label = " ".join(p for p in (identity.vendor, identity.product) if p)
            details = f"upgrade {label or 'the product'} to a fixed version: " + ", ".join(fixed)
            remediations.append(
                Remediation(
                    RemediationCategory.UPGRADE,
                    details=details,
                    fixed_versions=fixed,
                    vuln_id=vuln_id,
                )
            )
    return products, remediations


def _read_affected_entry(
    entry: JsonObject, origin: str, path: str, vuln_id: str
) -> tuple[list[AffectedProduct], tuple[str, ...]]:
    vendor = _known_name(opt_str(entry, "vendor", origin, path))
    product = _known_name(opt_str(entry, "product", origin, path))
    package = _known_name(opt_str(entry, "packageName", origin, path))
    collection = opt_str(entry, "collectionURL", origin, path)
    cpes: list[str] = []
    for index, value in enumerate(opt_list(entry, "cpes", origin, path)):
        if not isinstance(value, str):
            raise DocumentError(origin, jp(path, "cpes", index), "expected a CPE string")
        cpes.append(_formatted_cpe(value))
    default_text = opt_str(entry, "defaultStatus", origin, path)
    default = _status(default_text, origin, jp(path, "defaultStatus")) if default_text else None
    identity = ProductIdentity(
        vendor=vendor,
        product=product or package,
        product_ref=package,
        ecosystem=collection,
    )
    scheme = _collection_scheme(collection)

    segments: list[_Segment] = []
    versions_path = jp(path, "versions")
    for index, item in enumerate(opt_list(entry, "versions", origin, path)):
        segments.extend(_read_version(item, origin, jp(versions_path, index), scheme))
    if not segments and default is not None:
        # No versions listed: the default status is the statement about every version.
        segments.append(
            _Segment(default, all_versions(scheme, f"defaultStatus: {default_text}"), None)
        )

    fixed = _fixed_versions(segments, default)
    by_status: dict[AffectedStatus, list[VersionRange]] = {}
    for segment in segments:
        ranges = by_status.setdefault(segment.status, [])
        if segment.range not in ranges:
            ranges.append(segment.range)
    if not by_status:
        by_status[AffectedStatus.UNKNOWN] = []

    products: list[AffectedProduct] = []
    for status, ranges in by_status.items():
        base = AffectedProduct(
            identity=identity,
            status=status,
            ranges=tuple(ranges),
            vuln_id=vuln_id,
            default_status=default,
            fixed_versions=fixed if status is AffectedStatus.AFFECTED else (),
            source_path=path,
        )
        if not cpes:
            products.append(base)
        for cpe in cpes:
            products.append(replace(base, identity=replace(identity, cpe=cpe)))
    return products, fixed


def _read_version(item: Any, origin: str, path: str, scheme: str) -> list[_Segment]:
    entry = expect_object(item, origin, path)
    version = req_str(entry, "version", origin, path)
    status = _status(req_str(entry, "status", origin, path), origin, jp(path, "status"))
    version_type = opt_str(entry, "versionType", origin, path)
    less_than = opt_str(entry, "lessThan", origin, path)
    less_equal = opt_str(entry, "lessThanOrEqual", origin, path)
    changes = opt_list(entry, "changes", origin, path)
    if version_type:
        scheme = _VERSION_TYPES.get(version_type.strip().lower(), scheme)
    raw = _compact(entry)

    if version_type and version_type.strip().lower() == "git":
        # Commits, not versions: kept as a GIT range for a matcher that can walk history.
        return [_Segment(status, VersionRange(kind=RangeKind.GIT, scheme="git", raw=raw), None)]
    if less_than is not None and less_equal is not None:
        raise DocumentError(
            origin, jp(path, "lessThanOrEqual"), "lessThan and lessThanOrEqual are both given"
        )
    end_text = less_than if less_than is not None else less_equal
    if end_text is None and not changes:
        return [_Segment(status, _single_version(version, scheme), _plain_start(version))]

    start, start_known = _interval_start(version)
    end: str | None = None
    end_inclusive = False
    end_known = True
    if end_text is not None:
        end, end_inclusive, end_known = _interval_end(end_text, inclusive=less_equal is not None)
    if not start_known and end is None:
        end_known = False  # 'unspecified' to '*' says nothing about which versions

    points = _sorted_changes(changes, origin, jp(path, "changes"), scheme)
    starts: list[str | None] = [start]
    statuses = [status]
    for at, change_status in points:
        starts.append(at)
        statuses.append(change_status)
    segments: list[_Segment] = []
    for index, seg_start in enumerate(starts):
        last = index == len(starts) - 1
        if last and not end_known:
            rng = unparsed(raw, scheme)
        elif last and seg_start is not None and seg_start == end and end_inclusive:
            rng = exact_versions([seg_start], scheme, raw=raw)  # curl: '8.9.0' to '<= 8.9.0'
        else:
            seg_end = end if last else starts[index + 1]
            rng = from_bounds(
                scheme,
                seg_start,
                end=seg_end,
                end_inclusive=end_inclusive if last else False,
                raw=raw,
            )
        open_start = seg_start is None or seg_start in _OPEN_STARTS
        segments.append(_Segment(statuses[index], rng, None if open_start else seg_start))
    return segments


def _interval_start(version: str) -> tuple[str | None, bool]:
    """(start, known): None is "from the first version"."""
    text = version.strip()
    if text.lower() in _UNKNOWN_WORDS:
        # Snyk-style "unspecified" lessThan X reads as "before X".
        return None, False
    if text in _OPEN_STARTS:
        return None, True
    return text, True


def _interval_end(text: str, *, inclusive: bool) -> tuple[str | None, bool, bool]:
    """(end, inclusive, known) for a lessThan / lessThanOrEqual value."""
    value = text.strip()
    if value == "*":
        return None, False, True
    series = _SERIES.match(value)
    if series:
        prefix = series.group(1)
        # '<= 5.15.*' is everything in the 5.15 series: below 5.16; '< 5.15.*' is below 5.15.
        return (next_series(prefix) if inclusive else prefix), False, True
    if value.endswith("*"):
        if _VERSION_START.match(value):
            # A version with a wildcard that is not a series ('4*'): unreadable, kept as text.
            return None, False, False
        # A name with a wildcard ('log4j-core*', Apache's way): no upper bound was meant.
        return None, False, True
    if value.lower() in _UNKNOWN_WORDS or not any(ch.isdigit() for ch in value):
        return None, False, False
    return value, inclusive, True


def _single_version(version: str, scheme: str) -> VersionRange:
    text = version.strip()
    if text == "*":
        return all_versions(scheme, version)
    if text.lower() in _UNKNOWN_WORDS:
        return unparsed(version, scheme)
    series = _SERIES.match(text)
    if series:
        prefix = series.group(1)
        return from_bounds(scheme, prefix, end=next_series(prefix), raw=version)
    if _RANGE_TEXT.search(text) or "*" in text:
        return parse_range_text(version, scheme)
    return exact_versions([text], scheme, raw=version)


def _plain_start(version: str) -> str | None:
    text = version.strip()
    if (
        text.lower() in _UNKNOWN_WORDS
        or text in _OPEN_STARTS
        or _RANGE_TEXT.search(text)
        or "*" in text
    ):
        return None
    if _SERIES.match(text):
        return None
    return text


def _sorted_changes(
    changes: list[Any], origin: str, path: str, scheme: str
) -> list[tuple[str, AffectedStatus]]:
    points: list[tuple[str, AffectedStatus]] = []
    for index, item in enumerate(changes):
        item_path = jp(path, index)
        change = expect_object(item, origin, item_path)
        at = req_str(change, "at", origin, item_path)
        status = _status(
            req_str(change, "status", origin, item_path), origin, jp(item_path, "status")
        )
        points.append((at, status))
    # The schema asks readers to sort the changes themselves.
    try:
        ordered = sorted(points, key=_change_key(scheme))
    except VersionError:
        return points
    return ordered


def _change_key(scheme: str) -> Any:
    def compare(a: tuple[str, AffectedStatus], b: tuple[str, AffectedStatus]) -> int:
        return compare_versions(scheme, a[0], b[0])

    return functools.cmp_to_key(compare)


def _fixed_versions(segments: list[_Segment], default: AffectedStatus | None) -> tuple[str, ...]:
    """The versions that fix the vulnerability, in document order:

    - the start of an unaffected interval (or an unaffected version) that lies outside every
      affected interval and at or above the end of one (anywhere when every other version is
      affected: defaultStatus affected, or an affected '*');
    - the exclusive end (lessThan, or the next change) of an affected interval when the version
      there is unaffected: an unaffected interval holds it, or no interval does and the default
      status is unaffected (or not given).

    An unaffected version inside an affected interval is not one: it would be a downgrade.
    """
    affected = [s.range for s in segments if s.status is AffectedStatus.AFFECTED]
    bounded = [r for r in affected if r.kind is not RangeKind.ALL]
    # '*' affected speaks of every version, as defaultStatus does
    rest_affected = default is AffectedStatus.AFFECTED or len(bounded) < len(affected)
    unaffected = [s.range for s in segments if s.status is AffectedStatus.NOT_AFFECTED]
    unknown = [s.range for s in segments if s.status is AffectedStatus.UNKNOWN]
    # versions no entry lists are unaffected (an absent defaultStatus is read that way too)
    unlisted_unaffected = not rest_affected and default in (AffectedStatus.NOT_AFFECTED, None)

    def held(ranges: list[VersionRange], version: str) -> bool:
        return any(range_contains(r, version) is True for r in ranges)

    fixed: list[str] = []
    for segment in segments:
        candidate: str | None = None
        if segment.status is AffectedStatus.AFFECTED:
            end = _exclusive_end(segment.range)
            if (
                end is not None
                and not held(bounded, end)
                and (held(unaffected, end) or (unlisted_unaffected and not held(unknown, end)))
            ):
                candidate = end
        elif segment.status is AffectedStatus.NOT_AFFECTED and segment.start is not None:
            start = segment.start
            if not held(bounded, start) and (
                rest_affected or any(_ends_at_or_below(r, start) for r in bounded)
            ):
                candidate = start
        if candidate is not None and candidate not in fixed:
            fixed.append(candidate)
    return tuple(fixed)


def _exclusive_end(rng: VersionRange) -> str | None:
    """The version an interval stops before ('<' bound), if it has one."""
    if rng.kind is not RangeKind.CONSTRAINTS or not rng.constraints:
        return None
    last = rng.constraints[-1]
    return last.version if last.comparator == "<" else None


def _ends_at_or_below(rng: VersionRange, version: str) -> bool:
    """True when every version of the range is at or below ``version``."""
    if rng.kind is not RangeKind.CONSTRAINTS or not rng.constraints:
        return False
    last = rng.constraints[-1]
    if last.comparator not in ("<", "<=", "="):
        return False
    try:
        return compare_versions(rng.scheme, last.version, version) <= 0
    except VersionError:
        return False


def _status(text: str | None, origin: str, path: str) -> AffectedStatus:
    value = (text or "").strip().lower()
    status = _STATUSES.get(value)
    if status is None:
        raise DocumentError(
            origin, path, f"status must be 'affected', 'unaffected' or 'unknown', not {text!r}"
        )
    return status


def _known_name(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return None if text.lower() in _UNKNOWN_WORDS else text


def _formatted_cpe(value: str) -> str:
    """CPE 2.3 formatted string; CPE 2.2 URIs (Red Hat writes them) are converted."""
    try:
        return parse_cpe(value).formatted()
    except IdentifierError:
        return value.strip()


def _collection_scheme(collection: str | None) -> str:
    if not collection:
        return "generic"
    host = re.sub(r"^[a-z+]+://", "", collection.strip().lower()).split("/", 1)[0]
    return _COLLECTION_HOSTS.get(host, "generic")


def _compact(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# --- CPE applicability (CVE 5.1 cpeApplicability, NVD configurations) ---------------------------

_BOUND_KEYS = (
    "versionStartIncluding",
    "versionStartExcluding",
    "versionEndIncluding",
    "versionEndExcluding",
)


def read_configurations(
    configurations: list[Any], origin: str, path: str, vuln_id: str
) -> list[AffectedProduct]:
    """NVD-style applicability statements: one AffectedProduct per vulnerable cpeMatch.

    What else the configuration requires becomes the product's ``conditions`` (AND of OR
    groups): in an AND configuration every other node must match, and an OR node matches with
    any one of its CPEs, so each other node is one group of alternatives; in a node whose own
    operator is AND, each other CPE of the node is a group of its own. Negated nodes say where
    it is *not* affected and are skipped.
    """
    products: list[AffectedProduct] = []
    seen: set[tuple[str, VersionRange, tuple[tuple[str, ...], ...]]] = set()
    for index, item in enumerate(configurations):
        config_path = jp(path, index)
        config = expect_object(item, origin, config_path)
        if _opt_bool(config, "negate", origin, config_path):
            continue
        operator = (opt_str(config, "operator", origin, config_path) or "OR").upper()
        nodes = _read_nodes(config, origin, config_path)
        for node_index, (node_operator, matches) in enumerate(nodes):
            groups: list[tuple[str, ...]] = []
            if operator == "AND":
                for other_index, (other_operator, other_matches) in enumerate(nodes):
                    if other_index != node_index:
                        groups.extend(_node_groups(other_operator, other_matches))
            for match_index, (match, match_path, vulnerable, criteria) in enumerate(matches):
                if not vulnerable:
                    continue
                own: list[tuple[str, ...]] = []
                if node_operator == "AND":
                    own = [(c,) for i, (_, _, _, c) in enumerate(matches) if i != match_index]
                conditions = tuple(dict.fromkeys(own + groups))
                product = _match_product(
                    match, criteria, origin, match_path, vuln_id, conditions=conditions
                )
                key = (criteria, product.ranges[0], conditions)
                if key in seen:
                    continue
                seen.add(key)
                products.append(product)
    return products


_Match = tuple[JsonObject, str, bool, str]  # (cpeMatch, its path, vulnerable, criteria)


def _read_nodes(config: JsonObject, origin: str, path: str) -> list[tuple[str, list[_Match]]]:
    """(operator, matches) of each node that is not negated."""
    nodes_path = jp(path, "nodes")
    read: list[tuple[str, list[_Match]]] = []
    for node_index, node_item in enumerate(expect_list(config.get("nodes"), origin, nodes_path)):
        node_path = jp(nodes_path, node_index)
        node = expect_object(node_item, origin, node_path)
        if _opt_bool(node, "negate", origin, node_path):
            continue
        node_operator = (opt_str(node, "operator", origin, node_path) or "OR").upper()
        matches: list[_Match] = []
        matches_path = jp(node_path, "cpeMatch")
        for match_index, match_item in enumerate(opt_list(node, "cpeMatch", origin, node_path)):
            match_path = jp(matches_path, match_index)
            match = expect_object(match_item, origin, match_path)
            vulnerable = _opt_bool(match, "vulnerable", origin, match_path)
            if vulnerable is None:
                raise DocumentError(
                    origin, jp(match_path, "vulnerable"), "required field is missing"
                )
            criteria = req_str(match, "criteria", origin, match_path)
            matches.append((match, match_path, vulnerable, criteria))
        read.append((node_operator, matches))
    return read


def _node_groups(operator: str, matches: list[_Match]) -> list[tuple[str, ...]]:
    """What must hold for a node to match: one group of alternatives for an OR node, one
    group per CPE for an AND node."""
    criteria = tuple(dict.fromkeys(c for _, _, _, c in matches))
    if not criteria:
        return []
    if operator == "AND":
        return [(c,) for c in criteria]
    return [criteria]


def _match_product(
    match: JsonObject,
    criteria: str,
    origin: str,
    path: str,
    vuln_id: str,
    *,
    conditions: tuple[tuple[str, ...], ...],
) -> AffectedProduct:
    try:
        cpe = parse_cpe(criteria)
    except IdentifierError as e:
        raise DocumentError(origin, jp(path, "criteria"), str(e)) from e
    bounds = {key: opt_str(match, key, origin, path) for key in _BOUND_KEYS}
    start_incl, start_excl, end_incl, end_excl = (bounds[key] for key in _BOUND_KEYS)
    rng: VersionRange
    if any(value is not None for value in bounds.values()):
        present = {key: value for key, value in bounds.items() if value is not None}
        rng = from_bounds(
            "generic",
            start_incl if start_incl is not None else start_excl,
            start_inclusive=start_incl is not None,
            end=end_incl if end_incl is not None else end_excl,
            end_inclusive=end_incl is not None,
            raw=_compact(present),
        )
    elif cpe.version == "*":
        rng = all_versions("generic", criteria)
    elif cpe.version == "-":
        rng = no_version(criteria)
    else:
        version = cpe.version if cpe.update in ("*", "-") else f"{cpe.version}-{cpe.update}"
        rng = exact_versions([version], "generic", raw=criteria)
    return AffectedProduct(
        identity=ProductIdentity(cpe=criteria, vendor=cpe.vendor, product=cpe.product),
        status=AffectedStatus.AFFECTED,
        ranges=(rng,),
        vuln_id=vuln_id,
        conditions=conditions,
        # versionEndExcluding is the first fixed version, when the range could be read
        fixed_versions=(end_excl,) if end_excl and rng.kind is RangeKind.CONSTRAINTS else (),
        source_path=path,
    )


def _opt_bool(obj: JsonObject, key: str, origin: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise DocumentError(origin, jp(path, key), "expected true or false")
    return value


# --- metrics, problem types, references --------------------------------------------------------

_CVSS_KEYS = {"cvssV2_0": "2.0", "cvssV3_0": "3.0", "cvssV3_1": "3.1", "cvssV4_0": "4.0"}


def _read_metrics(
    container: JsonObject,
    name: str | None,
    origin: str,
    path: str,
    cve_id: str,
    *,
    facts: _Facts,
) -> None:
    metrics_path = jp(path, "metrics")
    for index, item in enumerate(opt_list(container, "metrics", origin, path)):
        item_path = jp(metrics_path, index)
        metric = expect_object(item, origin, item_path)
        for key, version in _CVSS_KEYS.items():
            if key not in metric:
                continue
            cvss_path = jp(item_path, key)
            cvss = expect_object(metric[key], origin, cvss_path)
            vector = req_str(cvss, "vectorString", origin, cvss_path)
            stated = opt_number(cvss, "baseScore", origin, cvss_path)
            facts.scores.append(
                score_vector(
                    vector, source=name, vuln_id=cve_id, stated_score=stated, stated_version=version
                )
            )
        if "other" in metric:
            _read_other_metric(
                metric["other"], name, origin, jp(item_path, "other"), cve_id, facts=facts
            )


def _read_other_metric(
    value: Any, name: str | None, origin: str, path: str, cve_id: str, *, facts: _Facts
) -> None:
    other = expect_object(value, origin, path)
    kind = req_str(other, "type", origin, path)
    content_path = jp(path, "content")
    content = expect_object(other.get("content"), origin, content_path)
    if kind.lower() == "ssvc":
        stamp = parse_datetime(content.get("timestamp"), origin, jp(content_path, "timestamp"))
        facts.statements.extend(
            ssvc_statements(
                content.get("options"), origin, jp(content_path, "options"), cve_id, stamp
            )
        )
    elif kind.lower() == "kev":
        added = parse_date(content.get("dateAdded"), origin, jp(content_path, "dateAdded"))
        facts.kev.append(
            KevEntry(
                cve_id=cve_id,
                date_added=added,
                notes=opt_str(content, "reference", origin, content_path),
                source=f"cve5:{name or 'unknown'}",
            )
        )
    else:
        # Other ratings (e.g. "Red Hat severity rating") are kept as statements, not dropped.
        stated = content.get("value")
        details = stated if isinstance(stated, str) else _compact(content)
        facts.statements.append(
            Statement(kind="metric", category=kind, details=details, vuln_id=cve_id)
        )


def ssvc_statements(
    options: Any, origin: str, path: str, vuln_id: str, stamp: dt.datetime | None
) -> list[Statement]:
    """CISA SSVC decision points: one statement per option ({"Exploitation": "active"})."""
    statements: list[Statement] = []
    for index, item in enumerate(expect_list(options, origin, path)):
        option = expect_object(item, origin, jp(path, index))
        for point, decision in option.items():
            if not isinstance(decision, str):
                raise DocumentError(origin, jp(path, index, point), "expected a string")
            category = _SSVC_NAMES.get(point.strip().lower(), point)
            statements.append(
                Statement(
                    kind="ssvc", category=category, details=decision, vuln_id=vuln_id, date=stamp
                )
            )
    return statements


def _read_problem_types(
    container: JsonObject, origin: str, path: str, cve_id: str, facts: _Facts
) -> None:
    types_path = jp(path, "problemTypes")
    for index, item in enumerate(opt_list(container, "problemTypes", origin, path)):
        item_path = jp(types_path, index)
        problem = expect_object(item, origin, item_path)
        descriptions_path = jp(item_path, "descriptions")
        for d_index, d_item in enumerate(opt_list(problem, "descriptions", origin, item_path)):
            d_path = jp(descriptions_path, d_index)
            entry = expect_object(d_item, origin, d_path)
            cwe = opt_str(entry, "cweId", origin, d_path)
            if cwe is None:
                match = _CWE.match(opt_str(entry, "description", origin, d_path) or "")
                cwe = match.group(0) if match else None
            if cwe:
                facts.weaknesses.append(Weakness(cwe.strip(), vuln_id=cve_id))


def add_references(items: list[Any], origin: str, path: str, into: dict[str, list[str]]) -> None:
    """Collect [{url, tags}] into url -> tags, merging the tags of a URL named twice."""
    for index, item in enumerate(items):
        item_path = jp(path, index)
        entry = expect_object(item, origin, item_path)
        url = req_str(entry, "url", origin, item_path)
        tags = into.setdefault(url, [])
        for t_index, tag in enumerate(opt_list(entry, "tags", origin, item_path)):
            if not isinstance(tag, str):
                raise DocumentError(origin, jp(item_path, "tags", t_index), "expected a string")
            # 'x_transferred' only says the CVE Program copied it from the CNA.
            if tag != "x_transferred" and tag not in tags:
                tags.append(tag)


def merged_references(found: dict[str, list[str]]) -> tuple[Reference, ...]:
    return tuple(Reference(url, ";".join(tags) or None) for url, tags in found.items())
