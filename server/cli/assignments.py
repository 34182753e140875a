"""`flask --app wsgi assignments create`: assign a class session to inspectors by hand."""

from __future__ import annotations

import sys
import uuid

import click
from flask.cli import AppGroup

from server.errors import ApiError
from server.extensions import db
from server.services.assignments import create_assignment, find_inspector

assignments_cli = AppGroup("assignments", help="Assignments (抽查任务).")


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"not a UUID: {value}", param_hint=what) from None


@assignments_cli.command("create")
@click.option("--inspector", "inspectors", required=True, multiple=True,
              help="Inspector username; repeat for a team.")
@click.option("--class", "class_id", required=True, help="Training class id (UUID).")
@click.option("--session", "session_id", required=True, help="Plan session id (UUID).")
def create_command(inspectors, class_id, session_id):
    """Create an assignment and publish it to the inspectors' phones."""

    try:
        team = [find_inspector(name) for name in inspectors]
        assignment = create_assignment(_uuid(class_id, "--class"), _uuid(session_id, "--session"),
                                       team)
        db.session.commit()
    except ApiError as error:
        db.session.rollback()
        click.echo(f"error: {error.message} {error.errors or ''}", err=True)
        sys.exit(2)
    click.echo(f"created assignment {assignment.id} on {assignment.date} for "
               f"{', '.join(inspectors)}")
