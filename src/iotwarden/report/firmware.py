"""Firmware analysis reports: the JSON document for machines (stable keys) and one
self-contained HTML page for people, plus writing the full set of report files into a folder.

Everything in a report comes from the image (file names, strings seen in binaries, key
comments), so none of it is trusted: HTML escapes every value and has no scripts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

from iotwarden.firmware.analyze import FirmwareAnalysis
from iotwarden.firmware.model import Finding, IdentifiedComponent, Severity
from iotwarden.report.alerts import STYLE, ReportError

SCHEMA = "iotwarden-firmware-analysis/1"
#: Problems listed in the HTML page (JSON lists them all).
HTML_PROBLEM_LIMIT = 200


def plain(value: Any) -> Any:
    """Any value the analysers give (dataclasses, enums, paths, dates) as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return plain(value.to_dict())
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def component_json(c: IdentifiedComponent) -> dict[str, Any]:
    return {
        "name": c.name,
        "version": c.version,
        "purl": c.purl,
        "cpe": c.cpe,
        "supplier": c.supplier,
        "confidence": c.confidence.value,
        "source": c.source,
        "evidence": [e.to_dict() for e in c.evidence],
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "title": f.title,
        "severity": f.severity.value,
        "path": f.path,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "capabilities": list(f.capabilities),
        "details": plain(f.details),
    }


def to_json(analysis: FirmwareAnalysis) -> dict[str, Any]:
    """The analysis as plain JSON types, with the same keys for every analysis."""
    a = analysis
    build = None
    if a.build is not None:
        build = {
            "vendor": a.build.product.vendor,
            "product": a.build.product.name,
            "version": a.build.version,
        }
    return {
        "schema": SCHEMA,
        "image": dataclasses.asdict(a.image),
        "analysed_at": a.analysed_at,
        "versions": dict(a.versions),
        "rootfs": [dataclasses.asdict(r) for r in a.rootfs],
        "extraction": {
            "steps": plain(list(a.extraction.steps)),
            "problems": list(a.extraction.problems),
            "neutralised_links": a.extraction.neutralised_links,
        },
        "files": dataclasses.asdict(a.files),
        "reused_image": a.reused_image,
        "reused_from": a.reused_from,
        "summary": {
            "components": len(a.components),
            "findings": len(a.findings),
            "by_severity": a.severity_counts(),
        },
        "components": [component_json(c) for c in a.components],
        "findings": [finding_json(f) for f in a.findings],
        "hardening": plain(a.hardening),
        "checks": plain(list(a.checks)),
        "known_vulnerabilities": {
            "advisories_checked": a.advisories_checked,
            "vulnerabilities_considered": a.vulnerabilities_considered,
            "matched": sum(1 for f in a.findings if f.id == "IW-FW-KNOWN-VULN"),
        },
        "build": build,
        "stored": a.stored,
        "evidence_files": [dataclasses.asdict(e) for e in a.evidence_files],
        "problems": list(a.problems),
        "timings": dict(a.timings),
        "work_dir": a.work_dir,
    }


def dumps(analysis: FirmwareAnalysis) -> str:
    return json.dumps(to_json(analysis), indent=2, ensure_ascii=False) + "\n"


# --- HTML ------------------------------------------------------------------------------------

_SEVERITY_STYLE = """
.sev{font-weight:bold;padding:.1rem .4rem;border-radius:.3rem;white-space:nowrap}
.critical{background:#b00020;color:#fff}.high{background:#e65100;color:#fff}
.medium{background:#f9a825}.low{background:#cfd8dc}.info{background:#eceff1}
""".strip()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _sev(severity: Severity) -> str:
    return f'<span class="sev {severity.value}">{_e(severity.value)}</span>'


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _hardening_html(summary: dict[str, Any]) -> str:
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict | list)}
    nested = {k: v for k, v in summary.items() if isinstance(v, dict | list)}
    out = []
    if flat:
        out.append(_rows((_e(k), _e(v)) for k, v in flat.items()))
    for key, value in nested.items():
        out.append(
            f"<details><summary>{_e(key)}</summary><pre>"
            f"{_e(json.dumps(plain(value), indent=2, ensure_ascii=False))}</pre></details>"
        )
    return "\n".join(out) or "<p>No ELF files were examined.</p>"


