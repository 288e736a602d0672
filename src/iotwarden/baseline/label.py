"""The consumer security label: the few facts a buyer needs (how long security updates come,
how updates work, where to report a problem, whether an SBOM exists, and the conformity
summary), built from an assessment, as JSON and as a self-contained SVG or HTML card.

Everything on the label comes from the assessment: declarations for what only the manufacturer
can state, firmware analysis for what was observed. Values are escaped: a declaration is input.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from iotwarden import __version__

from .assess import Assessment, Bearing, EvidenceKind, Result, Verdict
from .declarations import AnswerStatus

LABEL_SCHEMA = "iotwarden-security-label/1"

_VERDICT_TEXT = {
    Verdict.PASS: "meets",
    Verdict.FAIL: "does not meet",
    Verdict.INCOMPLETE: "incomplete",
}
_VERDICT_COLOUR = {Verdict.PASS: "#1b5e20", Verdict.FAIL: "#b00020", Verdict.INCOMPLETE: "#8d6e00"}


@dataclass(frozen=True, slots=True)
class LabelLine:
    """One line of the label: what, the value shown, and whether it is good news."""

    key: str
    title: str
    value: str
    #: True good, False bad, None unknown or neutral.
    ok: bool | None
    #: 'declared', 'observed', 'observed+declared' or 'none'.
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "value": self.value,
            "ok": self.ok,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class FrameworkLine:
    framework: str
    title: str
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "title": self.title, "verdict": self.verdict.value}


@dataclass(frozen=True, slots=True)
class SecurityLabel:
    product: str
    manufacturer: str | None
    model: str | None
    version: str | None
    support_end: str | None  # ISO date
    support_days_left: int | None
    lines: tuple[LabelLine, ...]
    conformity: tuple[FrameworkLine, ...]
    assessed_on: str

    def line(self, key: str) -> LabelLine:
        found = next((x for x in self.lines if x.key == key), None)
        if found is None:
            raise KeyError(key)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": LABEL_SCHEMA,
            "product": self.product,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "version": self.version,
            "support_end": self.support_end,
            "support_days_left": self.support_days_left,
            "lines": [x.to_dict() for x in self.lines],
            "conformity": [c.to_dict() for c in self.conformity],
            "assessed_on": self.assessed_on,
            "generator": f"IoT Warden {__version__}",
        }


def _answer(assessment: Assessment, key: str) -> tuple[str | None, AnswerStatus]:
    answer = assessment.declarations.answer(key)
    if answer.status is AnswerStatus.AFFIRMED:
        return answer.text(), answer.status
    return None, answer.status


def _observed(assessment: Assessment, capability: str) -> list[str]:
    try:
        cap = assessment.capability(capability)
    except KeyError:
        return []
    return [
        e.detail
        for e in cap.evidence
        if e.kind is not EvidenceKind.DECLARATION and e.bearing is not Bearing.NEUTRAL
    ]


def _source(declared: bool, observed: bool) -> str:
    if declared and observed:
        return "observed+declared"
    return "declared" if declared else "observed" if observed else "none"


def build_label(assessment: Assessment) -> SecurityLabel:
    """The label of an assessed product."""
    subject = assessment.declarations.subject
    today = assessment.assessed_on
    lines = []

    end, _ = _answer(assessment, "support_period.end_date")
    days_left = None
    if end is not None:
        days_left = (dt.date.fromisoformat(end) - today).days
        value = f"until {end}"
        if days_left < 0:
            value += " (ended)"
        lines.append(LabelLine("support", "Security updates", value, days_left >= 0, "declared"))
    else:
        lines.append(
            LabelLine("support", "Security updates", "end date not declared", False, "none")
        )

    policy, _ = _answer(assessment, "update.automatic")
    mechanism, _ = _answer(assessment, "update.mechanism")
    secure = assessment.capability("secure-update") if _has(assessment, "secure-update") else None
    parts = [p for p in (policy, mechanism) if p]
    observed_ok: bool | None = None
    if secure is not None and any(
        e.observed for e in secure.evidence if e.bearing is not Bearing.NEUTRAL
    ):
        observed_ok = secure.result is not Result.FAIL
        parts.append(
            "signed updates seen in the firmware"
            if observed_ok
            else "no signed update mechanism found in the firmware"
        )
    lines.append(
        LabelLine(
            "updates",
            "Update policy",
            "; ".join(parts) or "not declared",
            observed_ok if observed_ok is not None else (True if policy or mechanism else None),
            _source(bool(policy or mechanism), observed_ok is not None),
        )
    )

    contact, _ = _answer(assessment, "vulnerability_disclosure.contact")
    policy_url, _ = _answer(assessment, "vulnerability_disclosure.policy_url")
    report = contact or "no contact declared"
    if policy_url:
        report += f" (policy: {policy_url})"
    lines.append(
        LabelLine(
            "disclosure",
            "Report a security problem",
            report,
            contact is not None,
            "declared" if contact else "none",
        )
    )

    formats, status = _answer(assessment, "sbom.available")
    components = len(assessment.firmware.components) if assessment.firmware else 0
    sbom_parts = []
    if formats:
        sbom_parts.append(f"published ({formats})")
    elif status is AnswerStatus.DENIED:
        sbom_parts.append("not published")
    if components:
        sbom_parts.append(f"{components} components identified by analysis")
    lines.append(
        LabelLine(
            "sbom",
            "Software bill of materials",
            "; ".join(sbom_parts) or "not declared",
            True if formats else False if status is AnswerStatus.DENIED else None,
            _source(bool(formats), components > 0),
        )
    )

    if _has(assessment, "unique-credentials"):
        cap = assessment.capability("unique-credentials")
        text = {
            Result.PASS: "no default passwords",
            Result.FAIL: "default or shared passwords found",
            Result.PARTIAL: "no default password found; not fully evidenced",
            Result.NOT_APPLICABLE: "not applicable",
            Result.NOT_EVIDENCED: "not evidenced",
        }[cap.result]
        ok = True if cap.result is Result.PASS else False if cap.result is Result.FAIL else None
        lines.append(LabelLine("passwords", "Default passwords", text, ok, cap.basis.value))

    conformity = tuple(
        FrameworkLine(f.framework, f.title, f.verdict) for f in assessment.frameworks
    )
    return SecurityLabel(
        product=subject.product if subject else (assessment.subject or "unnamed product"),
        manufacturer=subject.manufacturer if subject else None,
        model=subject.model if subject else None,
        version=subject.version if subject else None,
        support_end=end,
        support_days_left=days_left,
        lines=tuple(lines),
        conformity=conformity,
        assessed_on=today.isoformat(),
    )


def _has(assessment: Assessment, capability: str) -> bool:
    return any(c.capability == capability for c in assessment.capabilities)


# --- rendering --------------------------------------------------------------------------------

_WIDTH = 480
_MARK = {True: ("✔", "#1b5e20"), False: ("✘", "#b00020"), None: ("?", "#616161")}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines[:4] or [""]


def to_svg(label: SecurityLabel) -> str:
    """The label as a standalone SVG card (no scripts, no external references)."""
    rows: list[str] = []
    y = 28
    title = " ".join(x for x in (label.manufacturer, label.product, label.model) if x)
    rows.append(f'<text x="16" y="{y}" font-size="17" font-weight="bold">{_e(title[:60])}</text>')
    y += 18
    rows.append(
        f'<text x="16" y="{y}" font-size="11" fill="#555">'
        f"Security label · assessed {_e(label.assessed_on)}</text>"
    )
    y += 12
    for line in label.lines:
        mark, colour = _MARK[line.ok]
        y += 22
        rows.append(f'<text x="16" y="{y}" font-size="14" fill="{colour}">{mark}</text>')
        rows.append(
            f'<text x="36" y="{y}" font-size="13" font-weight="bold">{_e(line.title)}</text>'
        )
        for part in _wrap(line.value, 58):
            y += 16
            rows.append(f'<text x="36" y="{y}" font-size="12">{_e(part)}</text>')
    y += 26
    rows.append(f'<text x="16" y="{y}" font-size="13" font-weight="bold">Conformity</text>')
    for fw in label.conformity:
        y += 17
        rows.append(
            f'<text x="36" y="{y}" font-size="12">{_e(fw.title[:44])}: '
            f'<tspan fill="{_VERDICT_COLOUR[fw.verdict]}" font-weight="bold">'
            f"{_e(_VERDICT_TEXT[fw.verdict])}</tspan></text>"
        )
    height = y + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" role="img" '
        f'aria-label="Security label for {_e(title)}">\n'
        f'<rect x="1" y="1" width="{_WIDTH - 2}" height="{height - 2}" rx="10" fill="#fff" '
        'stroke="#222" stroke-width="2"/>\n' + "\n".join(rows) + "\n</svg>\n"
    )


def to_html(label: SecurityLabel) -> str:
    """The label as a self-contained HTML page (the SVG card and the same facts as text)."""
    items = "".join(
        f"<tr><th>{_e(x.title)}</th><td>{_MARK[x.ok][0]} {_e(x.value)}</td>"
        f"<td class=src>{_e(x.source)}</td></tr>"
        for x in label.lines
    )
    conformity = "".join(
        f'<tr><th>{_e(f.title)}</th><td style="color:{_VERDICT_COLOUR[f.verdict]}">'
        f"{_e(_VERDICT_TEXT[f.verdict])}</td><td></td></tr>"
        for f in label.conformity
    )
    title = " ".join(x for x in (label.manufacturer, label.product, label.model) if x)
    return (
        "<!doctype html>\n<html lang=en>\n<head><meta charset=utf-8>"
        f"<title>Security label: {_e(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2rem;max-width:44rem}th{text-align:left;"
        "padding-right:1rem;vertical-align:top}td{padding:.2rem .5rem}"
        ".src{color:#666;font-size:.85em}"
        "</style></head>\n<body>\n"
        f"{to_svg(label)}"
        f"<h1>{_e(title)}</h1><table>{items}</table><h2>Conformity</h2><table>{conformity}</table>"
        f"<p class=src>Assessed on {_e(label.assessed_on)} by IoT Warden {_e(__version__)}.</p>\n"
        "</body>\n</html>\n"
    )
