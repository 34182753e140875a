"""Backups are private to their owner whatever the umask, and a backup others can write is refused.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Trainee
from server.services.backup import BackupError, backup, restore, writable_by_others
from server.services.media_store import LocalStore
from tests.conftest import fresh_database_url, make_test_app
from tests.factories import build_world


@pytest.fixture
def made(database_url, tmp_path):
    """A file-backed app with the world, a media file and a backup made under umask 000."""
    app = make_test_app(fresh_database_url(database_url, tmp_path, "bkp"), tmp_path)
    media_dir = tmp_path / "media"
    with app.app_context():
        db.create_all()
        build_world()
        photo = b"\xff\xd8\xff photo"
        sha = hashlib.sha256(photo).hexdigest()
        (media_dir / sha[:2]).mkdir(parents=True, exist_ok=True)
        (media_dir / sha[:2] / sha).write_bytes(photo)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        old = os.umask(0)
        try:
            backup(tmp_path / "out" / "bk", url, LocalStore(media_dir))
            assert os.umask(0) == 0  # backup() put the caller's umask back
        finally:
            os.umask(old)
        yield tmp_path / "out" / "bk", url, LocalStore(media_dir)
        db.session.remove()
        db.engine.dispose()


def test_every_file_is_0600_and_every_folder_0700_even_under_umask_000(made):
    folder, _, _ = made
    entries = [folder, *folder.rglob("*")]
    assert len(entries) > 4
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))



@pytest.mark.parametrize("loosen", ["manifest.json", "database", "."])
def test_restore_refuses_a_backup_others_can_write(made, loosen):
    folder, url, media_dir = made
    target = folder if loosen == "." else next(p for p in folder.iterdir()
                                                if p.name.startswith(loosen))
    target.chmod(stat.S_IMODE(target.stat().st_mode) | stat.S_IWOTH)
    assert writable_by_others(folder)
    db.session.query(Trainee).update({"name": "改过"})
    db.session.commit()
    with pytest.raises(BackupError, match="writable by others"):
        restore(folder, url, media_dir)
    assert set(db.session.scalars(select(Trainee.name))) == {"改过"}  # nothing restored
    target.chmod(stat.S_IMODE(target.stat().st_mode) & ~0o022)
    restore(folder, url, media_dir)
    assert "改过" not in set(db.session.scalars(select(Trainee.name)))
