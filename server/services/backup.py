"""Backup and restore of the database and the media files.

A backup is a folder: `database.sqlite3` (SQLite online backup API, consistent while the
server runs) or `database.pgdump` (pg_dump custom format), the media tree `media/<sha[:2]>/<sha>`
copied from the media store (the local folder or the S3 bucket alike; unfinished uploads are
left out), and a manifest with the SHA-256 of every file so a damaged backup is refused before
it overwrites anything. The database is dumped first: every Media row in it was committed
after its file was stored, so the media copied afterwards cover it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import make_url

from server.extensions import db
from server.models import ApiToken, WebSession
from server.services.changes import new_epoch
from server.services.media_store import MediaStore

MANIFEST = "manifest.json"
# A backup holds names, phones, encrypted ID numbers, photos and signatures: its owner only.
FILE_MODE, DIR_MODE = 0o600, 0o700


class BackupError(Exception):
    """The backup cannot be made or restored."""


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(url.database)


@contextmanager
def _private_umask():
    """Create files 0600 and folders 0700 whatever the process umask was."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _make_private(target: Path) -> None:
    """Set every file 0600 and every folder 0700 (also what another tool copied in)."""
    for path in [target, *target.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)


def writable_by_others(source: Path) -> list[str]:
    """Return the entries of a backup that someone other than its owner could have changed."""
    loose = []
    for path in [source, *source.rglob("*")]:
        mode = path.lstat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH) and not stat.S_ISLNK(mode):
            loose.append(str(path.relative_to(source)) if path != source else ".")
    return loose


def backup(target: Path, database_url: str, media: MediaStore) -> dict:
    """Write a backup of the database and media into an empty or new folder; return the manifest.

    The folder is 0700 and every file 0600, whatever the umask.
    """
    with _private_umask():
        manifest = _write_backup(Path(target), database_url, media)
    _make_private(Path(target))
    return manifest


def _write_backup(target: Path, database_url: str, media: MediaStore) -> dict:
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(DIR_MODE)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        db_file = target / "database.sqlite3"
        source = sqlite3.connect(_sqlite_path(url))
        dest = sqlite3.connect(db_file)
        with dest:
            source.backup(dest)
        source.close()
        dest.close()
    elif url.get_backend_name() == "postgresql":
        db_file = target / "database.pgdump"
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={db_file}",
                        _libpq_url(url)], check=True, capture_output=True)
    else:
        raise BackupError(f"unsupported engine {url.get_backend_name()}")
    for sha in media.shas():
        dest = target / "media" / sha[:2] / sha
        dest.parent.mkdir(parents=True, exist_ok=True)
        with media.local_copy(sha) as path:
            if path is not None:
                shutil.copyfile(path, dest)
    files = {
        str(p.relative_to(target)): _file_sha256(p)
        for p in sorted(target.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    manifest = {"made_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "engine": url.get_backend_name(), "files": files}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def check_backup(source: Path) -> list[str]:
    """Return the names of files in a backup that are missing or do not match the manifest."""
    manifest = json.loads((source / MANIFEST).read_text())
    bad = []
    for name, expected in manifest["files"].items():
        path = source / name
        if not path.is_file() or _file_sha256(path) != expected:
            bad.append(name)
    return bad


def restore(source: Path, database_url: str, media: MediaStore) -> None:
    """Replace the database and media with a verified backup; begin a new sync epoch and end
    every login (end_every_login)."""
    source = Path(source)
    if not (source / MANIFEST).is_file():
        raise BackupError(f"{source} has no {MANIFEST}")
    loose = writable_by_others(source)
    if loose:
        # Whoever could write it could have changed it and rewritten the manifest to match.
        raise BackupError("backup writable by others, refused: " + ", ".join(loose[:5]))
    bad = check_backup(source)
    if bad:
        raise BackupError("backup damaged: " + ", ".join(bad))
    url = make_url(database_url)
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(source / "database.sqlite3")
        dest = sqlite3.connect(_sqlite_path(url))
        with dest:
            src.backup(dest)
        src.close()
        dest.close()
    else:
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                        f"--dbname={_libpq_url(url)}", str(source / "database.pgdump")],
                       check=True, capture_output=True)
    if (source / "media").exists():
        media.restore_from(source / "media")
    start_new_epoch()
    end_every_login()


def end_every_login(now: datetime | None = None) -> None:
    """End every bearer token and page session of the restored database: everyone logs in again.

    The backup predates whatever logouts, password changes and deactivations came after it, and
    the restore undid them (a lost phone's revoked token worked again). Which of the restored
    logins were ended since cannot be told, so all of them are. A phone keeps what it holds
    through a new login and re-sends it (DESIGN §4).
    """
    now = now or datetime.now(UTC)
    db.session.execute(update(ApiToken).where(ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    db.session.execute(update(WebSession).where(WebSession.revoked_at.is_(None))
                       .values(revoked_at=now))
    db.session.commit()


def start_new_epoch() -> None:
    """Begin a new sync epoch in the restored database: every older pull cursor gets sync.reset.

    The restored ledger may be behind what phones were told; their next push reports a gap with
    `resend_from`, and they re-send what they still hold (DESIGN §4).
    """

    db.session.remove()
    db.engine.dispose()
    new_epoch()
    db.session.commit()
