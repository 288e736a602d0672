"""`iotwarden demo`: the main job on bundled sample data, in a store of its own: the Heartbleed
response on a generated world, then the rest of the loop on one of its builds (firmware
analysis -> inventory -> exposure -> conformity), with no external tool."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from iotwarden.baseline import BaselineError, Catalogs, load_catalogs, oscal
from iotwarden.baseline import label as label_mod
from iotwarden.baseline.assess import (
    KNOWN_VULN_FINDING,
    Assessment,
    FirmwareEvidence,
    assess,
)
from iotwarden.baseline.declarations import load_declarations
from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.exposure.alerts import build_alerts
from iotwarden.exposure.matcher import BuildExposure, Exposure, exposed_devices, exposure
from iotwarden.exposure.priority import prioritise
from iotwarden.exposure.situation import situation
from iotwarden.firmware import sbom
from iotwarden.firmware.analyze import AnalysisOptions, FirmwareAnalysis, analyze_image
from iotwarden.firmware.model import Finding, FirmwareError
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.sample import generate_world
from iotwarden.intel.ingest import ingest
from iotwarden.intel.view import vulnerability_view
from iotwarden.report import conformity, sarif
from iotwarden.report import firmware as fw_report
from iotwarden.report.alerts import ReportError, to_json, write_alerts
from iotwarden.report.response import response_html
from iotwarden.store.db import Store

from . import render
from .alerts import summarise
from .assess import verdicts_table
from .exposure import exposure_json, render_exposure
from .firmware import render_analysis
from .situation import render_situation

console = render.make_console()


def samples_dir(kind: str = "advisories") -> Path:
    """The bundled sample advisories (or the sample fleet, kind 'fleet')."""
    return Path(str(resources.files("iotwarden") / "data" / "samples" / kind))


# --- second act: firmware -> inventory -> exposure -> conformity ------------------------------

#: The build whose root file system is bundled (data/samples/firmware/): in the generated
#: world, its inventory does not know its OpenSSL version (Heartbleed: "possibly affected").
SAMPLE_BUILD = BuildRef(ProductRef("Medico", "InfuPump 3"), "7.1")
SAMPLE_ROOTFS = "infupump3-7.1-rootfs"
#: The frameworks the demo assesses against (every one is in `iotwarden assess`).
DEMO_FRAMEWORKS = ("etsi-en-303-645", "uk-psti", "eu-cra")
#: The demo's "today": the date of the sample EPSS scores, the newest data in the samples, so
#: every run gives the same assessment (the declared support period ends after it).
DEMO_DAY = dt.date(2025, 8, 25)
#: Files of the second act, under WORKDIR.
FIRMWARE_DIR = "firmware"
ASSESSMENT_DIR = "assessment"
#: Priorities ("fix first") named in the text output; all are in assessment/assessment.json.
SHOWN_PRIORITIES = 3


def sample_path(*parts: str) -> Path:
    """A bundled sample file or folder under data/samples/."""
    return Path(str(resources.files("iotwarden").joinpath("data", "samples", *parts)))


@dataclass(frozen=True)
class BuildCoverage:
    """What the exposure engine says about the analysed build, before and after its analysis
    (None: not exposed)."""

    build: BuildRef
    before: BuildExposure | None
    after: BuildExposure | None
    owners: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        def state(b: BuildExposure | None) -> dict[str, Any] | None:
            if b is None:
                return None
            return {
                "status": b.status.value,
                "devices": b.devices,
                "internet_exposed": b.internet_exposed,
                "why": [f"{r.matched} in {r.ranges} ({r.how}, {r.source})" for r in b.reasons],
            }

        return {
            "build": {
                "vendor": self.build.product.vendor,
                "product": self.build.product.name,
                "version": self.build.version,
            },
            "before": state(self.before),
            "after": state(self.after),
            "owners": list(self.owners),
        }


@dataclass(frozen=True)
class SecondAct:
    """The results and files of the demo's second act."""

    analysis: FirmwareAnalysis
    coverage: BuildCoverage
    assessment: Assessment
    firmware_files: tuple[Path, ...]
    assessment_files: tuple[Path, ...]


def _build_exposure(result: Exposure, build: BuildRef) -> BuildExposure | None:
    return next(
        (
            b
            for b in result.builds
            if b.product.key == build.product.key and b.version == build.version
        ),
        None,
    )


def _names(paths: tuple[Path, ...]) -> str:
    """File names for the closing list; the files of a subfolder (oscal/) counted as one."""
    top = [p.name for p in paths if p.parent.name != "oscal"]
    oscal_files = len(paths) - len(top)
    return ", ".join(top) + (f" and {oscal_files} OSCAL documents in oscal/" if oscal_files else "")


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write_firmware(analysis: FirmwareAnalysis, folder: Path) -> tuple[Path, ...]:
    return (
        fw_report.write_text(folder / "sbom.cdx.json", sbom.render(analysis, "cyclonedx")),
        fw_report.write_text(folder / "report.sarif", sarif.dumps(analysis)),
        fw_report.write_text(folder / "report.html", fw_report.to_html(analysis)),
    )


