"""`iotwarden assess`: assess a product once against every framework (firmware analysis, probe
results and the manufacturer's declarations), and `iotwarden assess template` to write the
declarations questionnaire."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from iotwarden.baseline import BaselineError, Catalogs, load_catalogs, oscal
from iotwarden.baseline import label as label_mod
from iotwarden.baseline.assess import (
    Assessment,
    FirmwareEvidence,
    Result,
    Verdict,
    assess,
    load_firmware_report,
    load_probe_results,
    stored_build_evidence,
)
from iotwarden.baseline.declarations import NO_DECLARATIONS, load_declarations, template
from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.firmware.model import FirmwareError
from iotwarden.report import conformity
from iotwarden.report.alerts import ReportError
from iotwarden.report.firmware import write_text

from . import render
from .intel import JsonOption, open_store, print_json

app = typer.Typer(
    help="Assess a product against every framework at once: firmware analysis, probe results "
    "and the manufacturer's declarations, projected onto ETSI EN 303 645, UK PSTI, the EU CRA, "
    "NIST IR 8425 and the rest. `iotwarden assess template` writes the questionnaire.",
)
console = render.make_console()
err = render.make_console(stderr=True)

_STYLE = {
    Result.PASS: "green",
    Result.FAIL: "bold red",
    Result.PARTIAL: "yellow",
    Result.NOT_APPLICABLE: "dim",
    Result.NOT_EVIDENCED: "default",
}
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.INCOMPLETE: "yellow",
}
#: Framework columns per matrix table in the text output.
MATRIX_COLUMNS = 4
#: Priorities listed in the text output (all are in --json).
SHOWN_PRIORITIES = 8


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def _catalogs() -> Catalogs:
    try:
        return load_catalogs()
    except BaselineError as e:
        _fail(str(e))


def parse_build(text: str) -> BuildRef | None:
    """'VENDOR/PRODUCT@VERSION', or None when the text is not shaped like one."""
    product, at, version = text.rpartition("@")
    vendor, slash, name = product.partition("/")
    if not at or not slash or not vendor.strip() or not name.strip() or not version.strip():
        return None
    return BuildRef(ProductRef(vendor.strip(), name.strip()), version.strip())


def _firmware(target: str, no_store: bool) -> FirmwareEvidence:
    path = Path(target)
    if path.exists() or path.is_symlink():
        if path.is_file() and path.suffix.lower() == ".json":
            return load_firmware_report(path)
        from iotwarden.firmware.analyze import AnalysisOptions, analyze_image

        store = None if no_store else open_store()
        with err.status("analysing the firmware", spinner="dots"):
            analysis = analyze_image(path, store=store, options=AnalysisOptions(store_build=False))
        return FirmwareEvidence.from_analysis(analysis)
    build = parse_build(target)
    if build is None:
        _fail(
            f"--firmware {target!r}: no such file or folder, and not a build reference "
            "VENDOR/PRODUCT@VERSION"
        )
    return stored_build_evidence(open_store(), build)


def _today(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected YYYY-MM-DD", param_hint="--today") from None


@app.callback(invoke_without_command=True)
def assess_command(
    ctx: typer.Context,
    firmware: Annotated[
        str | None,
        typer.Option(
            help="A firmware image or extracted root file system (analysed now), a saved "
            "`iotwarden firmware analyze --json` report (*.json), or a build already in the "
            "inventory as VENDOR/PRODUCT@VERSION (its latest `firmware analyze` kept with it; "
            "its components only when it was never analysed).",
            show_default=False,
        ),
    ] = None,
    declarations: Annotated[
        Path | None,
        typer.Option(
            help="The filled-in questionnaire (`iotwarden assess template`).",
            show_default=False,
        ),
    ] = None,
    probe: Annotated[
        Path | None,
        typer.Option(
            help="Probe results: a JSON list of {check, target, status: pass|fail, evidence}.",
            show_default=False,
        ),
    ] = None,
    framework: Annotated[
        list[str] | None,
        typer.Option(
            "--framework",
            "-f",
            help="Only these frameworks (id or alias; repeat the option). Default: all.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write every output into this folder: assessment.json, conformity.json and "
            ".html, label.json, .svg and .html, and oscal/ (catalogs, mapping, assessment "
            "results).",
            show_default=False,
        ),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", help="Write the conformity matrix (HTML) here.", show_default=False),
    ] = None,
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store",
            help="Analyse the image without the store (no per-file cache, no known "
            "vulnerabilities).",
        ),
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            help="Assess as of this date (YYYY-MM-DD) instead of today.", show_default=False
        ),
    ] = None,
) -> None:
    """Evaluate each harmonised capability to pass / fail / partial / not applicable / not
    evidenced, project the results onto every framework's requirements (conditional ones
    through the declared facts), and give each framework a verdict with its gaps ranked by
    impact.

    Results are results: the exit status is 0 whenever the assessment ran, 1 when an input
    cannot be used. Example: `iotwarden assess --firmware rootfs/ --declarations
    declarations.yaml --framework etsi-en-303-645 --framework uk-psti`
    """
    if ctx.invoked_subcommand is not None:
        return
    if firmware is None and declarations is None and probe is None:
        console.print(ctx.get_help())
        _fail("give at least one of --firmware, --declarations, --probe")
    day = _today(today)
    catalogs = _catalogs()
    try:
        decl = (
            load_declarations(declarations, catalogs, today=day)
            if declarations is not None
            else NO_DECLARATIONS
        )
        probes = load_probe_results(probe) if probe is not None else ()
        evidence = _firmware(firmware, no_store) if firmware is not None else None
        result = assess(
            catalogs,
            firmware=evidence,
            probes=probes,
            declarations=decl,
            today=day,
            frameworks=framework or None,
        )
    except (BaselineError, FirmwareError) as e:
        _fail(str(e))
    try:
        written = _write(result, catalogs, out, html_file)
    except (ReportError, OSError) as e:
        _fail(f"cannot write the outputs: {e}")
    if as_json:
        print_json(result.to_dict())
    else:
        render_assessment(console, result)
    target = err if as_json else console
    for path in written:
        target.print(f"wrote {path}", highlight=False)


@app.command("template")
def template_command(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the questionnaire here (default: standard output).", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing file at --out.")
    ] = False,
) -> None:
    """Write the declarations questionnaire: every applicability fact and every question no
    tool can answer (support period, disclosure contact, update policy, data deletion, ...),
    each with a comment saying what it asks and how to answer.

    Example: `iotwarden assess template --out declarations.yaml`
    """
    text = template(_catalogs())
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists() and not force:
        _fail(f"{out} exists: give --force to overwrite it (answers in it would be lost)")
    try:
        write_text(out, text)
    except (ReportError, OSError) as e:
        _fail(f"cannot write {out}: {e}")
    err.print(f"wrote {out}", highlight=False)


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write(
    result: Assessment, catalogs: Catalogs, out: Path | None, html_file: Path | None
) -> list[Path]:
    written = []
    if html_file is not None:
        written.append(write_text(html_file, conformity.to_html(result)))
    if out is None:
        return written
    label = label_mod.build_label(result)
    files = {
        "assessment.json": _dump(result.to_dict()),
        "conformity.json": _dump(conformity.matrix(result)),
        "conformity.html": conformity.to_html(result),
        "label.json": _dump(label.to_dict()),
        "label.svg": label_mod.to_svg(label),
        "label.html": label_mod.to_html(label),
    }
    for name, text in files.items():
        written.append(write_text(out / name, text))
    for name, doc in oscal.all_documents(result, catalogs).items():
        written.append(write_text(out / "oscal" / name, _dump(doc)))
    return written


def verdicts_table(result: Assessment, *, titles: bool = False) -> Table:
    """One row per framework: its verdict and the counts it rests on (by id, or by title)."""
    verdicts = Table(title="Verdicts", title_justify="left")
    for col in ("framework", "verdict", "binding requirements"):
        verdicts.add_column(col)
    for f in result.frameworks:
        verdicts.add_row(
            escape(f.title if titles else f.framework)
            + ("" if f.verified else " [dim](unverified)[/]"),
            f"[{_VERDICT_STYLE[f.verdict]}]{f.verdict.value}[/]",
            escape(f.summary),
        )
    return verdicts


def render_assessment(out: Console, result: Assessment) -> None:
    """The matrix, the verdicts and the top priorities, for people."""
    data = conformity.matrix(result)
    out.print(
        f"[bold]Assessment of {escape(result.subject or 'an unnamed product')}[/] as of "
        f"{result.assessed_on.isoformat()}",
        highlight=False,
    )
    if result.firmware is not None:
        fw = result.firmware
        out.print(
            f"Firmware: {escape(fw.source)} ({len(fw.findings)} findings, "
            f"{len(fw.components)} components)",
            highlight=False,
        )
    answered = sum(
        1 for a in result.declarations.answers.values() if a.status.value != "unanswered"
    )
    out.print(
        f"Declarations: {escape(result.declarations.source or 'none')} ({answered} answers, "
        f"{len(result.declarations.facts)} facts). Probe results: {len(result.probes)}.",
        highlight=False,
    )
    # More than a few framework columns do not fit a terminal: the matrix is split into
    # tables of MATRIX_COLUMNS frameworks each, with the same rows.
    frameworks = data["frameworks"]
    chunks = [
        frameworks[i : i + MATRIX_COLUMNS] for i in range(0, len(frameworks), MATRIX_COLUMNS)
    ] or [[]]
    widest = max((len(row["capability"]) for row in data["rows"]), default=10)
    for n, chunk in enumerate(chunks, 1):
        title = "Conformity matrix" + (f" ({n}/{len(chunks)})" if len(chunks) > 1 else "")
        table = Table(title=title, title_justify="left")
        table.add_column("capability", min_width=widest, no_wrap=True)
        table.add_column("result", no_wrap=True)
        for f in chunk:
            table.add_column(escape(f["title"]), overflow="fold")
        for row in data["rows"]:
            res = Result(row["result"])
            table.add_row(
                escape(row["capability"]),
                f"[{_STYLE[res]}]{conformity.RESULT_MARK[res]} {res.value}[/]",
                *(escape(conformity.cell_text(row["cells"][f["id"]])) for f in chunk),
            )
        out.print(table)
    legend = ", ".join(f"{m} {r}" for r, m in data["legend"].items())
    out.print(f"Legend: {legend}", highlight=False)
    out.print(verdicts_table(result))
    if result.priorities:
        top = Table(
            title="Fix first (capabilities holding requirements back)", title_justify="left"
        )
        for col in ("#", "capability", "result", "mandatory reqs", "frameworks", "what to do"):
            top.add_column(col)
        for p in result.priorities[:SHOWN_PRIORITIES]:
            top.add_row(
                str(p.rank),
                escape(p.capability),
                f"[{_STYLE[p.result]}]{p.result.value}[/]",
                str(p.mandatory_requirements),
                str(p.frameworks),
                escape(p.actions[0] if p.actions else ""),
            )
        out.print(top)
        if len(result.priorities) > SHOWN_PRIORITIES:
            out.print(
                f"{len(result.priorities) - SHOWN_PRIORITIES} more (and every framework's "
                "ranked gaps) in --json and --out.",
                highlight=False,
            )
    for note in result.notes:
        out.print(f"[dim]note: {escape(note)}[/]", highlight=False)
