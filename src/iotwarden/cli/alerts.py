"""`iotwarden alerts ID`: one actionable alert per exposed owner and per product vendor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from iotwarden.exposure.alerts import Alert, build_alerts
from iotwarden.report.alerts import to_json, write_alerts

from . import render
from .intel import open_store, print_json

console = render.make_console()
FORMATS_HELP = "json, markdown (md) or html; repeatable (default: all three)."


def alerts_command(
    advisory_id: Annotated[
        str, typer.Argument(help="A CVE, OSV, GHSA, CSAF tracking id or any alias.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write one file per alert and format into this folder.")
    ] = None,
    formats: Annotated[list[str] | None, typer.Option("--format", help=FORMATS_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
) -> None:
    """Build the alerts for an advisory: for each affected owner and each product vendor,
    which devices or products, why (component, version, range, source), the priority, and
    the fix (fixed versions, vendor remediations, KEV required action and due date,
    workarounds). Example: `iotwarden alerts CVE-2014-0160 --out alerts/`
    """
    alerts = build_alerts(open_store(), advisory_id)
    written = write_alerts(alerts, out, formats or ["json", "markdown", "html"]) if out else []
    if as_json:
        print_json([to_json(a) for a in alerts])
        return
    summarise(alerts)
    for path in written:
        console.print(f"wrote {path}", highlight=False)


def summarise(alerts: list[Alert]) -> None:
    if not alerts:
        console.print("No owner or vendor is exposed: no alert.")
        return
    table = Table(title=f"{len(alerts)} alerts", title_justify="left")
    for col in ("", "to", "audience", "devices", "contact", "fix"):
        table.add_column(col)
    for alert in alerts:
        table.add_row(
            alert.band or "",
            alert.recipient,
            alert.audience.value,
            str(alert.devices),
            alert.contact or "",
            ", ".join(alert.fix.versions) if alert.fix.versions else "",
        )
    console.print(table)
