"""`flask --app wsgi verify`: re-check every visit's seal and every stored file's SHA-256."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from server.extensions import db
from server.models import Media, Visit
from server.services.media_store import store
from sync.canonical import compute_seal


def find_tampering() -> list[str]:
    """Return one line per visit or media file that no longer matches its hash."""

    backend = store()
    problems: list[str] = []
    for visit in db.session.scalars(select(Visit).order_by(Visit.received_at,
                                                           Visit.id)).yield_per(200):
        payload = visit.payload or {}
        try:
            recomputed = compute_seal(payload)
        except (TypeError, ValueError) as error:
            problems.append(f"visit {visit.id}: payload cannot be serialised ({error})")
            continue
        if recomputed != visit.seal or payload.get("seal") != visit.seal:
            problems.append(f"visit {visit.id}: seal mismatch (stored {visit.seal}, content "
                            f"{recomputed})")
    for media in db.session.scalars(select(Media).order_by(Media.sha256)).yield_per(200):
        actual = backend.sha256_of(media.sha256)
        if actual is None:
            problems.append(f"media {media.sha256}: file missing at {backend.where(media.sha256)}")
        elif actual != media.sha256:
            problems.append(f"media {media.sha256}: content hash is {actual} "
                            f"({backend.where(media.sha256)})")
    return problems


@click.command("verify")
def verify_command() -> None:
    """Recompute every visit seal and media hash; exit 1 naming each record that fails."""
    problems = find_tampering()
    visits = db.session.scalar(select(db.func.count()).select_from(Visit))
    files = db.session.scalar(select(db.func.count()).select_from(Media))
    for line in problems:
        click.echo(line, err=True)
    if problems:
        click.echo(f"verify: {len(problems)} problem(s) in {visits} visits and {files} files",
                   err=True)
        sys.exit(1)
    click.echo(f"verify: {visits} visits and {files} files intact")
