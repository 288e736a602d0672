"""`iotwarden outreach ID`: track who has been told, who answered, who fixed it."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from iotwarden.exposure.outreach import OutreachStatus, history, outreach, record

from . import render
from .intel import open_store, print_json

console = render.make_console()


def outreach_command(
    advisory_id: Annotated[
        str, typer.Argument(help="A CVE, OSV, GHSA, CSAF tracking id or any alias.")
    ],
    recipient: Annotated[
        str | None,
        typer.Option("--set", help="The owner (or, with --vendor, the vendor) to update."),
    ] = None,
    status: Annotated[
        OutreachStatus | None, typer.Option(help="The new status (with --set).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who made the change (with --set).")] = None,
    note: Annotated[str | None, typer.Option(help="A note kept with the change.")] = None,
    vendor: Annotated[bool, typer.Option("--vendor", help="--set names a vendor.")] = False,
    force: Annotated[bool, typer.Option(help="Allow any move (to correct a mistake).")] = False,
    show_history: Annotated[
        bool, typer.Option("--history", help="List every recorded change.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """List or update outreach for an advisory: new -> notified -> acknowledged ->
    remediated (or not_affected), with who and when.

    Owners and vendors whose devices no longer run an exposed build show as remediated
    (detected from the inventory). Example:
    `iotwarden outreach CVE-2014-0160 --set "North Grid" --status notified --by alice`
    """
    store = open_store()
    if recipient is not None:
        if status is None:
            raise typer.BadParameter("--set needs --status", param_hint="--status")
        record(
            store,
            advisory_id,
            recipient,
            status,
            by=by,
            note=note,
            audience="vendor" if vendor else "owner",
            force=force,
        )
    items = outreach(store, advisory_id)
    events = history(store, advisory_id) if show_history else []
    if as_json:
        print_json(
            {
                "outreach": [dataclasses.asdict(i) for i in items],
                "history": [
                    dict(
                        zip(("audience", "recipient", "status", "at", "by", "note"), e, strict=True)
                    )
                    for e in events
                ],
            }
        )
        return
    table = Table(title=f"Outreach for {advisory_id}", title_justify="left")
    for col in ("audience", "recipient", "status", "exposed devices", "updated", "by"):
        table.add_column(col)
    for item in items:
        table.add_row(
            item.audience,
            item.recipient,
            item.status.value + (" (detected in the inventory)" if item.detected else ""),
            str(item.exposed_devices),
            item.updated_at.isoformat(timespec="minutes") if item.updated_at else "",
            item.updated_by or "",
        )
    console.print(table)
    for audience, who, state, at, whom, text in events:
        console.print(
            f"{at:%Y-%m-%d %H:%M} {audience} {who}: {state}"
            + (f" by {whom}" if whom else "")
            + (f" ({text})" if text else ""),
            highlight=False,
        )
