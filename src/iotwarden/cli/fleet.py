"""`iotwarden fleet ...`: import and count the inventory of products, builds and devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.interface import FleetError
from iotwarden.store.fleet import FleetRepository

from . import render
from .intel import JsonOption, open_store, print_json

app = typer.Typer(
    help="Fleet inventory: products, firmware builds and their components (from SBOMs), "
    "owners and deployed devices.",
    no_args_is_help=True,
)
console = render.make_console()
err = render.make_console(stderr=True)


def parse_build(text: str) -> BuildRef:
    """'VENDOR/PRODUCT@VERSION' (vendor and product may contain spaces)."""
    vendor, slash, rest = text.partition("/")
    product, at, version = rest.rpartition("@")
    if not slash or not at or not vendor.strip() or not product.strip() or not version.strip():
        raise FleetError(
            f"--build {text!r}: expected VENDOR/PRODUCT@VERSION, "
            "e.g. 'Example Controls/ExGate 100@4.2.1'"
        )
    return BuildRef(ProductRef(vendor.strip(), product.strip()), version.strip())


@app.command("import")
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or JSON inventory files, CycloneDX or SPDX JSON SBOMs.", show_default=False
        ),
    ],
    build: Annotated[
        str | None,
        typer.Option(
            help="The firmware build an SBOM describes, as VENDOR/PRODUCT@VERSION, when the "
            "SBOM does not say it itself.",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            help="Store the valid records even when others are invalid (they are listed)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import products, firmware builds, components and devices, in one transaction.

    CSV files hold one kind each, told by their columns: products (vendor, product,
    model_numbers, device_class, sector, criticality), builds (vendor, product, version,
    release_date, end_of_support), components (vendor, product, firmware_version, component,
    version, purl, cpe, supplier) or devices (device_id, vendor, product, firmware_version,
    owner, owner_contact, sector, site, criticality, internet_exposed, address, last_seen).
    JSON files hold {"products": [...], "firmware_builds": [...], "devices": [...]}.
    CycloneDX 1.4-1.6 and SPDX 2.3 SBOMs give a build's components.

    References are checked across the files of one import and the store. If anything is
    invalid nothing is stored (exit status 1), unless --skip-invalid is given.
    """
    target = parse_build(build) if build else None
    report = import_inventory(open_store(), files, build=target, skip_invalid=skip_invalid)
    if as_json:
        print_json(report.as_dict())
    else:
        render.fleet_import_summary(console, report)
        for problem in report.problems[:50]:
            err.print(f"[red]✗[/] {problem}", highlight=False)
        if len(report.problems) > 50:
            err.print(f"… and {len(report.problems) - 50} more (use --json for all)")
    raise typer.Exit(0 if report.ok else 1)


@app.command("stats")
def stats_command(as_json: JsonOption = False) -> None:
    """Count products, firmware builds, components, owners and devices."""
    store = open_store()
    counts = FleetRepository(store).counts()
    if as_json:
        print_json({"store": store.url, "counts": counts})
    else:
        render.counts(console, store.url, counts)
