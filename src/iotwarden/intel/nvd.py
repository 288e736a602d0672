"""NVD CVE API 2.0 records: API responses (streamed when large) and single records, one
Advisory per CVE with NVD's CPE applicability, scores, CWEs and CISA KEV columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from iotwarden.core.cvss import score_vector
from iotwarden.core.errors import DocumentError
from iotwarden.core.models import (
    Advisory,
    AdvisoryFormat,
    AdvisoryStatus,
    AffectedProduct,
    KevEntry,
    Remediation,
    Score,
    Statement,
    Weakness,
)
from iotwarden.intel.cve5 import (
    add_references,
    english_text,
    merged_references,
    read_affected,
    read_configurations,
    ssvc_statements,
)
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff
from iotwarden.intel.reading import (
    JsonObject,
    expect_list,
    expect_object,
    iter_json_items,
    jp,
    opt_list,
    opt_number,
    opt_object,
    opt_str,
    parse_date,
    parse_datetime,
    raw_bytes,
    req_str,
    top_level_scalars,
    whole_json,
)

_LIST_PATH = "$.vulnerabilities"
# Keys only an NVD CVE object has (OSV records also have "id").
_RECORD_KEYS = frozenset({"sourceIdentifier", "vulnStatus", "configurations"})
# NVD's placeholders for "a CWE we do not name".
_NO_CWE = frozenset({"NVD-CWE-Other", "NVD-CWE-noinfo"})
_REJECT_MARK = "** REJECT **"


class NvdParser(AdvisoryParser):
    """NVD CVE API 2.0 (format NVD_CVE)."""

    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.NVD
    title: ClassVar[str] = "NVD CVE API 2.0"
    description: ClassVar[str] = (
        "NVD CVE API 2.0 responses ({resultsPerPage, ..., vulnerabilities: [{cve}]}, streamed "
        "record by record when large) and single CVE objects (bare or as {cve: {...}}). Reads "
        "CPE configurations (version start/end bounds, exact CPE versions, '-' as versionless, "
        "AND configurations as run-on/with conditions, negated nodes skipped), CVSS v2/v3.0/v3.1/"
        "v4.0 metrics per source, CWEs, references, CISA KEV columns and the CNA's affected "
        "data when NVD carries it. vulnStatus 'Rejected' gives status 'rejected'."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "json-object":
            return False
        keys = sniff.top_keys
        if "resultsPerPage" in keys or sniff.top_scalars.get("format") == "NVD_CVE":
            return True
        if "id" in keys and keys & _RECORD_KEYS:
            return True
        document = sniff.document
        if keys == {"cve"} and isinstance(document, dict):
            inner = document.get("cve")
            return isinstance(inner, dict) and "id" in inner and bool(inner.keys() & _RECORD_KEYS)
        return False

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        origin = doc.origin
        is_response = "resultsPerPage" in sniff.top_keys or (
            sniff.top_scalars.get("format") == "NVD_CVE"
        )
        if is_response and sniff.document is None:
            # Too large to have been read whole: stream the list, one record in memory at a time.
            scalars = top_level_scalars(doc, stop_at="vulnerabilities")
            spec = _spec_version(scalars.get("version"))
            yield from _read_items(
                iter_json_items(doc, "vulnerabilities.item", _LIST_PATH), origin, spec
            )
            return
        document = expect_object(whole_json(doc, sniff), origin, "$")
        if is_response or "vulnerabilities" in document:
            items = expect_list(document.get("vulnerabilities"), origin, _LIST_PATH)
            spec = _spec_version(document.get("version"))
            yield from _read_items(enumerate(items), origin, spec)
        elif isinstance(document.get("cve"), dict):
            yield read_nvd_item(document, origin, "$", None)
        else:
            cve = document
            yield read_nvd_cve(cve, origin, "$", raw=cve, spec_version=None)


def _spec_version(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _read_items(
    items: Iterable[tuple[int, Any]], origin: str, spec_version: str | None
) -> Iterator[ParseOutcome]:
    for index, item in items:
        try:
            yield read_nvd_item(item, origin, jp(_LIST_PATH, index), spec_version)
        except DocumentError as e:
            yield e  # one bad record; the others still count


def read_nvd_item(item: Any, origin: str, path: str, spec_version: str | None) -> Advisory:
    """One element of `vulnerabilities` ({"cve": {...}})."""
    entry = expect_object(item, origin, path)
    cve = expect_object(entry.get("cve"), origin, jp(path, "cve"))
    return read_nvd_cve(cve, origin, jp(path, "cve"), raw=entry, spec_version=spec_version)


def read_nvd_cve(
    cve: JsonObject, origin: str, path: str, *, raw: Any, spec_version: str | None
) -> Advisory:
    """Normalise one NVD CVE object. Raises DocumentError (with the JSON path) if malformed."""
    cve_id = req_str(cve, "id", origin, path)
    published = parse_datetime(cve.get("published"), origin, jp(path, "published"))
    last_modified = opt_str(cve, "lastModified", origin, path)
    modified = parse_datetime(last_modified, origin, jp(path, "lastModified"))
    vuln_status = opt_str(cve, "vulnStatus", origin, path)
    description = english_text(
        opt_list(cve, "descriptions", origin, path), origin, jp(path, "descriptions")
    )
    rejected = vuln_status == "Rejected" or (description or "").startswith(_REJECT_MARK)

    affected: list[AffectedProduct] = []
    remediations: list[Remediation] = []
    affected.extend(
        read_configurations(
            opt_list(cve, "configurations", origin, path),
            origin,
            jp(path, "configurations"),
            cve_id,
        )
    )
    # Newer NVD records also carry the CNA's CVE 5 affected data ({source, affectedData}).
    affected_path = jp(path, "affected")
    for index, item in enumerate(opt_list(cve, "affected", origin, path)):
        item_path = jp(affected_path, index)
        block = expect_object(item, origin, item_path)
        products, fixes = read_affected(
            opt_list(block, "affectedData", origin, item_path),
            origin,
            jp(item_path, "affectedData"),
            cve_id,
        )
        affected.extend(products)
        remediations.extend(fixes)

    scores, statements = _read_metrics(cve, origin, path, cve_id)
    if vuln_status:
        statements.insert(
            0,
            Statement(
                kind="nvd_status", category="vulnStatus", details=vuln_status, vuln_id=cve_id
            ),
        )
    statements.extend(_read_tags(cve, origin, path, cve_id))
    references: dict[str, list[str]] = {}
    add_references(
        opt_list(cve, "references", origin, path), origin, jp(path, "references"), references
    )

    return Advisory(
        source=AdvisoryFormat.NVD,
        key=cve_id,
        id=cve_id,
        aliases=(),
        vuln_ids=(cve_id,),
        title=None,
        description=description,
        published=published,
        modified=modified,
        revision=last_modified,
        spec_version=spec_version,
        status=AdvisoryStatus.REJECTED if rejected else AdvisoryStatus.ACTIVE,
        withdrawn_at=modified if rejected else None,
        publisher=opt_str(cve, "sourceIdentifier", origin, path),
        affected=tuple(affected),
        remediations=tuple(remediations),
        scores=tuple(scores),
        weaknesses=_read_weaknesses(cve, origin, path, cve_id),
        references=merged_references(references),
        statements=tuple(statements),
        kev=_read_kev(cve, origin, path, cve_id),
        raw=raw_bytes(raw),
    )


def _read_metrics(
    cve: JsonObject, origin: str, path: str, cve_id: str
) -> tuple[list[Score], list[Statement]]:
    scores: list[Score] = []
    statements: list[Statement] = []
    metrics_path = jp(path, "metrics")
    metrics = opt_object(cve, "metrics", origin, path)
    for key, value in metrics.items():
        key_path = jp(metrics_path, key)
        if key.startswith("cvssMetricV"):
            for index, item in enumerate(expect_list(value, origin, key_path)):
                item_path = jp(key_path, index)
                metric = expect_object(item, origin, item_path)
                data_path = jp(item_path, "cvssData")
                data = expect_object(metric.get("cvssData"), origin, data_path)
                vector = req_str(data, "vectorString", origin, data_path)
                scores.append(
                    score_vector(
                        vector,
                        source=opt_str(metric, "source", origin, item_path),
                        vuln_id=cve_id,
                        stated_score=opt_number(data, "baseScore", origin, data_path),
                        stated_version=opt_str(data, "version", origin, data_path),
                    )
                )
        elif key.startswith("ssvc"):
            for index, item in enumerate(expect_list(value, origin, key_path)):
                item_path = jp(key_path, index)
                metric = expect_object(item, origin, item_path)
                data_path = jp(item_path, "ssvcData")
                data = expect_object(metric.get("ssvcData"), origin, data_path)
                stamp = parse_datetime(data.get("timestamp"), origin, jp(data_path, "timestamp"))
                statements.extend(
                    ssvc_statements(
                        data.get("options"), origin, jp(data_path, "options"), cve_id, stamp
                    )
                )
    return scores, statements


def _read_weaknesses(cve: JsonObject, origin: str, path: str, cve_id: str) -> tuple[Weakness, ...]:
    found: dict[str, Weakness] = {}
    weaknesses_path = jp(path, "weaknesses")
    for index, item in enumerate(opt_list(cve, "weaknesses", origin, path)):
        item_path = jp(weaknesses_path, index)
        weakness = expect_object(item, origin, item_path)
        descriptions_path = jp(item_path, "description")
        for d_index, d_item in enumerate(opt_list(weakness, "description", origin, item_path)):
            d_path = jp(descriptions_path, d_index)
            value = req_str(expect_object(d_item, origin, d_path), "value", origin, d_path).strip()
            if value and value not in _NO_CWE and value not in found:
                found[value] = Weakness(value, vuln_id=cve_id)
    return tuple(found.values())


def _read_kev(cve: JsonObject, origin: str, path: str, cve_id: str) -> tuple[KevEntry, ...]:
    if cve.get("cisaExploitAdd") is None:
        return ()
    return (
        KevEntry(
            cve_id=cve_id,
            date_added=parse_date(cve.get("cisaExploitAdd"), origin, jp(path, "cisaExploitAdd")),
            due_date=parse_date(cve.get("cisaActionDue"), origin, jp(path, "cisaActionDue")),
            required_action=opt_str(cve, "cisaRequiredAction", origin, path),
            name=opt_str(cve, "cisaVulnerabilityName", origin, path),
            source="nvd",
        ),
    )


def _read_tags(cve: JsonObject, origin: str, path: str, cve_id: str) -> list[Statement]:
    """cveTags ('disputed', 'unsupported-when-assigned', ...) as statements."""
    statements: list[Statement] = []
    tags_path = jp(path, "cveTags")
    for index, item in enumerate(opt_list(cve, "cveTags", origin, path)):
        item_path = jp(tags_path, index)
        entry = expect_object(item, origin, item_path)
        source = opt_str(entry, "sourceIdentifier", origin, item_path)
        for t_index, tag in enumerate(opt_list(entry, "tags", origin, item_path)):
            if not isinstance(tag, str):
                raise DocumentError(origin, jp(item_path, "tags", t_index), "expected a string")
            statements.append(Statement(kind="tag", category=source, details=tag, vuln_id=cve_id))
    return statements
