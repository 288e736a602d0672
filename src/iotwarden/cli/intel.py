"""`iotwarden intel ...`: ingest advisory documents, show one vulnerability, search."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    Progress,
)

from iotwarden.core.models import AdvisoryFormat
from iotwarden.core.settings import settings
from iotwarden.intel.ingest import IngestProblem, IngestReport, ingest
from iotwarden.intel.registry import PARSERS
from iotwarden.intel.sources import DOCUMENT_SUFFIXES
from iotwarden.intel.view import search, vulnerability_view
from iotwarden.store.advisories import AdvisoryRepository, SearchCriteria
from iotwarden.store.db import Store

from . import render

app = typer.Typer(
    help="Advisory intelligence: ingest OSV, CSAF, CVE 5, NVD, KEV and EPSS documents and "
    "query one merged view of every vulnerability.",
    no_args_is_help=True,
)
console = render.make_console()
err = render.make_console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def open_store() -> Store:
    return Store.open(settings().db_url)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


class _ProgressObserver:
    """Draws a live line per run: documents read, records, problems."""

    def __init__(self, progress: Progress, total: int | None) -> None:
        self.progress = progress
        self.task = progress.add_task("ingesting", total=total)
        self.records = 0
        self.problems = 0

    def document_started(self, origin: str, size: int | None) -> None:
        short = origin if len(origin) < 60 else "…" + origin[-59:]
        self.progress.update(self.task, description=short)

    def document_finished(self, origin: str, records: int, failed: bool) -> None:
        self.records += records
        self.progress.advance(self.task)

    def problem(self, problem: IngestProblem) -> None:
        # Shown live only on a terminal (long runs); the summary lists them all at the end.
        self.problems += 1
        if self.progress.live.is_started and self.problems <= 20:
            self.progress.console.print(f"[yellow]problem:[/] {problem}", highlight=False)


def _count_inputs(paths: list[str]) -> int | None:
    total = 0
    for given in paths:
        path = Path(given)
        if given == "-" or path.suffix.lower() == ".zip":
            return None
        if path.is_dir():
            total += sum(
                1
                for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith(DOCUMENT_SUFFIXES)
            )
        else:
            total += 1
    return total


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories, .json/.json.gz/.csv files, .zip bundles, or - for stdin.",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Records per transaction (default 2000)."),
    ] = None,
    alert: Annotated[
        Path | None,
        typer.Option(
            help="After ingesting, build the alerts of every added or updated advisory that "
            "exposes devices, write them into this folder (JSON, Markdown, HTML) and list them.",
        ),
    ] = None,
) -> None:
    """Ingest advisory documents; the format of each is detected.

    Reads OSV 1.x, CSAF 2.0/2.1 (advisories and VEX), CVE JSON 5.x, NVD API 2.0 (responses and
    single records), the CISA KEV catalog (JSON or CSV) and FIRST EPSS CSV files. Re-ingesting a
    document changes nothing; a newer revision replaces the older one.

    Exit status: 0 when everything was ingested, 1 when some documents or records failed
    (the valid ones are stored), 2 on a usage or store error.

    Example: `iotwarden intel ingest advisories/ known_exploited_vulnerabilities.json`
    """
    store = open_store()
    total = _count_inputs(paths)
    with render.new_progress(err, disable=as_json) as progress:
        report = ingest(store, paths, _ProgressObserver(progress, total), batch_size)
    if as_json:
        print_json(report.as_dict())
    else:
        render.ingest_summary(console, report)
        if not report.ok:
            for problem in report.problems[:50]:
                err.print(f"[red]✗[/] {problem}", highlight=False)
            if report.problem_count > 50:
                err.print(
                    f"… and {report.problem_count - 50} more (--json lists the first "
                    f"{len(report.problems)})"
                )
    if alert is not None:
        _alert_changes(store, report, alert, as_json)
    raise typer.Exit(_exit_code(report))


#: Changed advisories from which ``--alert`` loads the fleet into memory once (seconds for a
#: million devices) rather than reading each advisory's devices from the store.
RESIDENT_AFTER = 25


def _alert_changes(store: Store, report: IngestReport, out: Path, as_json: bool) -> None:
    """Alerts for what this ingest changed: no timer, no rescan of everything."""
    from iotwarden.exposure.alerts import build_alerts
    from iotwarden.exposure.index import ResidentFleet
    from iotwarden.report.alerts import write_alerts

    from .alerts import summarise

    fleet = None
    if len(report.changed) >= RESIDENT_AFTER:
        with store.engine.connect() as conn:
            fleet = ResidentFleet.load(conn)
    seen: set[frozenset[str]] = set()
    for changed in report.changed:
        alerts = build_alerts(store, changed.id, fleet)
        if not alerts:
            continue
        group = frozenset(alerts[0].vulnerability.ids)
        if group in seen:
            continue
        seen.add(group)
        written = write_alerts(alerts, out, ["json", "markdown", "html"])
        if not as_json:
            console.rule(f"[bold]Alerts for {changed.id}[/]")
            summarise(alerts)
            console.print(f"{len(written)} files written to {out}", highlight=False)
    if not seen and not as_json:
        console.print("No added or updated advisory exposes a device: no alert.")


def _exit_code(report: IngestReport) -> int:
    return 0 if report.ok else 1


@app.command("show")
def show_command(
    advisory_id: Annotated[
        str, typer.Argument(help="A CVE, OSV, GHSA, CSAF tracking id or any alias.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Show everything known about one vulnerability, merged across sources.

    Aliases are followed (a GHSA naming a CVE, a CVE named in an OSV record), and each fact says
    which source stated it. Example: `iotwarden intel show CVE-2014-0160`
    """
    view = vulnerability_view(open_store(), advisory_id)
    if as_json:
        print_json(view.as_dict())
    else:
        render.vulnerability(console, view)


