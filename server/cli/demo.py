"""Demo data: `flask --app wsgi demo load` (idempotent) and `demo logins`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo_data

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("logins")
def logins_command():
    """Print the demo logins."""
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, who in DEMO_LOGINS:
        click.echo(f"  {username:<12} {role:<13} {who}")


@demo_cli.command("load")
def load_command():
    """Load the demo data into an empty database (does nothing when it is already there)."""
    created = load_demo_data()
    click.echo("demo data loaded" if created else "demo data already present")
