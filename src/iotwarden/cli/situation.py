"""`iotwarden situation [ID]`: the situation picture for one vulnerability across the fleet, or
for every stored vulnerability at once, and how it changed over time."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from iotwarden.exposure.situation import Overview, Situation, Snapshot, Tally, overview, situation

from . import render
from .intel import open_store, print_json

console = render.make_console()


def situation_command(
    advisory_id: Annotated[
        str | None,
        typer.Argument(
            help="A CVE, OSV, GHSA, CSAF tracking id or any alias. Without one: every stored "
            "vulnerability, matched against the whole fleet in one batch."
        ),
    ] = None,
    top: Annotated[
        int, typer.Option(min=1, help="Vulnerabilities listed without an id (most devices first).")
    ] = 20,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Keep this picture as a snapshot, so that the next one shows the change.",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Count the exposed devices by sector, owner, product and priority band, over time.

    For one vulnerability: devices exposed, surely and possibly affected, internet-facing, of
    high or critical criticality, with a fix available, and the owners who remediated; then
    every earlier picture of it. Example: `iotwarden situation CVE-2014-0160`

    Without an id: every vulnerability that exposes the fleet, most devices first, and the
    fleet's totals over time. Example: `iotwarden situation --top 10`
    """
    store = open_store()
    if advisory_id is None:
        with render.progress_bar() as bar:
            result = overview(store, record=record, observer=bar)
        if as_json:
            print_json(dataclasses.asdict(result))
            return
        render_overview(result, top)
        return
    picture = situation(store, advisory_id, record=record)
    if as_json:
        print_json(dataclasses.asdict(picture))
        return
    render_situation(picture)


def render_overview(result: Overview, top: int) -> None:
    console.rule(f"[bold]Situation: every vulnerability[/] ({result.advisories:,} advisories)")
    console.print(
        f"{len(result.vulnerabilities):,} vulnerabilities expose {result.exposed_devices:,} "
        f"devices on {result.builds:,} firmware builds ({result.affected_devices:,} surely "
        f"affected by at least one); {result.internet_exposed:,} internet-facing, "
        f"{result.critical:,} high or critical; {result.on_kev:,} of the vulnerabilities are "
        f"on CISA KEV. Matched in {result.seconds:.1f} s.",
        highlight=False,
    )
    if result.vulnerabilities:
        table = Table(title="Vulnerabilities, most devices first", title_justify="left")
        for col in ("vulnerability", "devices", "builds", "possibly", "internet", "KEV"):
            table.add_column(col, justify="left" if col == "vulnerability" else "right")
        for line in result.vulnerabilities[:top]:
            table.add_row(
                line.name,
                f"{line.devices:,}",
                str(line.affected_builds),
                str(line.possibly_builds),
                f"{line.internet_exposed:,}",
                "yes" if line.on_kev else "",
            )
        console.print(table)
        if len(result.vulnerabilities) > top:
            console.print(f"… {len(result.vulnerabilities) - top} more (use --top or --json)")
    if result.by_sector:
        table = Table(title="Exposed devices by sector", title_justify="left")
        table.add_column("sector")
        table.add_column("devices", justify="right")
        for name, count in result.by_sector.items():
            table.add_row(name, f"{count:,}")
        console.print(table)
    _render_history(result.history)


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
    if result.remediated_owners:
        console.print(
            f"Remediated owners ({len(result.remediated_owners)}): "
            + ", ".join(result.remediated_owners),
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
    _render_history(result.history)


def _render_history(history: list[Snapshot]) -> None:
    """Every recorded picture, oldest first, with the change since the one before."""
    if len(history) < 2:
        console.print("Over time: this is the first recorded picture.", highlight=False)
        return
    table = Table(title="Over time (recorded pictures)", title_justify="left")
    for col in ("taken (UTC)", "devices", "change", "affected", "possibly", "internet"):
        table.add_column(col, justify="left" if col.startswith("taken") else "right")
    previous: Snapshot | None = None
    for snap in history[-15:]:
        change = "" if previous is None else f"{snap.devices - previous.devices:+,}"
        table.add_row(
            snap.taken_at.strftime("%Y-%m-%d %H:%M"),
            f"{snap.devices:,}",
            change,
            f"{snap.affected:,}",
            f"{snap.possibly_affected:,}",
            f"{snap.internet_exposed:,}",
        )
        previous = snap
    console.print(table)


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
