"""Alerts as JSON (stable keys), Markdown and self-contained HTML pages, and written to files.

Every value in an alert comes from advisories or the inventory, so none is trusted: HTML
escapes all of them and links only http(s) URLs; Markdown backslash-escapes the characters
that would make markup (a renderer must not turn a product name into a link or a tag).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from iotwarden.core.errors import IoTWardenError
from iotwarden.exposure.alerts import (
    Alert,
    AlertGroup,
    AlertProduct,
    Audience,
    EpssSignal,
    FixedVersion,
    KevAction,
    Reason,
    RemediationNote,
)
from iotwarden.exposure.priority import Factor

SCHEMA = "iotwarden-alert/1"
#: Device ids listed per group in Markdown and HTML (JSON lists them all).
DEVICE_LIST_LIMIT = 100
#: The formats write_alerts knows, with their file extensions.
FORMATS = {"json": "json", "markdown": "md", "md": "md", "html": "html"}


class ReportError(IoTWardenError):
    """A report cannot be written (unknown format, unsafe destination)."""


# --- JSON ----------------------------------------------------------------------------------


def to_json(alert: Alert) -> dict[str, Any]:
    """The alert as plain JSON types, with the same keys (in the same order) for every alert."""
    v = alert.vulnerability
    fix = alert.fix
    return {
        "schema": SCHEMA,
        "audience": alert.audience.value,
        "recipient": alert.recipient,
        "contact": alert.contact,
        "vulnerability": {
            "query": v.query,
            "ids": list(v.ids),
            "sources": list(v.sources),
            "max_cvss": v.max_cvss,
        },
        "title": alert.title,
        "summary": alert.summary,
        "summary_source": alert.summary_source,
        "priority": {"band": alert.band, "score": alert.score},
        "devices": alert.devices,
        "groups": [_group_json(g) for g in alert.groups],
        "products": [_product_json(p) for p in alert.products],
        "fix": {
            "versions": list(fix.versions),
            "fixed_versions": [_fixed_json(f) for f in fix.fixed_versions],
            "vendor_remediations": [_note_json(n) for n in fix.vendor_remediations],
            "mitigations": [_note_json(n) for n in fix.mitigations],
            "other_remediations": [_note_json(n) for n in fix.other_remediations],
            "kev": [_kev_json(k) for k in fix.kev],
            "epss": [_epss_json(e) for e in fix.epss],
        },
    }


def _reason_json(r: Reason) -> dict[str, Any]:
    return {
        "matched": r.matched,
        "how": r.how,
        "ranges": r.ranges,
        "source": r.source,
        "status": r.status.value,
        "fixed_versions": list(r.fixed_versions),
    }


def _factor_json(f: Factor) -> dict[str, Any]:
    return {"name": f.name, "points": f.points, "why": f.why}


def _group_json(g: AlertGroup) -> dict[str, Any]:
    return {
        "product": {"vendor": g.product.vendor, "name": g.product.name},
        "firmware_version": g.firmware_version,
        "status": g.status.value,
        "devices": len(g.device_ids),
        "device_ids": list(g.device_ids),
        "sector": g.sector,
        "criticality": g.criticality.value if g.criticality else None,
        "internet_exposed": g.internet_exposed,
        "priority": {
            "band": g.band,
            "score": g.score,
            "factors": [_factor_json(f) for f in g.factors],
        },
        "reasons": [_reason_json(r) for r in g.reasons],
    }


def _product_json(p: AlertProduct) -> dict[str, Any]:
    return {
        "product": {"vendor": p.product.vendor, "name": p.product.name},
        "firmware_version": p.firmware_version,
        "status": p.status.value,
        "devices": p.devices,
        "internet_exposed": p.internet_exposed,
        "owners": p.owners,
        "priority": {"band": p.band, "score": p.score},
        "reasons": [_reason_json(r) for r in p.reasons],
    }


def _fixed_json(f: FixedVersion) -> dict[str, Any]:
    return {"matched": f.matched, "versions": list(f.versions), "source": f.source}


def _note_json(n: RemediationNote) -> dict[str, Any]:
    return {
        "category": n.category.value,
        "details": n.details,
        "url": n.url,
        "fixed_versions": list(n.fixed_versions),
        "source": n.source,
    }


def _kev_json(k: KevAction) -> dict[str, Any]:
    return {
        "cve_id": k.cve_id,
        "required_action": k.required_action,
        "due_date": k.due_date.isoformat() if k.due_date else None,
        "date_added": k.date_added.isoformat() if k.date_added else None,
        "ransomware": k.ransomware,
        "source": k.source,
    }


def _epss_json(e: EpssSignal) -> dict[str, Any]:
    return {
        "cve_id": e.cve_id,
        "epss": e.epss,
        "percentile": e.percentile,
        "score_date": e.score_date.isoformat() if e.score_date else None,
    }


# --- shared wording --------------------------------------------------------------------------


def _heading(alert: Alert) -> str:
    band = f"[{alert.band}] " if alert.band else ""
    return f"{band}{alert.vulnerability.query}: {alert.title}"


def _also_known_as(alert: Alert) -> list[str]:
    return [i for i in alert.vulnerability.ids if i != alert.vulnerability.query]


def _where(g: AlertGroup) -> str:
    parts = [
        g.sector,
        g.criticality.value if g.criticality else None,
        "internet-facing" if g.internet_exposed else None,
    ]
    return ", ".join(p for p in parts if p)


def _status(text: str) -> str:
    return text.replace("_", " ")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _devices_line(ids: Sequence[str]) -> tuple[list[str], int]:
    return list(ids[:DEVICE_LIST_LIMIT]), max(0, len(ids) - DEVICE_LIST_LIMIT)


def _factors_line(factors: Iterable[Factor]) -> str:
    return ", ".join(f"{f.name} {f.points:+.0f} ({f.why})" for f in factors)


def _kev_line(k: KevAction) -> str:
    action = k.required_action or "(no required action stated)"
    due = f" Due {k.due_date.isoformat()}." if k.due_date else ""
    return f"{k.cve_id}: {action}{due}"


def _epss_line(e: EpssSignal) -> str:
    pct = f", percentile {e.percentile:.2%}" if e.percentile is not None else ""
    when = f", {e.score_date.isoformat()}" if e.score_date else ""
    return f"{e.cve_id}: {e.epss:.3f}{pct}{when}"


def _priority_line(alert: Alert) -> str:
    if alert.band is None or alert.score is None:
        return "not ranked"
    if alert.audience is Audience.OWNER:
        units = _count(len(alert.groups), "device group")
    else:
        units = _count(len(alert.products), "exposed build")
    return f"score {alert.score:.1f} (the highest of {units})"


# --- Markdown --------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
_MD_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")


def _md(text: object) -> str:
    """Untrusted text as literal inline Markdown, on one line: the characters that make
    inline markup backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_paragraph(text: object) -> str:
    """Untrusted text that starts a line: neither may it open a list or a heading."""
    return _MD_BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", _md(text))


