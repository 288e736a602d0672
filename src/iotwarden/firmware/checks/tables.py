"""The checks' data tables (``data/firmware/*.yaml``): default credentials, risky services,
credential patterns and update-mechanism indicators, each loaded once and validated."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import yaml

from iotwarden.firmware.model import FirmwareError, Severity


class CheckTableError(FirmwareError):
    """A packaged check table is malformed (a packaging error, not a firmware problem)."""


def _load(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    where = f"data/firmware/{name}"
    try:
        text = (resources.files("iotwarden") / "data" / "firmware" / name).read_text("utf-8")
        document = yaml.safe_load(text)
        jsonschema.validate(document, schema)
    except (OSError, yaml.YAMLError) as error:
        raise CheckTableError(f"{where}: cannot read: {error}") from error
    except jsonschema.ValidationError as error:
        path = "/".join(str(p) for p in error.absolute_path)
        raise CheckTableError(f"{where} at {path or '(top)'}: {error.message}") from error
    if not isinstance(document, dict):  # pragma: no cover - the schema says object
        raise CheckTableError(f"{where}: not a mapping")
    return document


def _table_schema(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["version", key],
        "properties": {"version": {"type": "integer"}, key: {"type": "array", "items": item}},
    }


_STR = {"type": "string"}
_SEVERITY = {"enum": [s.value for s in Severity]}


# -- default credentials -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DefaultCredential:
    user: str
    password: str
    source: str
    note: str = ""


@functools.cache
def default_credentials() -> tuple[DefaultCredential, ...]:
    item = {
        "type": "object",
        "required": ["user", "password", "source"],
        "properties": {"user": _STR, "password": _STR, "source": _STR, "note": _STR},
        "additionalProperties": False,
    }
    document = _load("default_credentials.yaml", _table_schema("credentials", item))
    return tuple(DefaultCredential(**entry) for entry in document["credentials"])


# -- risky services ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RiskyService:
    name: str
    programs: tuple[str, ...]
    finding: str | None
    title: str
    severity: Severity
    remote_login: bool
    why: str
    remediation: str
    capabilities: tuple[str, ...]


@functools.cache
def risky_services() -> tuple[RiskyService, ...]:
    item = {
        "type": "object",
        "required": ["name", "programs", "finding", "title", "severity", "remote_login", "why"],
        "properties": {
            "name": _STR,
            "programs": {"type": "array", "items": _STR, "minItems": 1},
            "finding": {"type": ["string", "null"], "pattern": "^IW-FW-"},
            "title": _STR,
            "severity": _SEVERITY,
            "remote_login": {"type": "boolean"},
            "why": _STR,
            "remediation": _STR,
            "capabilities": {"type": "array", "items": _STR},
        },
        "additionalProperties": False,
    }
    document = _load("risky_services.yaml", _table_schema("services", item))
    return tuple(
        RiskyService(
            name=e["name"],
            programs=tuple(e["programs"]),
            finding=e["finding"],
            title=e["title"],
            severity=Severity(e["severity"]),
            remote_login=e["remote_login"],
            why=e["why"],
            remediation=e.get("remediation", ""),
            capabilities=tuple(e.get("capabilities", ())),
        )
        for e in document["services"]
    )


@functools.cache
def services_by_program() -> dict[str, RiskyService]:
    return {program: service for service in risky_services() for program in service.programs}


# -- credential patterns -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CredentialPattern:
    name: str
    finding: str
    title: str
    severity: Severity
    regex: re.Pattern[str]
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CredentialPatterns:
    patterns: tuple[CredentialPattern, ...]
    placeholders: frozenset[str]


@functools.cache
def credential_patterns() -> CredentialPatterns:
    item = {
        "type": "object",
        "required": ["name", "finding", "title", "severity", "regex"],
        "properties": {
            "name": _STR,
            "finding": {"type": "string", "pattern": "^IW-FW-"},
            "title": _STR,
            "severity": _SEVERITY,
            "regex": _STR,
            "case_insensitive": {"type": "boolean"},
            "files": {"type": "array", "items": _STR},
        },
        "additionalProperties": False,
    }
    schema = _table_schema("patterns", item)
    schema["properties"]["placeholders"] = {"type": "array", "items": _STR}
    document = _load("credential_patterns.yaml", schema)
    patterns = []
    for entry in document["patterns"]:
        flags = re.IGNORECASE if entry.get("case_insensitive") else 0
        try:
            regex = re.compile(entry["regex"], flags)
        except re.error as error:
            raise CheckTableError(
                f"data/firmware/credential_patterns.yaml: {entry['name']}: bad regex: {error}"
            ) from error
        if "secret" not in regex.groupindex:
            raise CheckTableError(
                f"data/firmware/credential_patterns.yaml: {entry['name']}: no 'secret' group"
            )
        patterns.append(
            CredentialPattern(
                name=entry["name"],
                finding=entry["finding"],
                title=entry["title"],
                severity=Severity(entry["severity"]),
                regex=regex,
                files=tuple(entry.get("files", ())),
            )
        )
    return CredentialPatterns(tuple(patterns), frozenset(document.get("placeholders", ())))


# -- update mechanisms ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UpdateIndicator:
    name: str
    mechanism: str
    signed: bool
    paths: tuple[str, ...]
    content: re.Pattern[str] | None


@functools.cache
def update_indicators() -> tuple[UpdateIndicator, ...]:
    item = {
        "type": "object",
        "required": ["name", "mechanism", "signed", "paths"],
        "properties": {
            "name": _STR,
            "mechanism": _STR,
            "signed": {"type": "boolean"},
            "paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}},
            "content": _STR,
        },
        "additionalProperties": False,
    }
    document = _load("update_mechanisms.yaml", _table_schema("indicators", item))
    indicators = []
    for entry in document["indicators"]:
        try:
            content = re.compile(entry["content"], re.MULTILINE) if "content" in entry else None
        except re.error as error:
            raise CheckTableError(
                f"data/firmware/update_mechanisms.yaml: {entry['name']}: bad regex: {error}"
            ) from error
        indicators.append(
            UpdateIndicator(
                entry["name"], entry["mechanism"], entry["signed"], tuple(entry["paths"]), content
            )
        )
    return tuple(indicators)
