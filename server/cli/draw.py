"""Draw commands: `flask --app wsgi draw run|verify` (R10)."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date

import click
from flask.cli import AppGroup

from server.errors import ApiError
from server.extensions import db
from server.models import Draw
from server.services.draw import draw_assignments, draw_problems, draw_visits, find_county

draw_cli = AppGroup("draw", help="Auditable random draws of unannounced visits (R10).")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("expected YYYY-MM-DD") from error


@draw_cli.command("run")
@click.option("--county", "county_name", required=True, help="County name (县市区)")
@click.option("--from", "period_from", required=True, help="First day, YYYY-MM-DD")
@click.option("--to", "period_to", required=True, help="Last day, YYYY-MM-DD")
def run_command(county_name: str, period_from: str, period_to: str) -> None:
    """Draw one visit per active class of the county and print the draw as JSON."""

    try:
        draw = draw_visits(find_county(county_name), _date(period_from), _date(period_to))
        db.session.commit()
    except ApiError as error:
        db.session.rollback()
        click.echo(json.dumps(error.body(), ensure_ascii=False), err=True)
        sys.exit(2)
    click.echo(json.dumps({"draw_id": str(draw.id), "seed_sha256": draw.seed_sha256,
                           "assignments": len(draw_assignments(draw))}))


@draw_cli.command("verify")
@click.argument("draw_id")
def verify_command(draw_id: str) -> None:
    """Exit 0 when the stored draw matches its seed and class list, 1 otherwise."""

    try:
        draw = db.session.get(Draw, uuid.UUID(draw_id))
    except ValueError:
        draw = None
    if draw is None:
        click.echo(f"no such draw: {draw_id}", err=True)
        sys.exit(2)
    problems = draw_problems(draw)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"draw {draw.id} verified: seed {draw.seed_sha256}")
