"""`iotwarden baseline ...`: browse the framework catalogs, the harmonised capabilities and the
crosswalk between them."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.baseline import (
    BaselineError,
    Capability,
    Catalogs,
    Correspondence,
    Framework,
    Requirement,
    load_catalogs,
)

from . import render
from .intel import JsonOption, print_json

app = typer.Typer(
    help="Baseline catalogs (ETSI EN 303 645, NIST IR 8259A/B and 8425, UK PSTI, EU CRA, DHS, "
    "OWASP IoT Top 10), the harmonised capabilities and the crosswalk between them.",
    no_args_is_help=True,
)
console = render.make_console()
err = render.make_console(stderr=True)

#: `baseline show capabilities` lists every capability instead of one.
ALL_CAPABILITIES = "capabilities"


def _catalogs() -> Catalogs:
    try:
        return load_catalogs()
    except BaselineError as e:
        _fail(str(e))


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def _verified_mark(verified: bool) -> str:
    return "yes" if verified else "[yellow]no[/]"


@app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """List the catalogued frameworks with their requirement counts.

    Unverified frameworks hold counts or wording we could not confirm against the published
    document; `baseline show FRAMEWORK` says what exactly.
    """
    catalogs = _catalogs()
    if as_json:
        print_json(
            {
                "frameworks": [f.summary_dict() for f in catalogs.frameworks],
                "capabilities": len(catalogs.capabilities),
            }
        )
        return
    table = Table()
    for col in (
        "framework",
        "title",
        "date",
        "requirements",
        "mandatory",
        "recommended",
        "verified",
    ):
        table.add_column(
            col, justify="right" if col in {"requirements", "mandatory", "recommended"} else "left"
        )
    for fw in catalogs.frameworks:
        counts = fw.counts()
        name = fw.id + (f"\n[dim](alias {', '.join(fw.aliases)})[/]" if fw.aliases else "")
        table.add_row(
            name,
            fw.short_title,
            fw.date,
            str(counts["requirements"]),
            str(counts["mandatory"]),
            str(counts["recommended"]),
            _verified_mark(fw.verification.verified),
        )
    console.print(table)
    console.print(
        f"{len(catalogs.frameworks)} frameworks, {len(catalogs.capabilities)} harmonised "
        "capabilities. `iotwarden baseline show FRAMEWORK|CAPABILITY`, "
        "`iotwarden baseline crosswalk FRAMEWORK:REQUIREMENT`.",
        highlight=False,
    )


@app.command("show")
def show_command(
    name: Annotated[
        str,
        typer.Argument(
            help="A framework id or alias (e.g. etsi-en-303-645), a capability id "
            "(e.g. unique-credentials), FRAMEWORK:REQUIREMENT, or 'capabilities'.",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Show a framework's requirements, a capability and its evidence, or one requirement."""
    catalogs = _catalogs()
    if name.strip().casefold() == ALL_CAPABILITIES:
        if as_json:
            print_json(
                {
                    "capabilities": [c.to_dict() for c in catalogs.capabilities],
                    "facts": [f.to_dict() for f in catalogs.facts],
                }
            )
        else:
            _capabilities_table(console, catalogs)
        return
    if ":" in name:
        req = _requirement(catalogs, name)
        if as_json:
            print_json(req.to_dict())
        else:
            _requirement_detail(console, catalogs, req)
        return
    fw = catalogs.find_framework(name)
    if fw is not None:
        if as_json:
            print_json(fw.to_dict())
        else:
            _framework_detail(console, fw)
        return
    cap = catalogs.find_capability(name)
    if cap is not None:
        entries = catalogs.crosswalk.for_capability(cap.id)
        if as_json:
            print_json({**cap.to_dict(), "requirements": [e.to_dict() for e in entries]})
        else:
            _capability_detail(console, catalogs, cap)
        return
    _fail(
        f"{name!r} is neither a framework nor a capability. Frameworks: "
        + ", ".join(f.id for f in catalogs.frameworks)
        + "; capabilities: `iotwarden baseline show capabilities`."
    )


