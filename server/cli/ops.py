"""Operations: `flask --app wsgi backup PATH`, `restore PATH`, `purge`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from server.extensions import db
from server.services.backup import BackupError, backup, restore
from server.services.clock import local_today
from server.services.media_store import store
from server.services.retention import purge_expired_personal_data


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path: Path) -> None:
    """Back up the database and the media (local folder or S3 bucket) into the folder PATH."""

    try:
        manifest = backup(path, current_app.config["SQLALCHEMY_DATABASE_URI"], store())
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"backup written to {path}: {len(manifest['files'])} files")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_command(path: Path) -> None:
    """Restore the database and the media (local folder or S3 bucket) from the backup folder PATH.
    """

    try:
        restore(path, current_app.config["SQLALCHEMY_DATABASE_URI"], store())
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"restored from {path}: every login ended, users and phones log in again")


@click.command("purge")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Judge retention as of this date (default: today)")
@click.option("--dry-run", is_flag=True, help="Only count what would be purged")
def purge_command(today, dry_run: bool) -> None:
    """Erase trainees' personal data once every class they were in is past the retention period."""

    as_of = today.date() if today else local_today()  # the bureau's date, not the machine's
    count = purge_expired_personal_data(as_of, current_app.config["RETENTION_YEARS"],
                                        dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    click.echo(f"{'would purge' if dry_run else 'purged'} {count} trainees")