@app.command("search")
def search_command(
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="An advisory id or alias (repeatable)."),
    ] = None,
    purl: Annotated[
        str | None, typer.Option(help="Package URL, e.g. pkg:generic/openssl (version ignored).")
    ] = None,
    cpe: Annotated[
        str | None, typer.Option(help="CPE 2.3 name; vendor and product are matched.")
    ] = None,
    vendor: Annotated[str | None, typer.Option(help="Vendor name (any spelling/case).")] = None,
    product: Annotated[str | None, typer.Option(help="Product name (any spelling/case).")] = None,
    text: Annotated[str | None, typer.Option(help="Words in the title or description.")] = None,
    kev: Annotated[
        bool | None,
        typer.Option("--kev/--not-kev", help="Only advisories on (or not on) CISA's KEV list."),
    ] = None,
    min_epss: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Lowest EPSS probability, 0..1.")
    ] = None,
    min_cvss: Annotated[
        float | None, typer.Option(min=0.0, max=10.0, help="Lowest CVSS base score.")
    ] = None,
    source: Annotated[
        list[AdvisoryFormat] | None,
        typer.Option(help="Only records from this format (repeatable)."),
    ] = None,
    include_withdrawn: Annotated[
        bool, typer.Option(help="Include withdrawn and rejected records.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most results to list.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Find advisories by id, alias, purl, CPE, vendor/product, KEV, EPSS or CVSS.

    Criteria combine with AND. Example: `iotwarden intel search --vendor openssl --kev --min-cvss 7`
    """
    criteria = SearchCriteria(
        ids=tuple(ids or ()),
        purl=purl,
        cpe=cpe,
        vendor=vendor,
        product=product,
        text=text,
        kev=kev,
        min_epss=min_epss,
        min_cvss=min_cvss,
        sources=tuple(source or ()),
        include_withdrawn=include_withdrawn,
        limit=limit,
    )
    results = search(open_store(), criteria)
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        render.search_results(console, results)


@app.command("stats")
def stats_command(as_json: JsonOption = False) -> None:
    """Count what the store holds (advisories, affected products, KEV entries, EPSS scores)."""
    store = open_store()
    counts = AdvisoryRepository(store).counts()
    if as_json:
        print_json({"store": store.url, "counts": counts})
    else:
        render.counts(console, store.url, counts)


@app.command("formats")
def formats_command(as_json: JsonOption = False) -> None:
    """List the advisory formats that `ingest` recognises."""
    rows = [
        {"format": p.format.value, "title": p.title, "description": p.description} for p in PARSERS
    ]
    if as_json:
        print_json(rows)
    else:
        render.formats(console, rows)
