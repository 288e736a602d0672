"""`iotwarden fleet ...`: import and count the inventory of products, builds and devices, and
show one build (its components and the summary of its latest firmware analysis)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.interface import FleetError
from iotwarden.store.fleet import FleetRepository, StoredBuild

from . import render
from .intel import JsonOption, open_store, print_json

app = typer.Typer(
    help="Fleet inventory: products, firmware builds and their components (from SBOMs), "
    "owners and deployed devices.",
    no_args_is_help=True,
)
console = render.make_console()
err = render.make_console(stderr=True)
#: Findings listed by `fleet show` (all are in --json).
SHOWN_FINDINGS = 20


def parse_build(text: str, what: str = "--build") -> BuildRef:
    """'VENDOR/PRODUCT@VERSION' (vendor and product may contain spaces)."""
    vendor, slash, rest = text.partition("/")
    product, at, version = rest.rpartition("@")
    if not slash or not at or not vendor.strip() or not product.strip() or not version.strip():
        raise FleetError(
            f"{what} {text!r}: expected VENDOR/PRODUCT@VERSION, "
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


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def build_json(build: StoredBuild) -> dict[str, Any]:
    """A build, its components and the summary of its latest analysis (None without one)."""
    ref = build.ref
    analysis: dict[str, Any] | None = None
    if build.analysis is not None:
        kept = build.analysis
        result = kept.result
        findings = [f for f in result.get("findings", ()) if isinstance(f, dict)]
        analysis = {
            "image": {"name": kept.image_name, "sha256": kept.image_sha256},
            "analysed_at": kept.analysed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "known_vulnerabilities": result.get("known_vulnerabilities"),
            "severity_counts": result.get("severity_counts"),
            "checks": len(result.get("checks", ())),
            "findings": [
                {
                    "id": f.get("id"),
                    "severity": f.get("severity"),
                    "title": f.get("title"),
                    "path": f.get("path"),
                }
                for f in findings
            ],
        }
    return {
        "build": {
            "vendor": ref.product.vendor,
            "product": ref.product.name,
            "version": ref.version,
            "release_date": build.release_date.isoformat() if build.release_date else None,
            "end_of_support": build.end_of_support.isoformat() if build.end_of_support else None,
        },
        "components": [
            {
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
                "cpe": c.cpe,
                "supplier": c.supplier,
            }
            for c in build.components
        ],
        "analysis": analysis,
    }


@app.command("show")
def show_command(
    build: Annotated[
        str,
        typer.Argument(help="The build, as VENDOR/PRODUCT@VERSION.", show_default=False),
    ],
    as_json: JsonOption = False,
) -> None:
    """Show a firmware build: its components and its latest firmware analysis (when and from
    which image, findings by severity). `iotwarden firmware analyze IMAGE --product
    VENDOR/PRODUCT --version VERSION` records both; `iotwarden assess --firmware
    VENDOR/PRODUCT@VERSION` assesses them."""
    try:
        ref = parse_build(build, "build")
        stored = FleetRepository(open_store()).stored_build(ref)
    except (FleetError, StoreError) as e:
        _fail(str(e))
    if stored is None:
        _fail(f"no build {build} in the inventory")
    data = build_json(stored)
    if as_json:
        print_json(data)
        return
    info = data["build"]
    dates = [
        f"{label} {info[key]}"
        for key, label in (("release_date", "released"), ("end_of_support", "supported until"))
        if info[key] is not None
    ]
    console.print(
        f"[bold]{escape(info['vendor'])}/{escape(info['product'])}@{escape(info['version'])}[/]"
        + (f" ({', '.join(dates)})" if dates else ""),
        highlight=False,
    )
    components = Table("component", "version", "purl or CPE", title="Components")
    for c in data["components"]:
        components.add_row(
            escape(c["name"]), escape(c["version"] or "?"), escape(c["purl"] or c["cpe"] or "")
        )
    console.print(components if data["components"] else "No components recorded.")
    analysis = data["analysis"]
    if analysis is None:
        console.print(
            "No firmware analysis is kept with this build: `iotwarden firmware analyze IMAGE "
            "--product VENDOR/PRODUCT --version VERSION` keeps one.",
            highlight=False,
        )
        return
    image = analysis["image"]
    digest = f" (sha256 {image['sha256']})" if image["sha256"] else ""
    counts = analysis["severity_counts"] or {}
    summary = ", ".join(f"{n} {severity}" for severity, n in counts.items() if n) or "none"
    console.print(
        f"Latest analysis: {escape(image['name'])}{digest} at {analysis['analysed_at']}; "
        f"findings: {summary}.",
        highlight=False,
    )
    known = analysis["known_vulnerabilities"] or {}
    if not known.get("matched"):
        console.print("Known vulnerabilities were not kept with this analysis.")
    elif not known.get("advisories_checked"):
        console.print("Known vulnerabilities: the advisory store was empty at the time.")
    findings = Table("severity", "finding", "path", "title", title="Findings")
    for f in analysis["findings"][:SHOWN_FINDINGS]:
        findings.add_row(
            escape(str(f["severity"])),
            escape(str(f["id"])),
            escape(str(f["path"])),
            escape(str(f["title"])),
        )
    if analysis["findings"]:
        console.print(findings)
    more = len(analysis["findings"]) - SHOWN_FINDINGS
    if more > 0:
        console.print(f"… and {more} more (use --json for all)")
