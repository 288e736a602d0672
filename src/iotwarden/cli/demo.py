"""`iotwarden demo`: the main job on bundled sample data, in a store of its own."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from iotwarden.exposure.alerts import build_alerts
from iotwarden.exposure.matcher import exposed_devices, exposure
from iotwarden.exposure.priority import prioritise
from iotwarden.exposure.situation import situation
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.sample import generate_world
from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import vulnerability_view
from iotwarden.report.alerts import to_json, write_alerts
from iotwarden.report.response import response_html
from iotwarden.store.db import Store

from . import render
from .alerts import summarise
from .exposure import exposure_json, render_exposure
from .situation import render_situation

console = render.make_console()


def samples_dir(kind: str = "advisories") -> Path:
    """The bundled sample advisories (or the sample fleet, kind 'fleet')."""
    return Path(str(resources.files("iotwarden") / "data" / "samples" / kind))


def demo(
    workdir: Annotated[
        Path,
        typer.Option(
            help="Folder for the demo's own store, fleet file, alerts and report (recreated "
            "on each run; your store is never touched).",
        ),
    ] = Path("iotwarden-demo"),
    devices: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Devices in the generated sample world.")
    ] = 3000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Run the Heartbleed response on a generated sample world.

    Generates a fleet (10 products of 7 vendors in energy, health, water, transport,
    manufacturing and consumer sectors, 23 firmware builds with embedded components, a few
    thousand devices of 17 owners), imports it, ingests sample advisories about
    CVE-2014-0160 in six formats (CVE 5, NVD 2.0, OSV, CSAF, CISA KEV, FIRST EPSS), and
    prints the response: the merged view of the vulnerability, the exposed builds and
    devices ranked by priority with the fix and mitigations, the situation summary, and one
    alert per owner and vendor. Writes the alerts and an HTML report under WORKDIR.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db_path.resolve()}")
    world = workdir / "fleet.json"
    world.write_text(json.dumps(generate_world(devices)))
    fleet = import_inventory(store, [world])
    report = ingest(store, [str(samples_dir())])
    query = "CVE-2014-0160"
    view = vulnerability_view(store, query)
    exposed = exposure(store, query)
    listed = exposed_devices(store, exposed, limit=10)
    ranked = prioritise(store, exposed)
    picture = situation(store, query)
    alerts = build_alerts(store, query)
    written = write_alerts(alerts, workdir / "alerts", ["json", "markdown", "html"])
    pages = [p for p in written if p.suffix == ".html"]
    links = {i: page.relative_to(workdir.resolve()) for i, page in enumerate(pages)}
    report_path = workdir / "heartbleed-response.html"
    report_path.write_text(response_html(picture, alerts, links), encoding="utf-8")
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "fleet": fleet.as_dict(),
                    "ingest": report.as_dict(),
                    "vulnerability": view.as_dict(),
                    "exposure": exposure_json(exposed, listed, ranked),
                    "situation": dataclasses.asdict(picture),
                    "alerts": [to_json(a) for a in alerts],
                    "report": str(report_path),
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
        render_exposure(exposed, listed, ranked)
        render_situation(picture)
        summarise(alerts)
        # Name the command as the user can type it: on PATH, or the path it was run by.
        prog = "iotwarden" if shutil.which("iotwarden") else os.path.relpath(sys.argv[0])
        console.print(
            f"\nWrote {len(written)} alert files to [bold]{workdir / 'alerts'}[/] and the "
            f"report [bold]{report_path}[/].\nThe demo store is [bold]{db_path}[/]. Try:\n"
            f"  {prog} --db sqlite:///{db_path} exposure {query} --json\n"
            f"  {prog} --db sqlite:///{db_path} outreach {query} --set 'North Grid' "
            "--status notified --by you\n"
            f"  {prog} --db sqlite:///{db_path} intel show DSA-2896-1 --json",
            highlight=False,
        )
    store.close()
    if not report.ok or not fleet.ok:
        for problem in [*report.problems, *fleet.problems]:
            render.make_console(stderr=True).print(f"[red]✗[/] {problem}", highlight=False)
        raise typer.Exit(1)
