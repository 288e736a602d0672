"""`iotwarden situation ID`: the situation picture for one vulnerability across the fleet."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from iotwarden.exposure.situation import Situation, Tally, situation

from . import render
from .intel import open_store, print_json

console = render.make_console()


def situation_command(
    advisory_id: Annotated[
        str, typer.Argument(help="A CVE, OSV, GHSA, CSAF tracking id or any alias.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Count the exposed devices by sector, owner, product and priority band.

    For each: devices exposed, surely and possibly affected, internet-facing, of high or
    critical criticality, and with a fix available. Example: `iotwarden situation CVE-2014-0160`
    """
    result = situation(open_store(), advisory_id)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    render_situation(result)


def render_situation(result: Situation) -> None:
    signals = [f"CVSS {result.max_cvss}" if result.max_cvss is not None else "no CVSS"]
    signals.append("on CISA KEV" if result.on_kev else "not on KEV")
    if result.epss is not None:
        signals.append(f"EPSS {result.epss:.3f}")
    console.rule(f"[bold]Situation: {result.query}[/] ({', '.join(signals)})")
    total = result.total
    console.print(
        f"{total.devices} devices exposed ({total.affected} affected, "
        f"{total.possibly_affected} possibly), {total.internet_exposed} internet-facing, "
        f"{total.critical} high or critical, {total.fix_available} with a fix available.",
        highlight=False,
    )
    for title, tallies in (
        ("By priority", result.by_band),
        ("By sector", result.by_sector),
        ("By owner", result.by_owner),
        ("By product", result.by_product),
    ):
        if tallies:
            console.print(_table(title, tallies))


def _table(title: str, tallies: dict[str, Tally]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("", "devices", "affected", "possibly", "internet", "critical", "fix available"):
        table.add_column(col, justify="left" if not col else "right")
    for name, tally in tallies.items():
        table.add_row(
            name,
            str(tally.devices),
            str(tally.affected),
            str(tally.possibly_affected),
            str(tally.internet_exposed),
            str(tally.critical),
            str(tally.fix_available),
        )
    return table
