"""Demo data: `flask --app wsgi demo load` (idempotent), `demo refresh` and `demo logins`."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from server.demo import DEMO_LOGINS, DEMO_PASSWORD, live_site, load_demo_data, refresh_demo_data

demo_cli = AppGroup("demo", help="Demo data.")

# Where each role starts, after logging in at /login (the field app has its own login).
START_PAGES = [
    ("inspector, inspector2, covert", "/app/", "the field app (phone); 360×640 in DevTools"),
    ("county, city", "/bureau/", "review pages: visits, coverage, rectifications"),
    ("base", "/bureau/", "the base's home: open rectifications, downloads; filing at /filing/"),
]


@demo_cli.command("logins")
def logins_command():
    """Print the demo logins, where each role starts and where to stand for a matching visit."""
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, who in DEMO_LOGINS:
        click.echo(f"  {username:<12} {role:<13} {who}")
    origin = "http://{}:{}".format(os.environ.get("HOST", "127.0.0.1"),
                                   os.environ.get("PORT", "5000"))
    click.echo("Where each role starts:")
    for who, path, what in START_PAGES:
        click.echo(f"  {who:<29} {origin}{path:<10} {what}")
    site = live_site()
    if site is not None:
        click.echo("For a fully matching visit, give the browser this position (DevTools > "
                   "Sensors):"
                   f"\n  latitude {site.lat}, longitude {site.lon} ({site.name}, geofence "
                   f"{site.radius_m:.0f} m); a session there is in progress now.")


@demo_cli.command("load")
def load_command():
    """Load the demo into an empty database; on an existing one, make the live assignments."""
    created = load_demo_data()
    click.echo("demo data loaded" if created else "demo data already present")


@demo_cli.command("refresh")
def refresh_command():
    """Move the demo calendar to today (when it is in the past) and make the live assignments."""
    days, made = refresh_demo_data()
    click.echo(f"demo calendar moved {days} day(s) forward" if days else "demo calendar is current")
    click.echo(f"{len(made)} live assignment(s) made" if made else "live assignments are in place")
