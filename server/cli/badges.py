"""Badge commands: `flask --app wsgi badges make --class CLASS_ID --out DIR`."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click
from flask.cli import AppGroup

from server.services.badges import badge_key_payload
from server.services.documents.badge_sheet import write_class_badges

badges_cli = AppGroup("badges", help="Trainee QR badges (学员签到二维码).")


@badges_cli.command("make")
@click.option("--class", "class_id", required=True, help="Training class id (UUID)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for <trainee_id>.png and sheet.pdf")
def make_command(class_id: str, out_dir: str) -> None:
    """Write one PNG badge per enrolled trainee and an A4 sheet (sheet.pdf) for a class."""

    try:
        parsed = uuid.UUID(class_id)
    except ValueError:
        click.echo(f"error: not a class id: {class_id}", err=True)
        sys.exit(2)
    try:
        paths = write_class_badges(parsed, Path(out_dir))
    except LookupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"wrote {len(paths) - 1} badges and sheet.pdf to {out_dir}")


@badges_cli.command("key")
def key_command() -> None:
    """Print the badge public key (JWK) that the field app verifies badges with."""
    import json


    click.echo(json.dumps(badge_key_payload(), ensure_ascii=False, indent=2))
