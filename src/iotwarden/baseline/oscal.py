"""OSCAL (1.2) exports of the baseline: a catalog per framework, a catalog of the harmonised
capabilities, the crosswalk as an OSCAL mapping collection, and an assessment as OSCAL
assessment results.

Documents are plain dicts shaped by the official OSCAL JSON schema (the tests validate them
against NIST's ``oscal_complete_schema.json``). UUIDs are derived (UUID v5) from stable names,
so exporting the same catalogs or assessment twice gives the same document.

Published requirement ids such as ``5.1-1`` are not valid OSCAL tokens (a token starts with a
letter), so controls are named ``req-5.1-1`` and keep the published id as their ``label`` prop.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any

from .assess import Assessment, Basis, Bearing, EvidenceKind, Result
from .catalog import Catalogs
from .model import Framework, Relationship, Requirement

OSCAL_VERSION = "1.2.3"
#: Namespace of IoT Warden's own properties (OSCAL requires one for non-OSCAL names).
NS = "urn:iotwarden:oscal"
#: File name of the capabilities catalog the mapping points at.
CAPABILITIES_FILE = "catalog-iotwarden-capabilities.json"
_UUID_NAMESPACE = uuid.UUID("0b4a3f36-8f1c-5d0e-9a57-6c1e2f4d8b90")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]")

#: Our relationship names read 'the requirement is ... the capability'; OSCAL's (NIST IR 8477)
#: read 'the source is ... the target' with the requirement as the source.
RELATIONSHIPS = {
    Relationship.EQUIVALENT: "equivalent-to",
    Relationship.SUBSET: "subset-of",
    Relationship.SUPERSET: "superset-of",
    Relationship.INTERSECTS: "intersects-with",
}


def derived_uuid(*names: str) -> str:
    """A UUID v5 from stable names (the same names always give the same UUID)."""
    return str(uuid.uuid5(_UUID_NAMESPACE, "\x1f".join(names)))


def token(text: str, prefix: str = "") -> str:
    """An OSCAL token (letters, digits, '.', '-', '_', starting with a letter or '_')."""
    value = prefix + _NOT_TOKEN.sub("_", text.strip())
    return value if value and (value[0].isalpha() or value[0] == "_") else "_" + value


def control_id(requirement_id: str) -> str:
    return token(requirement_id, "req-")


def catalog_file(framework_id: str) -> str:
    return f"catalog-{framework_id}.json"


def _line(text: str | None) -> str:
    """One line with no leading or trailing space (OSCAL's string datatype)."""
    return " ".join((text or "").split()) or "-"


def _timestamp(when: dt.datetime | None) -> str:
    when = when or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prop(name: str, value: str, *, ours: bool = True) -> dict[str, str]:
    prop = {"name": name, "value": _line(value)}
    if ours:
        prop["ns"] = NS
    return prop


def _metadata(title: str, version: str, when: dt.datetime | None, **extra: Any) -> dict[str, Any]:
    return {
        "title": _line(title),
        "last-modified": _timestamp(when),
        "version": _line(version),
        "oscal-version": OSCAL_VERSION,
        **extra,
    }


# --- catalogs ---------------------------------------------------------------------------------


def _control(req: Requirement) -> dict[str, Any]:
    cid = control_id(req.id)
    props = [
        _prop("label", req.id, ours=False),
        _prop("level", req.level.value),
        _prop("section", req.section),
    ]
    if req.condition is not None:
        props.append(_prop("condition", req.condition.text))
        props += [
            _prop("condition-fact", f"{fact}={'true' if wanted else 'false'}")
            for fact, wanted in req.condition.when
        ]
    props += [
        _prop("maps-to", f"{link.capability} ({RELATIONSHIPS[link.relationship]})")
        for link in req.capabilities
    ]
    return {
        "id": cid,
        "class": "requirement",
        "title": _line(req.title),
        "props": props,
        "parts": [{"id": f"{cid}_smt", "name": "statement", "prose": _line(req.summary)}],
    }


def framework_catalog(framework: Framework, *, when: dt.datetime | None = None) -> dict[str, Any]:
    """One framework as an OSCAL catalog: groups (clauses, criteria) holding controls (the
    requirements, summarised in our own words), with level, section and condition as props."""
    resource = derived_uuid("source", framework.id)
    remarks = (
        "Requirement summaries are IoT Warden's own wording, not the published text. "
        + ("Catalog verified: " if framework.verification.verified else "Catalog NOT verified: ")
        + _line(framework.verification.note)
    )
    metadata = _metadata(
        framework.title,
        framework.version,
        when,
        props=[
            _prop("framework-id", framework.id),
            _prop("kind", framework.kind.value),
            _prop("publisher", framework.publisher),
            _prop("verified", "true" if framework.verification.verified else "false"),
        ],
        links=[{"href": f"#{resource}", "rel": "source"}],
        remarks=remarks,
    )
    groups: list[dict[str, Any]] = []
    by_group: dict[str, dict[str, Any]] = {}
    for g in framework.groups:
        group = {
            "id": token(g.id, "grp-"),
            "title": _line(g.title),
            "props": [_prop("label", g.id, ours=False)],
        }
        by_group[g.id] = group
        groups.append(group)
    loose: list[dict[str, Any]] = []
    for req in framework.requirements:
        target = by_group.get(req.group) if req.group else None
        if target is None:
            loose.append(_control(req))
        else:
            target.setdefault("controls", []).append(_control(req))
    catalog: dict[str, Any] = {
        "uuid": derived_uuid("catalog", framework.id, framework.version),
        "metadata": metadata,
    }
    if loose:
        catalog["controls"] = loose
    kept = [g for g in groups if g.get("controls")]
    if kept:
        catalog["groups"] = kept
    catalog["back-matter"] = {
        "resources": [
            {
                "uuid": resource,
                "title": _line(framework.title),
                "description": f"{_line(framework.publisher)}, {framework.date}",
                "rlinks": [{"href": framework.url}],
            }
        ]
    }
    return {"catalog": catalog}


def capabilities_catalog(catalogs: Catalogs, *, when: dt.datetime | None = None) -> dict[str, Any]:
    """The harmonised capabilities as an OSCAL catalog (the mapping's target)."""
    controls = []
    for cap in catalogs.capabilities:
        props = [
            _prop("evidence", f"{a.source.value} {a.match or ''}".strip()) for a in cap.automatic
        ]
        props += [_prop("declaration", d.key) for d in cap.declarations]
        control: dict[str, Any] = {
            "id": token(cap.id),
            "class": "capability",
            "title": _line(cap.title),
            "parts": [
                {"id": f"{token(cap.id)}_smt", "name": "statement", "prose": _line(cap.description)}
            ],
        }
        if props:
            control["props"] = props
        controls.append(control)
    return {
        "catalog": {
            "uuid": derived_uuid("catalog", "iotwarden-capabilities"),
            "metadata": _metadata(
                "IoT Warden harmonised IoT security capabilities",
                "1",
                when,
                remarks="Every framework requirement is mapped to these capabilities; see "
                "the mapping collection.",
            ),
            "controls": controls,
        }
    }


def mapping_collection(
    catalogs: Catalogs,
    *,
    when: dt.datetime | None = None,
    frameworks: Iterable[Framework] | None = None,
) -> dict[str, Any]:
    """The crosswalk as an OSCAL mapping collection: one mapping per framework, from its
    catalog (source) to the capabilities catalog (target), one map per requirement link."""
    mappings = []
    for fw in frameworks if frameworks is not None else catalogs.frameworks:
        maps = [
            {
                "uuid": derived_uuid("map", fw.id, req.id, link.capability),
                "relationship": RELATIONSHIPS[link.relationship],
                "sources": [{"type": "control", "id-ref": control_id(req.id)}],
                "targets": [{"type": "control", "id-ref": token(link.capability)}],
            }
            for req in fw.requirements
            for link in req.capabilities
        ]
        if not maps:
            continue
        mappings.append(
            {
                "uuid": derived_uuid("mapping", fw.id),
                "status": "complete" if fw.verification.verified else "draft",
                "source-resource": {"type": "catalog", "href": catalog_file(fw.id)},
                "target-resource": {"type": "catalog", "href": CAPABILITIES_FILE},
                "maps": maps,
                "props": [_prop("framework-id", fw.id)],
            }
        )
    return {
        "mapping-collection": {
            "uuid": derived_uuid("mapping-collection", "iotwarden"),
            "metadata": _metadata(
                "IoT Warden crosswalk: framework requirements to capabilities", "1", when
            ),
            "provenance": {
                "method": "human",
                "matching-rationale": "semantic",
                "status": "complete",
                "mapping-description": "Each framework requirement related to the harmonised "
                "capabilities with the set-theory relationships of NIST IR 8477, read "
                "'the requirement is equivalent to / a subset of / a superset of / intersects "
                "with the capability'.",
            },
            "mappings": mappings,
        }
    }


# --- assessment results -----------------------------------------------------------------------

_METHODS = {
    Basis.OBSERVED: ["TEST"],
    Basis.DECLARED: ["INTERVIEW"],
    Basis.BOTH: ["TEST", "INTERVIEW"],
    Basis.NONE: ["UNKNOWN"],
}


def _state(result: Result) -> dict[str, str]:
    if result is Result.PASS:
        return {"state": "satisfied", "reason": "pass"}
    if result is Result.FAIL:
        return {"state": "not-satisfied", "reason": "fail"}
    return {
        "state": "not-satisfied",
        "reason": "other",
        "remarks": f"IoT Warden result: {result.value}",
    }


def assessment_results(
    assessment: Assessment, catalogs: Catalogs, *, when: dt.datetime | None = None
) -> dict[str, Any]:
    """The assessment as OSCAL assessment results: one result per framework, an observation per
    capability the framework relies on (its evidence), a finding per applicable requirement.
    Requirements that do not apply are excluded from the reviewed controls."""
    stamp = _timestamp(when)
    salt = f"{assessment.subject}|{assessment.assessed_on.isoformat()}|{stamp}"
    no_plan = derived_uuid("no-assessment-plan", salt)
    resources: list[dict[str, Any]] = [
        {
            "uuid": no_plan,
            "title": "No OSCAL assessment plan",
            "description": "IoT Warden assesses against every catalogued framework at once; "
            "the plan is the tool's assessment method (docs/assessment.md).",
        }
    ]
    results = []
    by_cap = {c.capability: c for c in assessment.capabilities}
    for fw_result in assessment.frameworks:
        fw = catalogs.framework(fw_result.framework)
        observations: dict[str, dict[str, Any]] = {}
        for req in fw_result.requirements:
            for link in req.links:
                cap = by_cap[link.capability]
                if cap.capability in observations:
                    continue
                evidence = [
                    {
                        "description": _line(
                            f"{e.kind.value} {e.ref} ({e.bearing.value}): {e.detail}"
                            + (f" [{', '.join(e.paths)}]" if e.paths else "")
                        ),
                    }
                    for e in cap.evidence
                    if e.bearing is not Bearing.NEUTRAL or e.kind is EvidenceKind.DECLARATION
                ]
                observation: dict[str, Any] = {
                    "uuid": derived_uuid("observation", salt, fw.id, cap.capability),
                    "title": _line(cap.title),
                    "description": _line(f"{cap.result.value}: {cap.reason}"),
                    "props": [
                        _prop("capability", cap.capability),
                        _prop("result", cap.result.value),
                    ],
                    "methods": _METHODS[cap.basis],
                    "types": ["control-objective"],
                    "collected": stamp,
                }
                if evidence:
                    observation["relevant-evidence"] = evidence
                observations[cap.capability] = observation
        applicable = [r for r in fw_result.requirements if r.result is not Result.NOT_APPLICABLE]
        excluded = [r for r in fw_result.requirements if r.result is Result.NOT_APPLICABLE]
        selection: dict[str, Any] = {
            "description": f"The applicable requirements of {_line(fw.short_title)}.",
        }
        if applicable:
            selection["include-controls"] = [{"control-id": control_id(r.id)} for r in applicable]
        else:
            selection["include-all"] = {}
        if excluded:
            selection["exclude-controls"] = [{"control-id": control_id(r.id)} for r in excluded]
        result: dict[str, Any] = {
            "uuid": derived_uuid("result", salt, fw.id),
            "title": _line(f"{fw.short_title}: {fw_result.verdict.value}"),
            "description": _line(fw_result.summary),
            "start": stamp,
            "end": stamp,
            "props": [
                _prop("framework-id", fw.id),
                _prop("verdict", fw_result.verdict.value),
                _prop("catalog", catalog_file(fw.id)),
                _prop("catalog-verified", "true" if fw_result.verified else "false"),
            ],
            "reviewed-controls": {"control-selections": [selection]},
        }
        if observations:
            result["observations"] = list(observations.values())
        findings = []
        for r in applicable:
            related = [
                {"observation-uuid": observations[link.capability]["uuid"]}
                for link in r.links
                if link.capability in observations
            ]
            finding: dict[str, Any] = {
                "uuid": derived_uuid("finding", salt, fw.id, r.id),
                "title": _line(f"{r.id} {r.title}"),
                "description": _line(r.reason),
                "props": [_prop("result", r.result.value), _prop("level", r.level.value)],
                "target": {
                    "type": "objective-id",
                    "target-id": control_id(r.id),
                    "status": _state(r.result),
                },
            }
            if related:
                finding["related-observations"] = related
            findings.append(finding)
        if findings:
            result["findings"] = findings
        results.append(result)
    if not results:
        raise ValueError("an assessment without frameworks has no OSCAL results")
    if assessment.firmware is not None:
        resources.append(
            {
                "uuid": derived_uuid("firmware", salt),
                "title": _line(f"Firmware analysed: {assessment.firmware.source}"),
                "description": _line(
                    f"{len(assessment.firmware.findings)} findings, "
                    f"{len(assessment.firmware.components)} components"
                ),
            }
        )
    return {
        "assessment-results": {
            "uuid": derived_uuid("assessment-results", salt),
            "metadata": _metadata(
                f"IoT Warden assessment of {assessment.subject or 'an unnamed product'}",
                assessment.assessed_on.isoformat(),
                when,
            ),
            "import-ap": {
                "href": f"#{no_plan}",
                "remarks": "No separate assessment plan; see the referenced resource.",
            },
            "results": results,
            "back-matter": {"resources": resources},
        }
    }


def all_documents(
    assessment: Assessment | None, catalogs: Catalogs, *, when: dt.datetime | None = None
) -> dict[str, dict[str, Any]]:
    """File name -> OSCAL document: every framework catalog (or those assessed), the
    capabilities catalog, the mapping collection and, with an assessment, its results."""
    chosen = (
        [catalogs.framework(f.framework) for f in assessment.frameworks]
        if assessment is not None
        else list(catalogs.frameworks)
    )
    docs = {catalog_file(fw.id): framework_catalog(fw, when=when) for fw in chosen}
    docs[CAPABILITIES_FILE] = capabilities_catalog(catalogs, when=when)
    docs["mapping-crosswalk.json"] = mapping_collection(catalogs, when=when, frameworks=chosen)
    if assessment is not None:
        docs["assessment-results.json"] = assessment_results(assessment, catalogs, when=when)
    return docs
