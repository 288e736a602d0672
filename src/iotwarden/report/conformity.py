"""The side-by-side conformity matrix of an assessment: one row per harmonised capability, one
column per framework, each cell the framework's requirements that map to the capability with
their results; as JSON for machines and as one self-contained HTML page for people.

Declarations and firmware paths are input, so the HTML escapes every value and has no scripts.
"""

from __future__ import annotations

import html
from typing import Any

from iotwarden import __version__
from iotwarden.baseline.assess import Assessment, Result, Verdict
from iotwarden.report.alerts import STYLE

MATRIX_SCHEMA = "iotwarden-conformity-matrix/1"

#: One character per result, for cells and plain-text output.
RESULT_MARK = {
    Result.PASS: "✓",
    Result.FAIL: "✗",
    Result.PARTIAL: "◐",
    Result.NOT_APPLICABLE: "–",
    Result.NOT_EVIDENCED: "?",
}

_COLOUR = {
    Result.PASS: "#c8e6c9",
    Result.FAIL: "#ffcdd2",
    Result.PARTIAL: "#fff3c4",
    Result.NOT_APPLICABLE: "#eceff1",
    Result.NOT_EVIDENCED: "#ffffff",
}
_VERDICT_COLOUR = {Verdict.PASS: "#c8e6c9", Verdict.FAIL: "#ffcdd2", Verdict.INCOMPLETE: "#fff3c4"}


def matrix(assessment: Assessment) -> dict[str, Any]:
    """The matrix as plain JSON data: frameworks (with verdicts) and rows (capabilities), each
    cell listing ``{id, level, result}`` of the requirements mapped to the capability."""
    frameworks = [
        {
            "id": f.framework,
            "title": f.title,
            "verdict": f.verdict.value,
            "binding": f.binding.value,
            "summary": f.summary,
            "catalog_verified": f.verified,
        }
        for f in assessment.frameworks
    ]
    cells: dict[str, dict[str, list[dict[str, str]]]] = {}
    for f in assessment.frameworks:
        for r in f.requirements:
            for link in r.links:
                cells.setdefault(link.capability, {}).setdefault(f.framework, []).append(
                    {"id": r.id, "level": r.level.value, "result": r.result.value}
                )
    rows = [
        {
            "capability": c.capability,
            "title": c.title,
            "result": c.result.value,
            "basis": c.basis.value,
            "reason": c.reason,
            "cells": {
                f.framework: cells.get(c.capability, {}).get(f.framework, [])
                for f in assessment.frameworks
            },
        }
        for c in assessment.capabilities
        if c.capability in cells
    ]
    return {
        "schema": MATRIX_SCHEMA,
        "subject": assessment.subject,
        "assessed_on": assessment.assessed_on.isoformat(),
        "legend": {r.value: RESULT_MARK[r] for r in Result},
        "frameworks": frameworks,
        "rows": rows,
    }


def cell_text(cell: list[dict[str, str]]) -> str:
    """'5.1-1 ✗, 5.1-2 –': a cell as plain text."""
    # A no-break space keeps each id with its mark when a narrow column wraps.
    return ", ".join(f"{x['id']}\u00a0{RESULT_MARK[Result(x['result'])]}" for x in cell)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def to_html(assessment: Assessment) -> str:
    """The matrix, the verdicts and the ranked gaps as one HTML page."""
    data = matrix(assessment)
    head = "".join(
        f'<th style="background:{_VERDICT_COLOUR[Verdict(f["verdict"])]}">{_e(f["title"])}'
        f"<br><small>{_e(f['verdict'])}</small></th>"
        for f in data["frameworks"]
    )
    body = []
    for row in data["rows"]:
        result = Result(row["result"])
        tds = []
        for f in data["frameworks"]:
            reqs = row["cells"][f["id"]]
            spans = " ".join(
                f'<span class=req style="background:{_COLOUR[Result(x["result"])]}" '
                f'title="{_e(x["level"])}: {_e(x["result"])}">{_e(x["id"])} '
                f"{RESULT_MARK[Result(x['result'])]}</span>"
                for x in reqs
            )
            tds.append(f"<td>{spans}</td>")
        body.append(
            f'<tr><th title="{_e(row["reason"])}">{_e(row["title"])}<br>'
            f"<small>{_e(row['capability'])}</small></th>"
            f'<td style="background:{_COLOUR[result]}">{RESULT_MARK[result]} '
            f"{_e(result.value)}<br><small>{_e(row['basis'])}</small></td>{''.join(tds)}</tr>"
        )
    legend = " ".join(
        f'<span class=req style="background:{_COLOUR[r]}">{RESULT_MARK[r]} {_e(r.value)}</span>'
        for r in Result
    )
    verdicts = "".join(
        f'<tr><th>{_e(f.title)}</th><td style="background:{_VERDICT_COLOUR[f.verdict]}">'
        f"{_e(f.verdict.value)}</td><td>{_e(f.summary)}</td></tr>"
        for f in assessment.frameworks
    )
    gaps = []
    for f in assessment.frameworks:
        rows = "".join(
            f"<tr><td>{g.rank}</td><td>{_e(g.requirement)}</td><td>{_e(g.level.value)}</td>"
            f'<td style="background:{_COLOUR[g.result]}">{_e(g.result.value)}</td>'
            f"<td>{_e(g.title)}</td><td>{_e(g.reason)}</td><td>{_e('; '.join(g.actions))}</td></tr>"
            for g in f.gaps[:25]
        )
        if rows:
            more = f"<p>{len(f.gaps) - 25} more in the JSON.</p>" if len(f.gaps) > 25 else ""
            gaps.append(
                f"<h3>{_e(f.title)}</h3><table><tr><th>#</th><th>requirement</th><th>level</th>"
                f"<th>result</th><th>title</th><th>why</th><th>what to do</th></tr>{rows}"
                f"</table>{more}"
            )
    notes = "".join(f"<li>{_e(n)}</li>" for n in assessment.notes)
    return (
        "<!doctype html>\n<html lang=en>\n<head><meta charset=utf-8>"
        f"<title>Conformity: {_e(assessment.subject)}</title><style>{STYLE}\n"
        ".req{display:inline-block;padding:.05rem .3rem;margin:.05rem;border-radius:.25rem;"
        "white-space:nowrap;border:1px solid #ddd}td,th{vertical-align:top}"
        "</style></head>\n<body>\n"
        f"<h1>Conformity matrix: {_e(assessment.subject or 'unnamed product')}</h1>\n"
        f"<p>Assessed on {_e(assessment.assessed_on.isoformat())} by IoT Warden {_e(__version__)}. "
        f"Legend: {legend}</p>\n"
        f"<table><tr><th>capability</th><th>result</th>{head}</tr>{''.join(body)}</table>\n"
        f"<h2>Verdicts</h2><table>{verdicts}</table>\n"
        f"<h2>Gaps, most impact first</h2>{''.join(gaps)}\n"
        + (f"<h2>Notes</h2><ul>{notes}</ul>\n" if notes else "")
        + "</body>\n</html>\n"
    )
