"""Load and validate the baseline catalogs: framework files, harmonised capabilities and the
crosswalk they define together.

The bundled catalogs live in ``iotwarden/data/baseline`` (``capabilities.yaml`` and one file
per framework under ``frameworks/``); each is checked against the JSON Schemas in
``iotwarden/data/baseline/schema`` and then for references across files (unknown capability,
group, fact or framework). Any defect raises ``CatalogError`` naming the file and the field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .crosswalk import Correspondence, Crosswalk
from .model import (
    AutomaticEvidence,
    Capability,
    CapabilityLink,
    CatalogError,
    Condition,
    Declaration,
    DeemedCompliance,
    DeemedComplianceRoute,
    EvidenceEffect,
    EvidenceSource,
    Fact,
    Framework,
    FrameworkKind,
    Level,
    Relationship,
    Requirement,
    RequirementGroup,
    UnknownReferenceError,
    Verification,
)

#: A catalog file larger than this is refused: ours are tens of kilobytes.
MAX_CATALOG_BYTES = 4 * 1024 * 1024

#: libyaml's safe loader when PyYAML was built with it (several times faster), else the pure one.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundled_catalog_dir() -> Path:
    """The catalogs shipped inside the package."""
    return Path(str(resources.files("iotwarden") / "data" / "baseline"))


@functools.cache
def _schema(name: str) -> Draft202012Validator:
    path = bundled_catalog_dir() / "schema" / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _field_path(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def _read(path: Path, schema_name: str, origin: str) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_CATALOG_BYTES:
            raise CatalogError(origin, "", f"{size} bytes is too large for a catalog file")
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(origin, "", f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise CatalogError(origin, "", "not UTF-8 text") from e
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise CatalogError(origin, where, f"not valid YAML: {problem}") from e
    if not isinstance(data, dict):
        raise CatalogError(origin, "", "expected a mapping at the top level")
    error = best_match(_schema(schema_name).iter_errors(data))
    if error is not None:
        raise CatalogError(origin, _field_path(error), error.message)
    return data


def _verification(data: dict[str, Any] | None) -> Verification | None:
    return Verification(bool(data["verified"]), str(data["note"])) if data else None


@dataclass(frozen=True, slots=True)
class _RawFramework:
    origin: str
    data: dict[str, Any]


class Catalogs:
    """Every catalogued framework, the harmonised capabilities and the crosswalk between them."""

    def __init__(
        self,
        frameworks: Iterable[Framework],
        capabilities: Iterable[Capability],
        facts: Iterable[Fact] = (),
    ) -> None:
        self.frameworks: tuple[Framework, ...] = tuple(frameworks)
        self.capabilities: tuple[Capability, ...] = tuple(capabilities)
        self.facts: tuple[Fact, ...] = tuple(facts)
        self.crosswalk = Crosswalk(self.frameworks, self.capabilities)
        self._frameworks: dict[str, Framework] = {}
        for fw in self.frameworks:
            for name in (fw.id, *fw.aliases):
                self._frameworks[name.casefold()] = fw
        self._capabilities = {c.id: c for c in self.capabilities}

    def framework(self, name: str) -> Framework:
        """A framework by id or alias (``etsi-en-303-645`` is the latest ETSI EN 303 645)."""
        fw = self._frameworks.get(name.strip().casefold())
        if fw is None:
            known = ", ".join(sorted(self._frameworks))
            raise UnknownReferenceError(f"no framework {name!r}; known: {known}")
        return fw

    def find_framework(self, name: str) -> Framework | None:
        return self._frameworks.get(name.strip().casefold())

    def capability(self, capability_id: str) -> Capability:
        cap = self.find_capability(capability_id)
        if cap is None:
            raise UnknownReferenceError(
                f"no capability {capability_id!r}; see `iotwarden baseline show capabilities`"
            )
        return cap

    def find_capability(self, capability_id: str) -> Capability | None:
        return self._capabilities.get(capability_id.strip().casefold())

    def requirement(self, ref: str) -> Requirement:
        """A requirement by ``framework:requirement``, e.g. ``etsi-en-303-645:5.1-1``."""
        name, sep, req_id = ref.partition(":")
        if not sep or not name.strip() or not req_id.strip():
            raise UnknownReferenceError(
                f"{ref!r}: expected FRAMEWORK:REQUIREMENT, e.g. etsi-en-303-645:5.1-1"
            )
        fw = self.framework(name)
        req = fw.requirement(req_id)
        if req is None:
            group = fw.group(req_id)
            if group is not None:
                members = [r.id for r in fw.requirements if r.group == group.id]
                raise UnknownReferenceError(
                    f"{fw.id}:{group.id} is a group ({group.title}), not a requirement; "
                    f"its requirements: {', '.join(members)}"
                )
            raise UnknownReferenceError(
                f"{fw.id} has no requirement {req_id.strip()!r} (ids: {fw.id_scheme})"
            )
        return req

    def corresponding(self, ref: str | Requirement) -> Correspondence:
        """The requirement's capabilities and, through them, the requirements of every other
        framework, with the relationship types on both sides."""
        req = ref if isinstance(ref, Requirement) else self.requirement(ref)
        return self.crosswalk.corresponding(req)

    def to_dict(self) -> dict[str, Any]:
        return {
            "frameworks": [f.summary_dict() for f in self.frameworks],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "facts": [f.to_dict() for f in self.facts],
        }


def load_catalogs(directory: Path | None = None) -> Catalogs:
    """Load and validate the catalogs (the bundled ones, cached, when no directory is given)."""
    if directory is None:
        return _load_bundled()
    return _load(directory, origin_root=directory)


@functools.cache
def _load_bundled() -> Catalogs:
    root = bundled_catalog_dir()
    return _load(root, origin_root=root.parent.parent)


def _origin(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _load(directory: Path, origin_root: Path) -> Catalogs:
    cap_path = directory / "capabilities.yaml"
    cap_origin = _origin(cap_path, origin_root)
    facts, capabilities = _capabilities(
        _read(cap_path, "capabilities.schema.json", cap_origin), cap_origin
    )
    fw_dir = directory / "frameworks"
    paths = sorted(p for p in fw_dir.glob("*.yaml") if p.is_file()) if fw_dir.is_dir() else []
    if not paths:
        raise CatalogError(_origin(fw_dir, origin_root), "", "no framework files (*.yaml)")
    raws = [
        _RawFramework(o, _read(p, "framework.schema.json", o))
        for p in paths
        for o in [_origin(p, origin_root)]
    ]
    builder = _FrameworkBuilder(raws, {c.id for c in capabilities}, {f.id for f in facts})
    return Catalogs(builder.build(), capabilities, facts)


def _capabilities(
    data: dict[str, Any], origin: str
) -> tuple[tuple[Fact, ...], tuple[Capability, ...]]:
    facts = []
    seen: set[str] = set()
    for i, item in enumerate(data["facts"]):
        if item["id"] in seen:
            raise CatalogError(origin, f"facts/{i}/id", f"duplicate fact {item['id']!r}")
        seen.add(item["id"])
        facts.append(Fact(item["id"], item["question"]))
    caps = []
    seen = set()
    keys: dict[str, str] = {}
    for i, item in enumerate(data["capabilities"]):
        if item["id"] in seen:
            raise CatalogError(
                origin, f"capabilities/{i}/id", f"duplicate capability {item['id']!r}"
            )
        seen.add(item["id"])
        evidence = item["evidence"]
        declarations = []
        for j, d in enumerate(evidence.get("declarations", ())):
            # One question key answers one capability's question; a shared key would make the
            # questionnaire ask the same thing twice under different wording.
            if d["key"] in keys:
                raise CatalogError(
                    origin,
                    f"capabilities/{i}/evidence/declarations/{j}/key",
                    f"declaration key {d['key']!r} is already used by {keys[d['key']]!r}",
                )
            keys[d["key"]] = item["id"]
            declarations.append(Declaration(d["key"], d["question"]))
        automatic = tuple(
            AutomaticEvidence(
                source=EvidenceSource(a["source"]),
                effect=EvidenceEffect(a["effect"]),
                note=a["note"],
                match=a.get("match"),
            )
            for a in evidence.get("automatic", ())
        )
        caps.append(
            Capability(
                id=item["id"],
                title=item["title"],
                description=item["description"],
                automatic=automatic,
                declarations=tuple(declarations),
            )
        )
    return tuple(facts), tuple(caps)


class _FrameworkBuilder:
    """Turns validated framework documents into Frameworks, resolving ``based_on`` and checking
    every reference against the capabilities, facts and other frameworks."""

    def __init__(self, raws: list[_RawFramework], capabilities: set[str], facts: set[str]):
        self.raws = raws
        self.capabilities = capabilities
        self.facts = facts
        self.by_id: dict[str, _RawFramework] = {}
        names: dict[str, str] = {}
        for raw in raws:
            for field_name, name in [("id", raw.data["id"])] + [
                (f"aliases/{i}", a) for i, a in enumerate(raw.data.get("aliases", ()))
            ]:
                if name in names:
                    raise CatalogError(
                        raw.origin, field_name, f"{name!r} is already used by {names[name]}"
                    )
                names[name] = raw.origin
            self.by_id[raw.data["id"]] = raw
        self.built: dict[str, Framework] = {}

    def build(self) -> tuple[Framework, ...]:
        for raw in self.raws:
            self._build(raw)
        frameworks = tuple(self.built[r.data["id"]] for r in self.raws)
        for raw in self.raws:
            self._check_deemed(raw)
        return frameworks

    def _documents(
        self, raw: _RawFramework, chain: tuple[str, ...]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Group and requirement documents, with those of ``based_on`` frameworks inherited
        (an own entry replaces an inherited one with the same id)."""
        own_groups = list(raw.data.get("groups", ()))
        own_reqs = list(raw.data.get("requirements", ()))
        base_id = raw.data.get("based_on")
        if base_id is None:
            return own_groups, own_reqs
        chain = (*chain, raw.data["id"])
        if base_id in chain:
            raise CatalogError(
                raw.origin, "based_on", f"circular: {' -> '.join((*chain, base_id))}"
            )
        base = self.by_id.get(base_id)
        if base is None:
            raise CatalogError(raw.origin, "based_on", f"unknown framework {base_id!r}")
        base_groups, base_reqs = self._documents(base, chain)

        def merge(
            inherited: list[dict[str, Any]], own: list[dict[str, Any]]
        ) -> list[dict[str, Any]]:
            replaced = {item["id"] for item in own}
            return [item for item in inherited if item["id"] not in replaced] + own

        return merge(base_groups, own_groups), merge(base_reqs, own_reqs)

    def _build(self, raw: _RawFramework) -> None:
        fw_id = raw.data["id"]
        if fw_id in self.built:
            return
        data = raw.data
        groups_doc, reqs_doc = self._documents(raw, ())
        own_count = len(data.get("requirements", ()))
        inherited_count = len(reqs_doc) - own_count

        def where(i: int) -> str:
            # Inherited entries are reported against this file's based_on, own ones by index.
            return "based_on" if i < inherited_count else f"requirements/{i - inherited_count}"

        groups = []
        group_ids: dict[str, RequirementGroup] = {}
        for g in groups_doc:
            grp = RequirementGroup(g["id"], g["title"], g.get("section"))
            group_ids[grp.id] = grp
            groups.append(grp)
        requirements = []
        seen: set[str] = set()
        for i, r in enumerate(reqs_doc):
            key = r["id"].casefold()
            if key in seen:
                raise CatalogError(
                    raw.origin, f"{where(i)}/id", f"duplicate requirement {r['id']!r}"
                )
            seen.add(key)
            group = group_ids.get(r["group"]) if "group" in r else None
            if "group" in r and group is None:
                raise CatalogError(raw.origin, f"{where(i)}/group", f"unknown group {r['group']!r}")
            links = []
            for cap, rel in r["maps"].items():
                if cap not in self.capabilities:
                    raise CatalogError(
                        raw.origin,
                        f"{where(i)}/maps/{cap}",
                        f"unknown capability {cap!r} (not in capabilities.yaml)",
                    )
                links.append(CapabilityLink(cap, Relationship(rel)))
            condition = None
            if "condition" in r:
                for fact in r["condition"]["when"]:
                    if fact not in self.facts:
                        raise CatalogError(
                            raw.origin,
                            f"{where(i)}/condition/when/{fact}",
                            f"unknown fact {fact!r} (not in capabilities.yaml facts)",
                        )
                condition = Condition(r["condition"]["text"], tuple(r["condition"]["when"].items()))
            section = r.get("section") or (group.section if group and group.section else r["id"])
            requirements.append(
                Requirement(
                    framework=fw_id,
                    id=r["id"],
                    title=r["title"],
                    summary=r["summary"],
                    level=Level(r["level"]),
                    section=section,
                    capabilities=tuple(links),
                    group=group.id if group else None,
                    condition=condition,
                    verification=_verification(r.get("verification")),
                )
            )
        if not requirements:
            raise CatalogError(raw.origin, "requirements", "a framework needs requirements")
        self.built[fw_id] = Framework(
            id=fw_id,
            title=data["title"],
            short_title=data["short_title"],
            publisher=data["publisher"],
            version=str(data["version"]),
            date=str(data["date"]),
            url=data["url"],
            kind=FrameworkKind(data["kind"]),
            id_scheme=data["id_scheme"],
            verification=Verification(
                data["verification"]["verified"], data["verification"]["note"]
            ),
            requirements=tuple(requirements),
            groups=tuple(groups),
            aliases=tuple(data.get("aliases", ())),
            based_on=data.get("based_on"),
            deemed_compliance=tuple(
                DeemedCompliance(
                    requirement=d["requirement"],
                    section=d["section"],
                    routes=tuple(
                        DeemedComplianceRoute(
                            framework=route.get("framework"),
                            requirements=tuple(route.get("requirements", ())),
                            standard=route.get("standard"),
                            clauses=tuple(route.get("clauses", ())),
                            note=route.get("note"),
                        )
                        for route in d["routes"]
                    ),
                )
                for d in data.get("deemed_compliance", ())
            ),
            source_file=raw.origin,
        )

    def _check_deemed(self, raw: _RawFramework) -> None:
        fw = self.built[raw.data["id"]]
        for i, rule in enumerate(fw.deemed_compliance):
            if fw.requirement(rule.requirement) is None:
                raise CatalogError(
                    raw.origin,
                    f"deemed_compliance/{i}/requirement",
                    f"{fw.id} has no requirement {rule.requirement!r}",
                )
            for j, route in enumerate(rule.routes):
                if route.framework is None:
                    continue
                other = self.built.get(route.framework)
                if other is None:
                    raise CatalogError(
                        raw.origin,
                        f"deemed_compliance/{i}/routes/{j}/framework",
                        f"unknown framework {route.framework!r}",
                    )
                for k, req_id in enumerate(route.requirements):
                    if other.requirement(req_id) is None:
                        raise CatalogError(
                            raw.origin,
                            f"deemed_compliance/{i}/routes/{j}/requirements/{k}",
                            f"{other.id} has no requirement {req_id!r}",
                        )
