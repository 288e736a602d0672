"""`iotwarden firmware analyze IMAGE`: extract a firmware image, identify its components, run
the security checks, match known vulnerabilities, record the build, and write the reports."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table

from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.firmware.analyze import (
    AnalysisOptions,
    AnalysisPhase,
    FirmwareAnalysis,
    analyze_image,
)
from iotwarden.firmware.model import FirmwareError, Severity
from iotwarden.report import firmware as report
from iotwarden.report import sarif
from iotwarden.report.alerts import ReportError

from . import render
from .intel import JsonOption, open_store, print_json

app = typer.Typer(
    help="Firmware analysis: components, default credentials, keys, services, binary "
    "hardening and known vulnerabilities of a firmware image.",
    no_args_is_help=True,
)
console = render.make_console()
err = render.make_console(stderr=True)


class SbomFormat(StrEnum):
    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"


SBOM_FILES = {SbomFormat.CYCLONEDX: "sbom.cdx.json", SbomFormat.SPDX: "sbom.spdx.json"}

_PHASE_TEXT = {
    AnalysisPhase.EXTRACT: "extracting",
    AnalysisPhase.WALK: "listing files",
    AnalysisPhase.HASH: "hashing files",
    AnalysisPhase.ANALYSE: "analysing file contents",
    AnalysisPhase.IDENTIFY: "identifying components",
    AnalysisPhase.CHECK: "running the security checks",
    AnalysisPhase.MATCH: "matching known vulnerabilities",
    AnalysisPhase.REUSE: "looking up the stored analysis of this image",
}


class _ProgressObserver:
    """One bar, re-labelled and re-sized for each phase of the analysis."""

    def __init__(self, progress: Progress) -> None:
        self.bar = progress
        self.task: TaskID = progress.add_task("starting", total=None)

    # analysis phases
    def phase_started(self, phase: AnalysisPhase, total: int | None) -> None:
        self.bar.reset(self.task, total=total, description=_PHASE_TEXT.get(phase, phase))

    def advanced(self, count: int) -> None:
        self.bar.advance(self.task, count)

    def phase_finished(self, phase: AnalysisPhase) -> None:
        pass

    # extraction events
    def step_started(self, step: Any) -> None:
        what = getattr(step, "format", "container")
        self.bar.update(self.task, description=f"extracting {what}")

    def progress(self, files: int, bytes_written: int) -> None:
        mib = bytes_written / (1024 * 1024)
        self.bar.update(self.task, description=f"extracting: {files} files, {mib:.1f} MiB")

    def problem(self, message: str) -> None:
        pass  # listed with the other problems at the end


def parse_product(text: str) -> ProductRef:
    """'VENDOR/NAME' (either may contain spaces)."""
    vendor, slash, name = text.partition("/")
    if not slash or not vendor.strip() or not name.strip():
        raise typer.BadParameter(
            f"{text!r}: expected VENDOR/NAME, e.g. 'Example Controls/ExGate 100'",
            param_hint="--product",
        )
    return ProductRef(vendor.strip(), name.strip())


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(1)


@app.command("analyze")
def analyze_command(
    image: Annotated[
        Path,
        typer.Argument(
            help="The firmware image (raw flash dump, uImage, TRX, SquashFS, UBI, JFFS2, "
            "cpio, ext, tar, zip, ...) or a folder holding an extracted root file system.",
            show_default=False,
        ),
    ],
    product: Annotated[
        str | None,
        typer.Option(
            help="The product the image is for, as VENDOR/NAME: with --version, the build is "
            "recorded in the inventory so the exposure engine covers it.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="The firmware version of the image.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write every report into this folder: report.json, report.html, report.sarif "
            "and the SBOM (both formats unless --sbom names one).",
            show_default=False,
        ),
    ] = None,
    sbom: Annotated[
        SbomFormat | None,
        typer.Option(
            help="SBOM format: written into --out, or printed on standard output without it.",
            show_default=False,
        ),
    ] = None,
    sarif_file: Annotated[
        Path | None,
        typer.Option("--sarif", help="Write the findings as SARIF 2.1.0 here.", show_default=False),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", help="Write the HTML report here.", show_default=False),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Extract into this folder and keep it (default: a temporary folder, removed).",
            show_default=False,
        ),
    ] = None,
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store",
            help="Do not record the build in the inventory (known vulnerabilities are still "
            "matched).",
        ),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Analyse every file again, ignoring cached results."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Worker processes for the per-file analyses (0: none; default: up to 2 when "
            "there is enough to do).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Analyse a firmware image: components (with purl and CPE), default and hard-coded
    credentials, private keys and certificates, services started at boot, binary hardening,
    update mechanism and known vulnerabilities.

    Findings are results: the exit status is 0 whenever the analysis ran, 1 when the image is
    missing or nothing could be extracted from it. Each file's analysis is cached by content,
    so analysing the image again (or its next version) only analyses what changed.

    Example: `iotwarden firmware analyze router.bin --product 'Acme/R500' --version 2.1.0
    --out reports/`
    """
    if (product is None) != (version is None):
        raise typer.BadParameter(
            "give both --product VENDOR/NAME and --version V to record the build, or neither",
            param_hint="--product/--version",
        )
    build = BuildRef(parse_product(product), version.strip()) if product and version else None
    if sbom is not None and out is None and as_json:
        raise typer.BadParameter(
            "--json prints the report on standard output: give --out DIR for the SBOM",
            param_hint="--sbom",
        )
    store = open_store()
    options = AnalysisOptions(
        build=build,
        store_build=not no_store,
        work_dir=work_dir,
        use_cache=not no_cache,
        workers=workers,
    )
    quiet = as_json or (sbom is not None and out is None)
    with render.new_progress(err) as progress:
        observer = _ProgressObserver(progress)
        try:
            analysis = analyze_image(
                image,
                store=store,
                options=options,
                observer=observer,
                extraction_observer=observer,
            )
        except FirmwareError as e:
            raise _fail(str(e)) from e

    written = _write_reports(analysis, out, sbom, sarif_file, html_file)
    if as_json:
        print_json(report.to_json(analysis))
    elif sbom is not None and out is None:
        sys.stdout.write(_sbom_text(analysis, sbom))
    if not quiet:
        render_analysis(analysis)
    target = err if quiet else console
    for path in written:
        target.print(f"wrote {path}", highlight=False)


