"""The `iotwarden` command: a thin typer shell over the library. The only place that prints."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from iotwarden import __version__
from iotwarden.cli import alerts as alerts_cmd
from iotwarden.cli import assess as assess_cmd
from iotwarden.cli import baseline as baseline_cmd
from iotwarden.cli import demo as demo_cmd
from iotwarden.cli import exposure as exposure_cmd
from iotwarden.cli import firmware as firmware_cmd
from iotwarden.cli import fleet as fleet_cmd
from iotwarden.cli import intel as intel_cmd
from iotwarden.cli import outreach as outreach_cmd
from iotwarden.cli import situation as situation_cmd
from iotwarden.core import settings as settings_mod
from iotwarden.core.errors import IoTWardenError

app = typer.Typer(
    name="iotwarden",
    help=(
        "IoT Warden: advisory intelligence, fleet exposure, firmware analysis and baseline "
        "conformity for connected devices.\n\n"
        "Start with `iotwarden demo`, then `iotwarden intel ingest PATH...` to load advisories "
        "and `iotwarden intel show CVE-2014-0160` to see everything known about one."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.add_typer(intel_cmd.app, name="intel")
app.add_typer(fleet_cmd.app, name="fleet")
app.add_typer(firmware_cmd.app, name="firmware")
app.add_typer(baseline_cmd.app, name="baseline")
app.add_typer(assess_cmd.app, name="assess")
app.command("demo")(demo_cmd.demo)
app.command("exposure")(exposure_cmd.exposure_command)
app.command("situation")(situation_cmd.situation_command)
app.command("outreach")(outreach_cmd.outreach_command)
app.command("alerts")(alerts_cmd.alerts_command)

err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iotwarden {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="IOTWARDEN_DB",
            help="Store URL (SQLAlchemy): sqlite:///path.db or postgresql://user@host/db. "
            "Default: a SQLite file in your user data directory.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if db:
        settings_mod.configure(db_url=db)


def main() -> None:
    try:
        app()
    except IoTWardenError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