def _write_assessment(result: Assessment, catalogs: Catalogs, folder: Path) -> tuple[Path, ...]:
    label = label_mod.build_label(result)
    when = dt.datetime.combine(DEMO_DAY, dt.time(), tzinfo=dt.UTC)
    files = {
        "conformity.html": conformity.to_html(result),
        "label.svg": label_mod.to_svg(label),
        "label.html": label_mod.to_html(label),
        "assessment.json": _dump(result.to_dict()),
    }
    files |= {
        f"oscal/{name}": _dump(doc)
        for name, doc in oscal.all_documents(result, catalogs, when=when).items()
    }
    return tuple(fw_report.write_text(folder / name, text) for name, text in files.items())


def second_act(store: Store, workdir: Path, query: str, before: Exposure) -> SecondAct:
    """Analyse the bundled root file system as the sample build (recording it in the
    inventory), see what the exposure engine now says about the build, and assess it with the
    bundled declarations. Raises FirmwareError, BaselineError, ReportError or OSError."""
    build = SAMPLE_BUILD
    analysis = analyze_image(
        sample_path("firmware", SAMPLE_ROOTFS),
        store=store,
        options=AnalysisOptions(build=build),
    )
    after = exposure(store, query)
    now = _build_exposure(after, build)
    owners: tuple[str, ...] = ()
    if now is not None and now.devices:
        only = dataclasses.replace(after, builds=[now])
        owners = tuple(sorted({d.owner for d in exposed_devices(store, only) if d.owner}))
    coverage = BuildCoverage(build, _build_exposure(before, build), now, owners)
    firmware_files = _write_firmware(analysis, workdir / FIRMWARE_DIR)

    # The user's own copy of the declarations, for the next command the demo suggests.
    declarations_file = workdir / "declarations.yaml"
    fw_report.write_text(
        declarations_file, sample_path("declarations.yaml").read_text(encoding="utf-8")
    )
    catalogs = load_catalogs()
    result = assess(
        catalogs,
        firmware=FirmwareEvidence.from_analysis(analysis),
        declarations=load_declarations(declarations_file, catalogs, today=DEMO_DAY),
        today=DEMO_DAY,
        frameworks=list(DEMO_FRAMEWORKS),
    )
    assessment_files = _write_assessment(result, catalogs, workdir / ASSESSMENT_DIR)
    return SecondAct(analysis, coverage, result, firmware_files, assessment_files)


def _render_firmware(act: SecondAct, query: str) -> None:
    a = act.analysis
    render_analysis(a)
    for finding in _known_vulnerability(a, query):
        d = finding.details
        facts = [
            f"CVSS {d['cvss']}" if d.get("cvss") else "",
            "on CISA KEV" if d.get("kev") else "",
        ]
        if d.get("epss") is not None:
            facts.append(f"EPSS {d['epss']}")
        fixed = ", ".join(d.get("fixed_versions") or ()) or "no fixed version known"
        console.print(
            f"[bold]{query}[/]: {escape(', '.join(d.get('matched') or ()))} in "
            f"{escape(finding.path)} is {d.get('status', 'affected')} "
            f"({', '.join(x for x in facts if x)}); fixed in {escape(fixed)}.",
            highlight=False,
        )
    cov = act.coverage
    if cov.after is None:
        console.print(
            f"The exposure engine now matches [bold]{SAMPLE_BUILD}[/] by the components its "
            f"firmware holds: not exposed to {query}.",
            highlight=False,
        )
        return
    now = cov.after.status.value.replace("_", " ")
    was = cov.before.status.value.replace("_", " ") if cov.before else "not exposed"
    if cov.after.devices == 0:
        console.print(
            f"Exposure to {query} now matches [bold]{SAMPLE_BUILD}[/] by its firmware: "
            f"[bold red]{now}[/] (was {was} from the inventory); no device in this world runs "
            "it, devices imported on it will be exposed.",
            highlight=False,
        )
        return
    console.print(
        f"Exposure to {query} now matches [bold]{SAMPLE_BUILD}[/] by its firmware: "
        f"[bold red]{now}[/] (was {was} from the inventory): {cov.after.devices} devices "
        f"({cov.after.internet_exposed} on the internet) at {escape(', '.join(cov.owners))}.",
        highlight=False,
    )


def _known_vulnerability(analysis: FirmwareAnalysis, query: str) -> list[Finding]:
    """The analysis's findings of ``query`` (by id or alias) as a known vulnerability."""
    return [
        f
        for f in analysis.findings
        if f.id == KNOWN_VULN_FINDING
        and query in (f.details.get("vulnerability"), *(f.details.get("aliases") or ()))
    ]


