"""Backup and restore round-trip the database and the media; a damaged backup is refused."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from server.errors import ApiError
from server.extensions import db
from server.models import ApiToken, Trainee, User
from server.services.auth import issue_token, resolve_token
from server.services.backup import BackupError, backup, restore
from server.services.media_store import LocalStore
from tests.factories import build_world


def _file_backed_app(database_url, tmp_path):
    from tests.conftest import fresh_database_url, make_test_app

    return make_test_app(fresh_database_url(database_url, tmp_path, "bk"), tmp_path)


def test_backup_then_restore_brings_back_rows_and_media(database_url, tmp_path):
    app = _file_backed_app(database_url, tmp_path)
    media_dir = tmp_path / "media"
    with app.app_context():
        db.create_all()
        build_world()
        photo = b"\xff\xd8\xff photo bytes"
        sha = hashlib.sha256(photo).hexdigest()
        (media_dir / sha[:2]).mkdir(parents=True, exist_ok=True)
        (media_dir / sha[:2] / sha).write_bytes(photo)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        manifest = backup(tmp_path / "bk", url, LocalStore(media_dir))
        assert f"media/{sha[:2]}/{sha}" in manifest["files"]

        # Damage after the backup: rows deleted, media file gone.
        db.session.query(User).delete()
        db.session.commit()
        (media_dir / sha[:2] / sha).unlink()
        restore(tmp_path / "bk", url, LocalStore(media_dir))

        assert db.session.scalar(select(func.count()).select_from(Trainee)) == 10
        assert db.session.scalar(select(func.count()).select_from(User)) == 8
        assert (media_dir / sha[:2] / sha).read_bytes() == photo
        db.session.remove()
        db.engine.dispose()


def test_a_restore_ends_every_login_it_brings_back(database_url, tmp_path):
    # A token revoked after the backup (a lost phone) came back to life with the restore; so
    # would a password changed or an account deactivated since. Everyone logs in again.
    app = _file_backed_app(database_url, tmp_path)
    with app.app_context():
        db.create_all()
        world = build_world()
        raw, _ = issue_token(world.users["inspector_a"], "lost-phone")
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        backup(tmp_path / "bk", url, LocalStore(tmp_path / "media"))
        with app.test_request_context():
            assert resolve_token(raw)[1] == "lost-phone"
        restore(tmp_path / "bk", url, LocalStore(tmp_path / "media"))
        with app.test_request_context():
            try:
                resolve_token(raw)
                raise AssertionError("a token from before the restore still works")
            except ApiError as error:
                assert error.code == "auth.token_invalid"
        assert db.session.scalar(select(func.count()).select_from(ApiToken)
                                 .where(ApiToken.revoked_at.is_(None))) == 0
        db.session.remove()
        db.engine.dispose()


def test_a_damaged_backup_is_refused_before_anything_changes(database_url, tmp_path):
    app = _file_backed_app(database_url, tmp_path)
    with app.app_context():
        db.create_all()
        build_world()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        backup(tmp_path / "bk", url, LocalStore(tmp_path / "media"))
        dump = next(p for p in (tmp_path / "bk").iterdir() if p.name.startswith("database"))
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
        try:
            restore(tmp_path / "bk", url, LocalStore(tmp_path / "media"))
            raise AssertionError("restore accepted a damaged backup")
        except BackupError as error:
            assert dump.name in str(error)
        assert db.session.scalar(select(func.count()).select_from(Trainee)) == 10
        db.session.remove()
        db.engine.dispose()


def test_backup_cli_refuses_a_non_empty_folder(runner, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = runner.invoke(args=["backup", str(tmp_path / "full")])
    assert result.exit_code == 2
