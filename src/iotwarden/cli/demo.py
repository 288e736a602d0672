"""`iotwarden demo`: the main job on bundled sample data, in a store of its own."""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from iotwarden.exposure.matcher import exposed_devices, exposure
from iotwarden.exposure.priority import prioritise
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import vulnerability_view
from iotwarden.store.db import Store

from . import render
from .exposure import exposure_json, render_exposure

console = render.make_console()


def samples_dir(kind: str = "advisories") -> Path:
    """The bundled sample advisories (or the sample fleet, kind 'fleet')."""
    return Path(str(resources.files("iotwarden") / "data" / "samples" / kind))


def demo(
    workdir: Annotated[
        Path,
        typer.Option(
            help="Folder for the demo's own store (recreated on each run; your store is "
            "never touched).",
        ),
    ] = Path("iotwarden-demo"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Run the Heartbleed response on bundled sample data.

    Imports a sample fleet (3 products, 6 firmware builds, 37 devices) and sample advisories
    about CVE-2014-0160 in six formats (CVE 5, NVD 2.0, OSV, CSAF, CISA KEV, FIRST EPSS) into
    a fresh store under WORKDIR, then prints the merged view (every source, the exploitation
    signals, the severity, the affected products and the fixes) and the fleet's exposure:
    which builds and devices are affected, why, and the fix.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db_path.resolve()}")
    fleet = import_inventory(store, [samples_dir("fleet")])
    report = ingest(store, [str(samples_dir())])
    view = vulnerability_view(store, "CVE-2014-0160")
    exposed = exposure(store, "CVE-2014-0160")
    devices = exposed_devices(store, exposed, limit=10)
    ranked = prioritise(store, exposed)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "fleet": fleet.as_dict(),
                    "ingest": report.as_dict(),
                    "vulnerability": view.as_dict(),
                    "exposure": exposure_json(exposed, devices, ranked),
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    else:
        render.fleet_import_summary(console, fleet)
        render.ingest_summary(console, report)
        render.vulnerability(console, view)
        render_exposure(exposed, devices, ranked)
        # Name the command as the user can type it: on PATH, or the path it was run by.
        prog = "iotwarden" if shutil.which("iotwarden") else os.path.relpath(sys.argv[0])
        console.print(
            f"\nThe demo store is [bold]{db_path}[/]. Try:\n"
            f"  {prog} --db sqlite:///{db_path} exposure CVE-2014-0160 --json\n"
            f"  {prog} --db sqlite:///{db_path} intel search --kev\n"
            f"  {prog} --db sqlite:///{db_path} intel show DSA-2896-1 --json",
            highlight=False,
        )
    store.close()
    if not report.ok or not fleet.ok:
        for problem in [*report.problems, *fleet.problems]:
            render.make_console(stderr=True).print(f"[red]✗[/] {problem}", highlight=False)
        raise typer.Exit(1)
