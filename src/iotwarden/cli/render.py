"""Rich renderings of library results for people (JSON output lives beside each command)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from iotwarden.core.models import AffectedProduct, RangeKind
from iotwarden.fleet.importing import FleetImportReport
from iotwarden.intel.ingest import IngestReport
from iotwarden.intel.view import AdvisorySummary, VulnerabilityView
from iotwarden.store.advisories import WriteResult

#: Width used when output is not a terminal (pipes, files, the README's examples).
PIPE_WIDTH = 120


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PIPE_WIDTH)
    return console


def ingest_summary(console: Console, report: IngestReport) -> None:
    adv = report.advisories
    formats = ", ".join(f"{n} {f}" for f, n in sorted(report.formats.items())) or "none"
    console.print(
        f"Read [bold]{report.documents}[/] document{'' if report.documents == 1 else 's'} "
        f"({formats}); "
        f"[red]{report.failed_documents}[/] failed.",
        highlight=False,
    )
    console.print(
        f"Advisories: [green]{adv[WriteResult.ADDED]} added[/], "
        f"[cyan]{adv[WriteResult.UPDATED]} updated[/], {adv[WriteResult.UNCHANGED]} unchanged, "
        f"{adv[WriteResult.STALE]} older revisions kept out. "
        f"KEV entries: {report.kev_entries}. EPSS scores: {report.epss_scores}.",
        highlight=False,
    )
    if report.problem_count:
        console.print(f"[red]{report.problem_count} problem(s)[/] (listed on stderr).")


def _range_text(ap: AffectedProduct) -> str:
    parts = []
    for r in ap.ranges:
        if r.kind is RangeKind.UNPARSED:
            parts.append(f"[yellow]unparsed:[/] {r.raw}")
        elif r.kind is RangeKind.GIT:
            parts.append(f"git {r.raw}")
        elif r.kind is RangeKind.NONE:
            parts.append("(no version)")
        else:
            parts.append(str(r.vers))
    return "; ".join(parts) or "(as named)"


def _identity(ap: AffectedProduct) -> str:
    ident = ap.identity
    name = " ".join(x for x in (ident.vendor, ident.product) if x) or ident.product_ref or ""
    extra = [x for x in (ident.purl, ident.cpe) if x]
    if ident.model_numbers:
        extra.append("models " + ", ".join(ident.model_numbers[:5]))
    if ap.conditions:
        extra.append("on " + " and ".join(" or ".join(group) for group in ap.conditions))
    return name + (f" [dim]({'; '.join(extra)})[/]" if extra else "")


def vulnerability(console: Console, view: VulnerabilityView) -> None:
    console.rule(f"[bold]{view.query}[/]")
    console.print("Known as: " + ", ".join(view.ids), highlight=False)
    for title in view.titles[:3]:
        console.print(f"[bold]{title.value}[/] [dim]({title.source})[/]", highlight=False)
    if view.descriptions:
        first = view.descriptions[0]
        console.print(f"{first.value.strip()[:600]} [dim]({first.source})[/]", highlight=False)
    if view.withdrawn:
        for rec in view.withdrawn:
            console.print(f"[red]{rec.label} is {rec.status.value}[/]")

    sources = Table(title="Sources", title_justify="left", show_lines=False)
    for col in ("source", "status", "published", "modified", "from"):
        sources.add_column(col)
    for rec in view.records:
        sources.add_row(
            rec.label,
            rec.status.value,
            rec.published.date().isoformat() if rec.published else "",
            rec.modified.date().isoformat() if rec.modified else "",
            rec.origin if len(rec.origin) < 50 else "…" + rec.origin[-49:],
        )
    if view.records:
        console.print(sources)

    if view.kev or view.epss:
        sig = Table(title="Exploitation", title_justify="left")
        for col in ("signal", "value", "source"):
            sig.add_column(col)
        for kev in view.kev:
            k = kev.value
            value = f"on KEV since {k.date_added}"
            if k.due_date:
                value += f", due {k.due_date}"
            if k.ransomware:
                value += f", ransomware: {k.ransomware}"
            if k.required_action:
                value += f"\naction: {k.required_action}"
            sig.add_row(f"KEV {k.cve_id}", value, kev.source)
        for ep in view.epss:
            e = ep.value
            pct = f", percentile {e.percentile * 100:.3f}%" if e.percentile is not None else ""
            date = e.score_date.isoformat() if e.score_date else "unknown date"
            sig.add_row(f"EPSS {e.cve_id}", f"{e.epss:.5f}{pct} ({date})", ep.source)
        console.print(sig)

    if view.scores:
        sc = Table(title="Severity", title_justify="left")
        for col in ("CVSS", "score", "severity", "vector", "source"):
            sc.add_column(col)
        seen = set()
        for s in view.scores:
            key = (s.value.vector, s.source)
            if key in seen:
                continue
            seen.add(key)
            flag = "" if s.value.valid else " [red](invalid vector)[/]"
            sc.add_row(
                s.value.version,
                f"{s.value.base_score}" if s.value.base_score is not None else "",
                s.value.severity or "",
                s.value.vector + flag,
                f"{s.source}" + (f" / {s.value.source}" if s.value.source else ""),
            )
        console.print(sc)
    if view.weaknesses:
        cwes: dict[str, list[str]] = {}
        for w in view.weaknesses:
            cwes.setdefault(w.value, []).append(w.source)
        console.print(
            "Weaknesses: " + "; ".join(f"{c} ({', '.join(s)})" for c, s in cwes.items()),
            highlight=False,
        )

    if view.affected:
        aff = Table(title="Affected products", title_justify="left")
        for col in ("product", "status", "versions", "fixed", "source"):
            aff.add_column(col)
        for item in view.affected[:60]:
            ap = item.value
            aff.add_row(
                _identity(ap),
                ap.status.value + (f" ({ap.justification})" if ap.justification else ""),
                _range_text(ap),
                ", ".join(ap.fixed_versions),
                item.source,
            )
        console.print(aff)
        if len(view.affected) > 60:
            console.print(f"… {len(view.affected) - 60} more affected entries (use --json)")
    if view.remediations:
        rem = Table(title="Remediations", title_justify="left")
        for col in ("category", "details", "fixed versions", "source"):
            rem.add_column(col)
        for r in view.remediations[:30]:
            details = (r.value.details or "").strip()
            rem.add_row(
                r.value.category.value,
                (details[:200] + ("…" if len(details) > 200 else ""))
                + (f"\n{r.value.url}" if r.value.url else ""),
                ", ".join(r.value.fixed_versions),
                r.source,
            )
        console.print(rem)
    if view.references:
        console.print(f"References: {len(view.references)} (use --json for the list)")


def search_results(console: Console, results: list[AdvisorySummary]) -> None:
    if not results:
        console.print("No advisory matches.")
        return
    table = Table()
    for col in ("id", "source", "title", "CVSS", "KEV", "EPSS", "modified"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.id,
            r.source,
            (r.title or "")[:70],
            f"{r.max_cvss} {r.severity or ''}" if r.max_cvss is not None else "",
            "yes" if r.kev else "",
            f"{r.epss:.3f}" if r.epss is not None else "",
            r.modified.date().isoformat() if r.modified else "",
        )
    console.print(table)
    console.print(f"{len(results)} advisories.")


def counts(console: Console, url: str, values: dict[str, int]) -> None:
    table = Table(title=f"Store: {url}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in values.items():
        table.add_row(name, str(n))
    console.print(table)


def formats(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table()
    for col in ("format", "title", "what is read"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["format"], row["title"], row["description"])
    console.print(table)


def fleet_import_summary(console: Console, report: FleetImportReport) -> None:
    kinds = (
        ", ".join(f"{kind.replace('_', ' ')}: {n}" for kind, n in report.records.items() if n)
        or "nothing"
    )
    if report.stored:
        console.print(
            f"Stored from {report.files} file{'' if report.files == 1 else 's'}: {kinds}; "
            f"components: {report.components}.",
            highlight=False,
        )
    else:
        console.print(
            f"[red]Nothing stored[/]: {len(report.problems)} problem(s) in {report.files} "
            "file(s) (listed on stderr; --skip-invalid stores the valid records).",
            highlight=False,
        )
    if report.stored and report.problems:
        console.print(f"[yellow]{len(report.problems)} invalid record(s) skipped[/].")


class StageProgress:
    """A rich progress line for staged library work (``stage(name, total)``/``advance(n)``):
    drawn on stderr, only on a terminal, and redrawn at most every ``every`` steps."""

    def __init__(self, progress: Progress, every: int = 2_000) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None)
        self.every = every
        self.pending = 0

    def stage(self, name: str, total: int | None = None) -> None:
        self.pending = 0
        self.progress.update(self.task, description=name, total=total, completed=0)

    def advance(self, count: int = 1) -> None:
        self.pending += count
        if self.pending >= self.every:
            self.progress.advance(self.task, self.pending)
            self.pending = 0


def new_progress(console: Console, *, disable: bool = False) -> Progress:
    """The progress display every long command uses: spinner, what, bar, n of m, time; drawn
    only on a terminal and removed when done."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable or not console.is_terminal,
    )


@contextlib.contextmanager
def progress_bar() -> Iterator[StageProgress]:
    with new_progress(make_console(stderr=True)) as progress:
        yield StageProgress(progress)