def _sbom_text(analysis: FirmwareAnalysis, fmt: SbomFormat) -> str:
    from iotwarden.firmware.sbom import SbomError, render

    try:
        return render(analysis, fmt.value)
    except SbomError as e:
        raise _fail(str(e)) from e


def _write_reports(
    analysis: FirmwareAnalysis,
    out: Path | None,
    sbom: SbomFormat | None,
    sarif_file: Path | None,
    html_file: Path | None,
) -> list[Path]:
    written: list[Path] = []
    try:
        if out is not None:
            written.append(report.write_text(out / "report.json", report.dumps(analysis)))
            written.append(report.write_text(out / "report.html", report.to_html(analysis)))
            written.append(report.write_text(out / "report.sarif", sarif.dumps(analysis)))
            for fmt in [sbom] if sbom is not None else list(SbomFormat):
                written.append(report.write_text(out / SBOM_FILES[fmt], _sbom_text(analysis, fmt)))
        if sarif_file is not None:
            written.append(report.write_text(sarif_file, sarif.dumps(analysis)))
        if html_file is not None:
            written.append(report.write_text(html_file, report.to_html(analysis)))
    except OSError as e:
        raise _fail(f"cannot write the report: {e}") from e
    except ReportError as e:
        raise _fail(str(e)) from e
    return written


_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render_analysis(analysis: FirmwareAnalysis) -> None:
    a = analysis
    f = a.files
    console.rule(f"[bold]Firmware analysis: {a.image.name}[/]")
    roots = ", ".join(r.prefix or "/" for r in a.rootfs)
    extractors = ", ".join(dict.fromkeys(str(s.get("extractor", "")) for s in a.extraction.steps))
    how = (
        " (a folder, used as it is)"
        if a.image.kind == "directory"
        else (f" (extracted by {extractors})" if extractors else "")
    )
    console.print(
        f"Root file system{'s' if len(a.rootfs) > 1 else ''}: {roots}{how}", highlight=False
    )
    console.print(
        f"Files: {f.total} ({f.unique} distinct): [green]{f.analysed} analysed[/], "
        f"{f.reused} reused from the cache; {f.symlinks} links not followed, "
        f"{f.special} special files skipped.",
        highlight=False,
    )
    if a.reused_image:
        console.print(
            f"Reused the stored analysis of this image from {a.reused_from} (same content, same "
            "analysers); known vulnerabilities re-checked against the store now.",
            highlight=False,
        )
    if a.components:
        table = Table(title=f"{len(a.components)} components", title_justify="left")
        for col in ("component", "version", "confidence", "purl / CPE", "evidence"):
            table.add_column(col)
        for c in a.components:
            paths = list(dict.fromkeys(e.path for e in c.evidence))
            table.add_row(
                c.name,
                c.version or "[dim](unknown)[/]",
                c.confidence.value,
                "\n".join(x for x in (c.purl, c.cpe) if x),
                "\n".join(paths[:3]) + (f"\n… {len(paths) - 3} more" if len(paths) > 3 else ""),
            )
        console.print(table)
    else:
        console.print("No components identified.")
    if a.findings:
        counts = a.severity_counts()
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        table = Table(title=f"{len(a.findings)} findings ({summary})", title_justify="left")
        for col in ("severity", "finding", "where"):
            table.add_column(col)
        for finding in a.findings:
            style = _SEVERITY_STYLE[finding.severity]
            table.add_row(
                f"[{style}]{finding.severity.value}[/]",
                f"{finding.title}\n[dim]{finding.id}[/]",
                finding.path,
            )
        console.print(table)
    else:
        console.print("No findings.")
    if not a.advisories_checked:
        console.print(
            "[yellow]Known vulnerabilities not checked:[/] the advisory store is empty "
            "(`iotwarden intel ingest PATH`)."
        )
    if a.stored and a.build is not None:
        console.print(
            f"Recorded in the inventory as [bold]{a.build.product} {a.build.version}[/]: "
            "`iotwarden exposure ID` now covers it.",
            highlight=False,
        )
    else:
        console.print(
            "[dim]Not recorded in the inventory (give --product VENDOR/NAME and --version V).[/]"
        )
    problems = len(a.problems) + len(a.extraction.problems)
    if problems:
        console.print(f"[yellow]{problems} problem(s)[/] (listed on stderr; all in --json).")
        for p in [*a.extraction.problems, *a.problems][:20]:
            err.print(f"[yellow]problem:[/] {p}", highlight=False)
    total = a.timings.get("total", 0.0)
    console.print(f"[dim]Analysed in {total:.1f} s.[/]")
