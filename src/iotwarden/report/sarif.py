"""Firmware findings as a SARIF 2.1.0 log, for code-scanning dashboards and CI gates.

One run, one rule per finding id, one result per finding. Paths inside the image are
relative URIs against the ``ROOTFS`` base (the image's root file system); image-wide findings
point at the root itself. Severity maps to SARIF levels (critical/high: error, medium:
warning, low/info: note) and to the numeric ``security-severity`` property that code-scanning
services sort by.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from iotwarden import __version__
from iotwarden.firmware.analyze import FirmwareAnalysis
from iotwarden.firmware.model import Finding, Severity
from iotwarden.report.firmware import plain

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
ROOT_BASE = "ROOTFS"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: The CVSS-like score code-scanning services read from ``security-severity``.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def artifact_uri(path: str) -> str:
    """An image path ('/usr/sbin/dropbear') as a relative URI reference against ROOTFS."""
    relative = path.lstrip("/")
    if not relative:
        return "./"
    # Percent-encode everything a URI reference cannot hold as-is (spaces, '%', '#', '?',
    # control and non-ASCII characters) and ':', so that no file name reads as a scheme.
    return quote(relative, safe="/-._~!$&'()*+,;=@")


def _rule_name(finding_id: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", finding_id.removeprefix("IW-FW-"))
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w) or "Finding"


def _fingerprint(finding: Finding) -> str:
    key = "\x1f".join((finding.id, finding.path, finding.title))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _rules(findings: tuple[Finding, ...]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for finding in findings:
        if finding.id in index:
            continue
        index[finding.id] = len(rules)
        worst = min((f.severity for f in findings if f.id == finding.id), key=lambda s: s.rank)
        rules.append(
            {
                "id": finding.id,
                "name": _rule_name(finding.id),
                "shortDescription": {"text": finding.title},
                "help": {"text": finding.remediation},
                "defaultConfiguration": {"level": LEVELS[worst]},
                "properties": {
                    "tags": ["security", "firmware", *dict.fromkeys(finding.capabilities)],
                    "security-severity": SECURITY_SEVERITY[worst],
                },
            }
        )
    return rules, index


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    return {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.title}. Evidence: {finding.evidence}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": artifact_uri(finding.path),
                        "uriBaseId": ROOT_BASE,
                    }
                },
                "message": {"text": finding.path},
            }
        ],
        "partialFingerprints": {"iotwardenFinding/v1": _fingerprint(finding)},
        "properties": {
            "severity": finding.severity.value,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "capabilities": list(finding.capabilities),
            "remediation": finding.remediation,
            "details": plain(finding.details),
        },
    }


def to_sarif(analysis: FirmwareAnalysis) -> dict[str, Any]:
    """The analysis's findings as one SARIF 2.1.0 log."""
    a = analysis
    rules, index = _rules(a.findings)
    notifications = [
        {"level": "warning", "message": {"text": problem}}
        for problem in (*a.extraction.problems, *a.problems)
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "IoT Warden",
                "version": __version__,
                "rules": rules,
                "properties": {"analysers": dict(a.versions)},
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": notifications,
            }
        ],
        "originalUriBaseIds": {
            ROOT_BASE: {
                "description": {
                    "text": f"The root file system extracted from {a.image.name}",
                }
            }
        },
        "results": [_result(f, index[f.id]) for f in a.findings],
        "properties": {
            "image": {
                "name": a.image.name,
                "sha256": a.image.sha256,
                "size": a.image.size,
            },
            "components": len(a.components),
        },
    }
    if a.image.sha256:
        run["artifacts"] = [
            {
                "location": {"uri": quote(a.image.name)},
                "roles": ["analysisTarget"],
                "hashes": {"sha-256": a.image.sha256},
                **({"length": a.image.size} if a.image.size is not None else {}),
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def dumps(analysis: FirmwareAnalysis) -> str:
    return json.dumps(to_sarif(analysis), indent=2, ensure_ascii=False) + "\n"
