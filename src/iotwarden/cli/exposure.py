"""`iotwarden exposure ID`: which firmware builds and devices an advisory affects, and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from iotwarden.exposure.matcher import ExposedDevice, Exposure, exposed_devices, exposure
from iotwarden.exposure.priority import Priority, prioritise
from iotwarden.intel.view import jsonable

from . import render
from .intel import open_store, print_json

console = render.make_console()


def exposure_command(
    advisory_id: Annotated[
        str, typer.Argument(help="A CVE, OSV, GHSA, CSAF tracking id or any alias.")
    ],
    devices: Annotated[
        int, typer.Option(min=0, help="List up to this many exposed devices (0: none).")
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the firmware builds and devices the advisory affects, and why.

    Matches every affected product the advisory's sources state (by package URL, CPE, component
    name, or vendor and model for ICS advisories) against the inventory's components and
    firmware versions, in the range's own version scheme. A component with an unknown
    version, or a range that could not be read, is "possibly affected". Not-affected
    statements (VEX, CSAF known_not_affected) take builds out, with their justification.
    Example: `iotwarden exposure CVE-2014-0160`
    """
    store = open_store()
    result = exposure(store, advisory_id)
    listed = exposed_devices(store, result, limit=devices) if devices else []
    ranked = prioritise(store, result)
    if as_json:
        print_json(exposure_json(result, listed, ranked))
        return
    render_exposure(result, listed, ranked)


def exposure_json(
    result: Exposure, listed: list[ExposedDevice], ranked: Sequence[Priority]
) -> dict[str, Any]:
    return {
        "priorities": [jsonable(p) for p in ranked],
        "query": result.query,
        "vulnerability_ids": result.vulnerability_ids,
        "devices": result.devices,
        "builds": [jsonable(b) | {"fixed_versions": list(b.fixed_versions)} for b in result.builds],
        "suppressed": [jsonable(b) for b in result.suppressed],
        "exposed_devices": [jsonable(d) for d in listed],
    }


def render_exposure(
    result: Exposure, listed: list[ExposedDevice], ranked: Sequence[Priority]
) -> None:
    console.rule(f"[bold]Exposure to {result.query}[/]")
    if not result.builds:
        console.print("No firmware build in the inventory is exposed.")
    else:
        table = Table(title=f"{len(result.builds)} exposed builds, {result.devices} devices")
        for col in ("product", "firmware", "status", "devices", "internet", "why", "fix"):
            table.add_column(col)
        for build in result.builds:
            why = "\n".join(
                f"{r.matched} in {r.ranges} ({r.how}, {r.source})" for r in build.reasons[:4]
            )
            table.add_row(
                str(build.product),
                build.version,
                build.status.value.replace("_", " "),
                str(build.devices),
                str(build.internet_exposed),
                why,
                ", ".join(build.fixed_versions),
            )
        console.print(table)
    for build in result.suppressed:
        held = build.suppressed_by
        if held is not None:
            console.print(
                f"Not affected: {build.product} {build.version} "
                f"({held.justification or 'not affected'}, {held.source})",
                highlight=False,
            )
    if ranked:
        table = Table(title="Priorities by device group (docs/priority.md)")
        for col in ("", "score", "owner", "devices", "build", "why"):
            table.add_column(col)
        for item in ranked[:15]:
            group = item.group
            where = ", ".join(
                x
                for x in (
                    group.sector,
                    group.criticality.value if group.criticality else None,
                    "internet" if group.internet_exposed else None,
                )
                if x
            )
            table.add_row(
                item.band,
                f"{item.score:.1f}",
                (group.owner or "(no owner)")
                + (f"\n{group.owner_contact}" if group.owner_contact else ""),
                f"{len(group.device_ids)} ({where})" if where else str(len(group.device_ids)),
                f"{group.product} {group.firmware_version}",
                ", ".join(f"{f.name} {f.points:+.0f}" for f in item.factors),
            )
        console.print(table)
        if len(ranked) > 15:
            console.print(f"… {len(ranked) - 15} more groups (use --json)")
    if listed:
        table = Table(title="Exposed devices (internet-facing and critical first)")
        for col in ("device", "product", "firmware", "owner", "sector", "criticality", "internet"):
            table.add_column(col)
        for dev in listed:
            table.add_row(
                dev.device_id,
                str(dev.product),
                dev.firmware_version,
                dev.owner or "",
                dev.sector or "",
                dev.criticality.value if dev.criticality else "",
                "yes" if dev.internet_exposed else "",
            )
        console.print(table)