def to_html(analysis: FirmwareAnalysis) -> str:
    """One self-contained page: inline style, no scripts, no external resources."""
    a = analysis
    counts = a.severity_counts()
    f = a.files
    facts = [
        ("Image", f"{_e(a.image.path)} ({_e(a.image.kind)}, {_e(_size(a.image.size))})"),
        ("SHA-256", f"<code>{_e(a.image.sha256 or '')}</code>"),
        (
            "Root file systems",
            "<br>".join(f"{_e(r.path)} ({r.files} files)" for r in a.rootfs) or "none",
        ),
        (
            "Files",
            f"{f.total} files ({_e(_size(f.bytes))}), {f.unique} distinct: "
            f"{f.analysed} analysed, {f.reused} reused from the cache; "
            f"{f.symlinks} links not followed, {f.special} special files skipped"
            + (
                f"; the stored analysis of this image from {_e(a.reused_from or '')} was "
                "reused (known vulnerabilities re-checked)"
                if a.reused_image
                else ""
            ),
        ),
        ("Components", str(len(a.components))),
        (
            "Findings",
            " ".join(f"{_sev(s)} {counts[s.value]}" for s in Severity if counts[s.value]) or "none",
        ),
        (
            "Inventory",
            _e(f"recorded as {a.build.product} {a.build.version}")
            if a.build and a.stored
            else "not recorded",
        ),
        (
            "Known vulnerabilities",
            "matched against the advisory store"
            if a.advisories_checked
            else "not checked: the advisory store is empty",
        ),
        ("Analysed", _e(f"{a.analysed_at} in {a.timings.get('total', 0):.1f} s")),
    ]
    out = [f"<h1>Firmware analysis: {_e(a.image.name)}</h1>", _rows(facts)]

    out.append("<h2>Findings</h2>")
    if a.findings:
        out.append(
            "<table><tr><th>severity</th><th>finding</th><th>where</th><th>evidence</th>"
            "<th>what to do</th></tr>"
        )
        for finding in a.findings:
            caps = ", ".join(finding.capabilities)
            out.append(
                f"<tr><td>{_sev(finding.severity)}</td><td><strong>{_e(finding.title)}</strong>"
                f'<div class="src">{_e(finding.id)}; {_e(caps)}</div></td>'
                f"<td><code>{_e(finding.path)}</code></td><td>{_e(finding.evidence)}</td>"
                f"<td>{_e(finding.remediation)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No findings.</p>")

    out.append("<h2>Components</h2>")
    if a.components:
        out.append(
            "<table><tr><th>component</th><th>version</th><th>identifiers</th>"
            "<th>confidence</th><th>evidence</th></tr>"
        )
        for c in a.components:
            ids = "<br>".join(f"<code>{_e(x)}</code>" for x in (c.purl, c.cpe) if x)
            evidence = "<br>".join(
                f"<code>{_e(ev.path)}</code>: {_e(ev.detail)}" for ev in c.evidence[:8]
            )
            if len(c.evidence) > 8:
                evidence += f"<br>… {len(c.evidence) - 8} more"
            out.append(
                f"<tr><td>{_e(c.name)}</td><td>{_e(c.version or '(unknown)')}</td>"
                f"<td>{ids}</td><td>{_e(c.confidence.value)} ({_e(c.source)})</td>"
                f"<td>{evidence}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No components identified.</p>")

    out.append("<h2>Binary hardening</h2>")
    out.append(_hardening_html(a.hardening))

    out.append("<h2>Extraction</h2>")
    steps = [
        "<li><code>"
        + _e(", ".join(f"{k}={v}" for k, v in step.items() if v not in (None, "")))
        + "</code></li>"
        for step in a.extraction.steps
    ]
    out.append("<ul>" + "".join(steps or ["<li>(no steps recorded)</li>"]) + "</ul>")
    problems = list(a.extraction.problems) + list(a.problems)
    if problems:
        out.append(f"<h2>Problems ({len(problems)})</h2>")
        shown = problems[:HTML_PROBLEM_LIMIT]
        out.append("<ul>" + "".join(f"<li>{_e(p)}</li>" for p in shown) + "</ul>")
        if len(problems) > HTML_PROBLEM_LIMIT:
            out.append(f"<p>… {len(problems) - HTML_PROBLEM_LIMIT} more (see the JSON report)</p>")
    versions = ", ".join(f"{k} {v}" for k, v in a.versions.items())
    out.append(f'<p class="src">IoT Warden: {_e(versions)}</p>')
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Firmware analysis: {_e(a.image.name)}</title>\n"
        f"<style>\n{STYLE}\n{_SEVERITY_STYLE}\n</style>\n</head>\n<body>\n"
    )
    return head + "\n".join(out) + "\n</body>\n</html>\n"


# --- files -----------------------------------------------------------------------------------


def safe_destination(path: Path) -> Path:
    """A report file to write: refuse a symbolic link (a planted link must not redirect it)."""
    if path.is_symlink():
        raise ReportError(f"refusing to write {path}: it is a symbolic link")
    if path.exists() and not path.is_file():
        raise ReportError(f"refusing to write {path}: it is not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_text(path: Path, text: str) -> Path:
    safe_destination(path).write_text(text, encoding="utf-8")
    return path