def _md_url(url: str | None) -> str:
    if url and _safe_url(url):
        return f" <{url}>" if not re.search(r"[\s<>]", url) else f" {_md(url)}"
    return f" {_md(url)}" if url else ""


def _md_note(n: RemediationNote) -> str:
    text = _md(n.details) if n.details else "(no details)"
    fixed = f" Fixed in {_md(', '.join(n.fixed_versions))}." if n.fixed_versions else ""
    return f"- {text}{fixed}{_md_url(n.url)} ({_md(_status(n.category.value))}, {_md(n.source)})"


def _md_reasons(reasons: Sequence[Reason]) -> list[str]:
    return [
        f"  - {_md(r.matched)} in {_md(r.ranges)} ({_md(r.how)}, {_md(r.source)}"
        + (", possibly affected" if r.status.value == "possibly_affected" else "")
        + ")"
        for r in reasons
    ]


def to_markdown(alert: Alert) -> str:
    v = alert.vulnerability
    band = f"{alert.band} " if alert.band else ""
    lines = [f"# {band}{_md(v.query)}: {_md(alert.title)}", ""]
    who = f"{_md(alert.recipient)} ({alert.audience.value})"
    if alert.contact:
        who += f", {_md(alert.contact)}"
    lines.append(f"- **For:** {who}")
    aka = _also_known_as(alert)
    also = f" (also {_md(', '.join(aka))})" if aka else ""
    lines.append(f"- **Vulnerability:** {_md(v.query)}{also}")
    priority = ", ".join(x for x in (alert.band, _priority_line(alert)) if x)
    lines.append(f"- **Priority:** {_md(priority)}")
    lines.append(f"- **Devices affected:** {alert.devices}")
    if v.max_cvss is not None:
        lines.append(f"- **Highest CVSS:** {v.max_cvss}")
    if alert.fix.kev:
        lines.append("- **Known exploited:** yes (CISA KEV)")
    for e in alert.fix.epss:
        lines.append(f"- **EPSS:** {_md(_epss_line(e))}")
    if alert.summary:
        lines += ["", f"{_md_paragraph(alert.summary)} ({_md(alert.summary_source or '')})"]

    fix = alert.fix
    lines += ["", "## What to do", ""]
    if fix.kev:
        lines.append("### CISA KEV required action")
        lines += [f"- {_md(_kev_line(k))} ({_md(k.source)})" for k in fix.kev]
        lines.append("")
    lines.append("### Fixed versions")
    if fix.fixed_versions:
        lines += [
            f"- {_md(f.matched)} → {_md(', '.join(f.versions))} ({_md(f.source)})"
            for f in fix.fixed_versions
        ]
    else:
        lines.append("- No source names a fixed version.")
    lines += ["", "### Vendor remediations"]
    lines += [_md_note(n) for n in fix.vendor_remediations] or ["- None stated."]
    lines += ["", "### Mitigations and workarounds"]
    lines += [_md_note(n) for n in fix.mitigations] or ["- None stated."]
    if fix.other_remediations:
        lines += ["", "### Other statements"]
        lines += [_md_note(n) for n in fix.other_remediations]

    if alert.audience is Audience.OWNER:
        lines += ["", "## Your affected devices", ""]
        for g in alert.groups:
            where = f" ({_md(_where(g))})" if _where(g) else ""
            lines.append(
                f"### {g.band} {g.score:.1f}: {_md(g.product)} {_md(g.firmware_version)}, "
                f"{_count(len(g.device_ids), 'device')}{where}"
            )
            shown, more = _devices_line(g.device_ids)
            extra = f" and {more} more" if more else ""
            lines.append(f"- **Devices:** {_md(', '.join(shown))}{extra}")
            lines.append(f"- **Status:** {_md(_status(g.status.value))}")
            lines.append(f"- **Priority factors:** {_md(_factors_line(g.factors))}")
            lines.append("- **Why:**")
            lines += _md_reasons(g.reasons)
            lines.append("")
    else:
        lines += ["", "## Your affected products", ""]
        for p in alert.products:
            band = f"{p.band} {p.score:.1f}: " if p.band and p.score is not None else ""
            lines.append(f"### {band}{_md(p.product)} firmware {_md(p.firmware_version)}")
            lines.append(
                f"- **Devices in the field:** {p.devices} ({p.internet_exposed} internet-facing, "
                f"{_count(p.owners, 'owner')})"
            )
            lines.append(f"- **Status:** {_md(_status(p.status.value))}")
            lines.append("- **Why:**")
            lines += _md_reasons(p.reasons)
            lines.append("")
    lines += ["", f"Sources: {_md(', '.join(v.sources))}", ""]
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.45}
h1{font-size:1.5rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.band{font-weight:bold;padding:.1rem .4rem;border-radius:.3rem}
.P1{background:#b00020;color:#fff}.P2{background:#e65100;color:#fff}
.P3{background:#f9a825}.P4{background:#cfd8dc}.src{color:#555;font-size:.9em}
code{background:#f5f5f5;padding:0 .2rem;word-break:break-all}
""".strip()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _safe_url(url: str) -> bool:
    return re.match(r"(?i)https?://", url) is not None


def _band(band: str | None) -> str:
    if band is None:
        return ""
    css = band if band in {"P1", "P2", "P3", "P4"} else ""
    return f'<span class="band {css}">{_e(band)}</span>'


def _html_note(n: RemediationNote) -> str:
    text = _e(n.details) if n.details else "(no details)"
    fixed = f" Fixed in {_e(', '.join(n.fixed_versions))}." if n.fixed_versions else ""
    link = ""
    if n.url:
        link = (
            f' <a href="{_e(n.url)}" rel="noopener noreferrer">{_e(n.url)}</a>'
            if _safe_url(n.url)
            else f" {_e(n.url)}"
        )
    where = f"{_e(_status(n.category.value))}, {_e(n.source)}"
    return f'<li>{text}{fixed}{link} <span class="src">({where})</span></li>'


def _html_list(items: list[str], empty: str) -> str:
    return "<ul>" + "".join(items or [f"<li>{_e(empty)}</li>"]) + "</ul>"


def _html_reasons(reasons: Sequence[Reason]) -> str:
    items = [
        f"<li>{_e(r.matched)} in <code>{_e(r.ranges)}</code> "
        f'<span class="src">({_e(r.how)}, {_e(r.source)}'
        + (", possibly affected" if r.status.value == "possibly_affected" else "")
        + ")</span></li>"
        for r in reasons
    ]
    return _html_list(items, "(no reason recorded)")


def to_html(alert: Alert) -> str:
    """One self-contained page: inline style, no scripts, no external resources."""
    v = alert.vulnerability
    fix = alert.fix
    out: list[str] = []
    who = f"{_e(alert.recipient)} ({_e(alert.audience.value)})"
    if alert.contact:
        who += f", {_e(alert.contact)}"
    aka = _also_known_as(alert)
    facts = [
        ("For", who),
        ("Vulnerability", _e(v.query) + (f" (also {_e(', '.join(aka))})" if aka else "")),
        ("Priority", f"{_band(alert.band)} {_e(_priority_line(alert))}"),
        ("Devices affected", _e(alert.devices)),
    ]
    if v.max_cvss is not None:
        facts.append(("Highest CVSS", _e(v.max_cvss)))
    if fix.kev:
        facts.append(("Known exploited", "yes (CISA KEV)"))
    facts += [("EPSS", _e(_epss_line(e))) for e in fix.epss]
    out.append(f"<h1>{_band(alert.band)} {_e(v.query)}: {_e(alert.title)}</h1>")
    out.append(
        "<table>" + "".join(f"<tr><th>{k}</th><td>{val}</td></tr>" for k, val in facts) + "</table>"
    )
    if alert.summary:
        out.append(
            f'<p>{_e(alert.summary)} <span class="src">({_e(alert.summary_source or "")})'
            "</span></p>"
        )

    out.append("<h2>What to do</h2>")
    if fix.kev:
        out.append("<h3>CISA KEV required action</h3>")
        out.append(
            _html_list(
                [
                    f'<li>{_e(_kev_line(k))} <span class="src">({_e(k.source)})</span></li>'
                    for k in fix.kev
                ],
                "",
            )
        )
    out.append("<h3>Fixed versions</h3>")
    out.append(
        _html_list(
            [
                f"<li>{_e(f.matched)} → <strong>{_e(', '.join(f.versions))}</strong> "
                f'<span class="src">({_e(f.source)})</span></li>'
                for f in fix.fixed_versions
            ],
            "No source names a fixed version.",
        )
    )
    out.append("<h3>Vendor remediations</h3>")
    out.append(_html_list([_html_note(n) for n in fix.vendor_remediations], "None stated."))
    out.append("<h3>Mitigations and workarounds</h3>")
    out.append(_html_list([_html_note(n) for n in fix.mitigations], "None stated."))
    if fix.other_remediations:
        out.append("<h3>Other statements</h3>")
        out.append(_html_list([_html_note(n) for n in fix.other_remediations], ""))

    if alert.audience is Audience.OWNER:
        out.append("<h2>Your affected devices</h2>")
        out.append(
            "<table><tr><th>priority</th><th>product</th><th>firmware</th><th>devices</th>"
            "<th>where</th><th>why</th></tr>"
        )
        for g in alert.groups:
            shown, more = _devices_line(g.device_ids)
            devices = _e(", ".join(shown)) + (f" and {more} more" if more else "")
            out.append(
                f"<tr><td>{_band(g.band)} {g.score:.1f}"
                f'<div class="src">{_e(_factors_line(g.factors))}</div></td>'
                f"<td>{_e(g.product)}</td><td>{_e(g.firmware_version)}"
                f"<div class='src'>{_e(_status(g.status.value))}</div></td>"
                f"<td>{len(g.device_ids)}: {devices}</td><td>{_e(_where(g))}</td>"
                f"<td>{_html_reasons(g.reasons)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<h2>Your affected products</h2>")
        out.append(
            "<table><tr><th>priority</th><th>product</th><th>firmware</th>"
            "<th>devices in the field</th><th>why</th></tr>"
        )
        for p in alert.products:
            score = f" {p.score:.1f}" if p.score is not None else ""
            out.append(
                f"<tr><td>{_band(p.band)}{score}</td><td>{_e(p.product)}</td>"
                f"<td>{_e(p.firmware_version)}"
                f"<div class='src'>{_e(_status(p.status.value))}</div></td>"
                f"<td>{p.devices} ({p.internet_exposed} internet-facing, "
                f"{_e(_count(p.owners, 'owner'))})</td>"
                f"<td>{_html_reasons(p.reasons)}</td></tr>"
            )
        out.append("</table>")
    out.append(f'<p class="src">Sources: {_e(", ".join(v.sources))}</p>')
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(_heading(alert))} ({_e(alert.recipient)})</title>\n"
        f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
    )
    return head + "\n".join(out) + "\n</body>\n</html>\n"


# --- files -----------------------------------------------------------------------------------


def slugify(text: str, limit: int = 60) -> str:
    """A file-name part made only of a-z, 0-9 and '-': no separators, no dots, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].strip("-") or "unnamed"


def write_alerts(alerts: Iterable[Alert], out_dir: Path, formats: Iterable[str]) -> list[Path]:
    """Write each alert once per format ('json', 'markdown' or 'md', 'html') into ``out_dir``
    and return the files written. Names are '<vulnerability>-<audience>-<recipient>.<ext>',
    slugified (recipients named alike get '-2', '-3', ...); nothing is written elsewhere."""
    extensions: list[str] = []
    for fmt in formats:
        ext = FORMATS.get(fmt.lower())
        if ext is None:
            raise ReportError(f"unknown alert format {fmt!r}: use one of json, markdown, html")
        if ext not in extensions:
            extensions.append(ext)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    written: list[Path] = []
    used: set[str] = set()
    for alert in alerts:
        base = "-".join(
            (
                slugify(alert.vulnerability.query),
                alert.audience.value,
                slugify(alert.recipient),
            )
        )
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        for ext in extensions:
            path = root / f"{stem}.{ext}"
            if path.parent != root or path.is_symlink():
                raise ReportError(f"refusing to write {path}: not a plain file in {root}")
            path.write_text(_render(alert, ext), encoding="utf-8")
            written.append(path)
    return written


def _render(alert: Alert, ext: str) -> str:
    if ext == "json":
        return json.dumps(to_json(alert), indent=2, ensure_ascii=False) + "\n"
    if ext == "md":
        return to_markdown(alert)
    return to_html(alert)
