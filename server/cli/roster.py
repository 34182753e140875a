"""`flask --app wsgi roster check FILE.xlsx --class-start YYYY-MM-DD`: R3 for a roster file."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from server.services.roster import RosterReadError, check_roster, read_roster

roster_cli = AppGroup("roster", help="Roster spreadsheets (花名册).")


@roster_cli.command("check")
@click.argument("path", metavar="FILE.xlsx")
@click.option("--class-start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The class start date (开班日), YYYY-MM-DD: ages and years are judged on it.")
@click.option("--details", is_flag=True, help="Add each violation's messages to the output.")
def check_command(path: str, class_start, details: bool) -> None:
    """Print one JSON object per data row; exit 0 if clean, 1 on any violation, 2 if unreadable."""

    try:
        rows = read_roster(path)
    except RosterReadError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    results = check_roster(rows, class_start.date())
    keys = ("row", "name", "violations", "details") if details else ("row", "name", "violations")
    click.echo(json.dumps([{k: r[k] for k in keys} for r in results], ensure_ascii=False, indent=2))
    sys.exit(1 if any(r["violations"] for r in results) else 0)
