"""Demo data: `flask --app wsgi demo load` (idempotent) and `demo logins`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data.")

DEMO_PASSWORD = "spotcheck2026"
DEMO_LOGINS = [
    ("city", "city_admin", "市人社局管理员"),
    ("county", "county_admin", "奎文区人社局管理员"),
    ("inspector", "inspector", "奎文区抽查员"),
    ("inspector2", "inspector", "奎文区抽查员（二人小组的第二人）"),
    ("covert", "inspector", "市人社局暗访员（不属任何县市区）"),
    ("base", "base_staff", "潍坊市技师学院教务"),
]


@demo_cli.command("logins")
def logins_command():
    """Print the demo logins."""
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, who in DEMO_LOGINS:
        click.echo(f"  {username:<12} {role:<13} {who}")


@demo_cli.command("load")
def load_command():
    """Load the demo data into an empty database (does nothing when it is already there)."""
    from server.services.demo_data import load_demo_data

    created = load_demo_data()
    click.echo("demo data loaded" if created else "demo data already present")


def register(app: Flask) -> None:
    """Add the demo commands."""
    app.cli.add_command(demo_cli)