def _render_assessment(act: SecondAct) -> None:
    result = act.assessment
    console.rule(f"[bold]Conformity: {escape(result.subject)}[/]")
    answered = sum(
        1 for a in result.declarations.answers.values() if a.status.value != "unanswered"
    )
    console.print(
        f"Firmware findings and the manufacturer's declarations ({answered} answers, "
        f"{len(result.declarations.facts)} facts) assessed as of {result.assessed_on} against "
        f"{len(result.frameworks)} frameworks at once.",
        highlight=False,
    )
    console.print(verdicts_table(result, titles=True))
    for p in result.priorities[:SHOWN_PRIORITIES]:
        console.print(
            f"Fix first #{p.rank}: [bold]{escape(p.capability)}[/] ({p.result.value}; "
            f"{p.mandatory_requirements} mandatory requirements in {p.frameworks} frameworks): "
            f"{escape(p.actions[0] if p.actions else p.title)}",
            highlight=False,
        )


def _second_act_json(act: SecondAct, query: str) -> dict[str, Any]:
    a = act.analysis
    result = act.assessment
    return {
        "firmware": {
            "image": a.image.path,
            "build": act.coverage.to_dict()["build"],
            "stored": a.stored,
            "components": [fw_report.component_json(c) for c in a.components],
            "severity_counts": a.severity_counts(),
            "findings": [fw_report.finding_json(f) for f in a.findings],
            "known_vulnerability": [
                fw_report.finding_json(f) for f in _known_vulnerability(a, query)
            ],
            "exposure": {"query": query} | act.coverage.to_dict(),
            "files": [str(p) for p in act.firmware_files],
        },
        "assessment": {
            "subject": result.subject,
            "assessed_on": result.assessed_on.isoformat(),
            "summary": {f.framework: f.verdict.value for f in result.frameworks},
            "frameworks": [
                {
                    "framework": f.framework,
                    "title": f.title,
                    "verdict": f.verdict.value,
                    "summary": f.summary,
                    "catalog_verified": f.verified,
                    "counts": f.counts(),
                }
                for f in result.frameworks
            ],
            "priorities": [p.to_dict() for p in result.priorities],
            "files": [str(p) for p in act.assessment_files],
        },
    }


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
    """Run the Heartbleed response on a generated sample world, then the rest of the loop on
    one of its builds.

    Generates a fleet (10 products of 7 vendors in energy, health, water, transport,
    manufacturing and consumer sectors, 22 firmware builds with embedded components, a few
    thousand devices of 17 owners), imports it, ingests sample advisories about
    CVE-2014-0160 in six formats (CVE 5, NVD 2.0, OSV, CSAF, CISA KEV, FIRST EPSS), and
    prints the response: the merged view of the vulnerability, the exposed builds and
    devices ranked by priority with the fix and mitigations, the situation summary, and one
    alert per owner and vendor. Writes the alerts and an HTML report under WORKDIR.

    Then analyses the bundled root file system of the Medico InfuPump 3 7.1 (whose OpenSSL
    version the inventory does not know), records the build, shows that the exposure to
    Heartbleed now covers its devices as affected, and assesses it with sample declarations
    against ETSI EN 303 645, UK PSTI and the EU CRA. Writes the SBOM (CycloneDX), SARIF and
    HTML report under WORKDIR/firmware, and the conformity matrix, label and OSCAL documents
    under WORKDIR/assessment. No external tool is needed.
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
    problems = [str(p) for p in (*report.problems, *fleet.problems)]
    act: SecondAct | None = None
    try:
        act = second_act(store, workdir, query, exposed)
    except (FirmwareError, BaselineError, ReportError, OSError) as e:
        problems.append(f"the firmware and conformity part of the demo failed: {e}")
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
                    "firmware": None,
                    "assessment": None,
                }
                | (_second_act_json(act, query) if act is not None else {}),
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
        if act is not None:
            _render_firmware(act, query)
            _render_assessment(act)
        # Name the command as the user can type it: on PATH, or the path it was run by.
        prog = "iotwarden" if shutil.which("iotwarden") else os.path.relpath(sys.argv[0])
        db = f"sqlite:///{db_path}"
        lines = [
            f"\nWrote {len(written)} alert files to [bold]{workdir / 'alerts'}[/] and the report "
            f"[bold]{report_path}[/]."
        ]
        if act is not None:
            lines += [
                f"Firmware: {_names(act.firmware_files)} in [bold]{workdir / FIRMWARE_DIR}[/].",
                f"Conformity: {_names(act.assessment_files)} in "
                f"[bold]{workdir / ASSESSMENT_DIR}[/].",
            ]
        lines += [
            f"The demo store is [bold]{db_path}[/]. Try:",
            f"  {prog} --db {db} exposure {query} --json",
            f"  {prog} --db {db} outreach {query} --set 'North Grid' --status notified --by you",
            f"  {prog} --db {db} intel show DSA-2896-1 --json",
        ]
        if act is not None:
            ref = SAMPLE_BUILD
            build = f"'{ref.product.vendor}/{ref.product.name}@{ref.version}'"
            lines += [
                f"  {prog} --db {db} fleet show {build}",
                f"  {prog} --db {db} assess --firmware {build} --declarations "
                f"{workdir / 'declarations.yaml'} --today {DEMO_DAY.isoformat()}",
            ]
        console.print("\n".join(lines), highlight=False)
    store.close()
    if problems:
        for problem in problems:
            render.make_console(stderr=True).print(f"[red]✗[/] {problem}", highlight=False)
        raise typer.Exit(1)
