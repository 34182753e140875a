"""Media commands: `flask --app wsgi media expire`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db
from server.services.media_store import expire_uploads

media_cli = AppGroup("media", help="Media files and uploads.")


@media_cli.command("expire")
def expire_command():
    """Delete expired uploads and orphan part files."""

    count = expire_uploads()
    db.session.commit()
    click.echo(f"removed {count} expired upload(s)")