@app.command("crosswalk")
def crosswalk_command(
    ref: Annotated[
        str,
        typer.Argument(
            help="FRAMEWORK:REQUIREMENT (e.g. etsi-en-303-645:5.1-1, eu-cra:I.2.b) or a "
            "capability id (e.g. secure-update).",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """What a requirement corresponds to in every other framework, or everything a capability
    covers.

    A requirement is followed through each harmonised capability it maps to; the relationship
    reads 'the requirement is equivalent to / a subset of / a superset of / intersects the
    capability'. Example: `iotwarden baseline crosswalk etsi-en-303-645:5.1-1`
    """
    catalogs = _catalogs()
    if ":" not in ref:
        cap = catalogs.find_capability(ref)
        if cap is None:
            _fail(
                f"{ref!r} is not a capability; give FRAMEWORK:REQUIREMENT "
                "(e.g. etsi-en-303-645:5.1-1) or a capability id"
            )
        entries = catalogs.crosswalk.for_capability(cap.id)
        if as_json:
            print_json(
                {
                    "capability": cap.id,
                    "title": cap.title,
                    "requirements": [e.to_dict() for e in entries],
                }
            )
        else:
            _capability_detail(console, catalogs, cap)
        return
    req = _requirement(catalogs, ref)
    found = catalogs.corresponding(req)
    if as_json:
        print_json(found.to_dict())
    else:
        _correspondence(console, found)


def _requirement(catalogs: Catalogs, ref: str) -> Requirement:
    try:
        return catalogs.requirement(ref)
    except BaselineError as e:
        _fail(str(e))


def _condition_text(req: Requirement) -> str:
    return req.condition.text if req.condition else ""


def _links_text(req: Requirement) -> str:
    return "\n".join(f"{c.capability} ({c.relationship.value})" for c in req.capabilities)


def _framework_header(out: Console, fw: Framework) -> None:
    out.rule(f"[bold]{fw.short_title}[/] ({fw.id})")
    out.print(fw.title, highlight=False)
    out.print(f"{fw.publisher}, version {fw.version}, {fw.date}. {fw.url}", highlight=False)
    counts = fw.counts()
    out.print(
        f"{counts['requirements']} requirements: {counts['mandatory']} mandatory, "
        f"{counts['recommended']} recommended, {counts['guidance']} guidance; "
        f"{counts['conditional']} conditional. Ids: {fw.id_scheme}",
        highlight=False,
    )
    if fw.based_on:
        out.print(f"Provisions inherited from {fw.based_on}.", highlight=False)
    mark = "verified" if fw.verification.verified else "[yellow]NOT verified[/]"
    out.print(f"Catalog {mark}: {fw.verification.note}", highlight=False)


def _framework_detail(out: Console, fw: Framework) -> None:
    _framework_header(out, fw)
    table = Table()
    for col in ("id", "level", "requirement (our summary)", "condition", "capabilities"):
        table.add_column(col)
    groups = {g.id: g for g in fw.groups}
    current: str | None = None
    for req in fw.requirements:
        if req.group != current and req.group in groups:
            current = req.group
            table.add_row("", "", f"[bold]{groups[current].id} {groups[current].title}[/]", "", "")
        table.add_row(
            req.id,
            req.level.value,
            f"[bold]{req.title}[/]\n{req.summary}",
            _condition_text(req),
            _links_text(req),
        )
    out.print(table)
    for rule in fw.deemed_compliance:
        routes = []
        for route in rule.routes:
            if route.framework:
                routes.append(f"{route.framework} {', '.join(route.requirements)}")
            else:
                routes.append(f"{route.standard} {', '.join(route.clauses)}")
        out.print(
            f"Deemed compliance ({rule.section}): requirement {rule.requirement} is met by "
            + " or by ".join(routes),
            highlight=False,
        )


def _evidence_lines(cap: Capability) -> list[str]:
    lines = []
    for a in cap.automatic:
        what = a.match or "component inventory"
        lines.append(f"automatic: {a.source.value} {what} ({a.effect.value}: {a.note})")
    lines.extend(f"declaration: {d.key} ({d.question})" for d in cap.declarations)
    return lines


def _capability_detail(out: Console, catalogs: Catalogs, cap: Capability) -> None:
    out.rule(f"[bold]{cap.title}[/] ({cap.id})")
    out.print(cap.description, highlight=False)
    for line in _evidence_lines(cap):
        out.print(f"  {line}", highlight=False)
    entries = catalogs.crosswalk.for_capability(cap.id)
    table = Table(title="Requirements mapped to it", title_justify="left")
    for col in ("framework", "requirement", "level", "relationship", "title"):
        table.add_column(col)
    for e in entries:
        r = e.requirement
        table.add_row(r.framework, r.id, r.level.value, e.relationship.value, r.title)
    out.print(table)
    frameworks = len({e.requirement.framework for e in entries})
    out.print(f"{len(entries)} requirements in {frameworks} frameworks.", highlight=False)


def _capabilities_table(out: Console, catalogs: Catalogs) -> None:
    table = Table()
    for col in ("capability", "title", "automatic evidence", "declarations", "requirements"):
        table.add_column(col)
    for cap in catalogs.capabilities:
        auto = ", ".join(a.match or a.source.value for a in cap.automatic)
        table.add_row(
            cap.id,
            cap.title,
            auto,
            str(len(cap.declarations)),
            str(len(catalogs.crosswalk.for_capability(cap.id))),
        )
    out.print(table)


def _requirement_detail(out: Console, catalogs: Catalogs, req: Requirement) -> None:
    fw = catalogs.framework(req.framework)
    out.rule(f"[bold]{req.ref}[/] {req.title}")
    out.print(f"{fw.short_title}, {req.section}. Level: {req.level.value}.", highlight=False)
    if req.condition:
        when = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in req.condition.when)
        out.print(f"Applies: {req.condition.text} ({when})", highlight=False)
    out.print(req.summary, highlight=False)
    out.print(
        "Capabilities: "
        + ", ".join(f"{c.capability} ({c.relationship.value})" for c in req.capabilities),
        highlight=False,
    )


def _correspondence(out: Console, found: Correspondence) -> None:
    req = found.requirement
    out.rule(f"[bold]{req.ref}[/] {req.title}")
    out.print(req.summary, highlight=False)
    table = Table()
    for col in ("via capability", "framework", "requirement", "level", "relationship", "title"):
        table.add_column(col)
    for via in found.via:
        label = f"[bold]{via.capability.id}[/]\n(this requirement: {via.relationship.value})"
        if not via.requirements:
            table.add_row(label, "[dim]no other framework[/]", "", "", "", "")
        for i, e in enumerate(via.requirements):
            r = e.requirement
            table.add_row(
                label if i == 0 else "",
                r.framework,
                r.id,
                r.level.value,
                e.relationship.value,
                r.title,
            )
    out.print(table)
    for link in found.deemed:
        route = link.route
        what = (
            f"{route.framework} {', '.join(route.requirements)}"
            if route.framework
            else f"{route.standard} {', '.join(route.clauses)}"
        )
        out.print(
            f"Deemed compliance ({link.section}): {link.deemed.ref} is met by {what}",
            highlight=False,
        )
    summary: dict[str, Any] = found.frameworks()
    out.print(
        f"Corresponds to {sum(len(v) for v in summary.values())} requirements in "
        f"{len(summary)} other frameworks.",
        highlight=False,
    )
