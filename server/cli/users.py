"""`flask --app wsgi users …`: manage user accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from server.errors import ApiError
from server.extensions import db

users_cli = AppGroup("users", help="Manage users.")



@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True,
              type=click.Choice(["city_admin", "county_admin", "inspector", "base_staff"]))
@click.option("--county", "county_name", default=None, help="County name (县市区)")
@click.option("--base", "base_name", default=None, help="Training base name (培训基地)")
@click.option("--display-name", default="")
def create_user_command(username, password, role, county_name, base_name, display_name):
    """Create a user. An inspector without --county is a city inspector (every county)."""
    from server.services.auth import create_user

    try:
        user = create_user(username, password, role, county_name=county_name,
                           base_name=base_name, display_name=display_name)
        db.session.commit()
    except ApiError as error:
        db.session.rollback()
        click.echo(f"error: {error.message} {error.errors or ''}", err=True)
        sys.exit(2)
    click.echo(f"created {user.role} {user.username} ({user.id})")
