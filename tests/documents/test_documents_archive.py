"""The yearly archive of a base (R12): a manifest of hashes that `archive verify` re-checks."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.errors import ApiError
from server.services.documents.archive import (
    MANIFEST,
    SIGNATURE,
    archive_problems,
    build_archive,
    verify_archive,
)
from server.services.pii import decrypt_id_number
from tests.documents.support import make_visit, record_results

NOW = datetime(2027, 1, 9, 2, 0, tzinfo=UTC)


def rewrite(src: Path, dst: Path, *, change: str | None = None, drop: str | None = None,
            add: str | None = None) -> None:
    """Copy an archive, flipping one byte of one file, leaving one out, or adding one."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == drop:
                continue
            if info.filename == change:
                data = data[:10] + bytes([data[10] ^ 0x01]) + data[11:]
            zout.writestr(info, data)
        if add:
            zout.writestr(add, b"slipped in later")


@pytest.fixture
def archive(world, tmp_path):
    visit = make_visit(world, "a")
    record_results(world, "a", passed=3, failed=1)
    path = tmp_path / "archive.zip"
    manifest = build_archive(world.bases["a"], world.classes["a"].start_date.year, path, now=NOW)
    return path, manifest, visit


def test_a_fresh_archive_holds_every_record_and_verifies(world, archive):
    path, manifest, visit = archive
    assert verify_archive(path) == []
    folder = f"classes/{world.classes['a'].id}"
    names = set(manifest["files"])
    for name in ("class.json", "plan_v1.json", "roster_v1.csv", "assessments.csv",
                 f"visits/{visit.id}.json", f"visits/{visit.id}.pdf",
                 f"visits/{visit.id}_signins.json"):
        assert f"{folder}/{name}" in names, name
    assert "teachers.csv" in names
    media = sorted(n for n in names if n.startswith("media/"))
    assert len(media) == 5  # 2 photos + 3 signatures
    assert manifest["media_not_on_server"] == []
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == names | {MANIFEST, SIGNATURE}
        visit_record = json.loads(zf.read(f"{folder}/visits/{visit.id}.json"))
        assert visit_record["seal"] == visit.seal and visit_record["seal_verified"] is True
        roster = list(
            csv.reader(io.StringIO(zf.read(f"{folder}/roster_v1.csv").decode("utf-8-sig"))))
        everything = b"".join(zf.read(n) for n in zf.namelist())
    assert len(roster) == 1 + 5 and all("*" in row[3] for row in roster[1:])
    # No full ID number leaves the server in an archive.
    for enrollment in world.versions["a"].enrollments:
        assert decrypt_id_number(enrollment.trainee.id_number_enc).encode() not in everything
    # Base B's class is not in base A's archive.
    assert not any(str(world.classes["b"].id) in n for n in names)


def test_verify_names_a_file_with_one_changed_byte(archive, tmp_path):
    path, manifest, visit = archive
    target = next(n for n in manifest["files"] if n.endswith(f"{visit.id}.json"))
    changed = tmp_path / "changed.zip"
    rewrite(path, changed, change=target)
    assert verify_archive(changed) == [target]
    assert archive_problems(changed) == [(target, "sha256 mismatch")]


def test_verify_names_missing_and_extra_files(archive, tmp_path):
    path, manifest, _ = archive
    photo = sorted(n for n in manifest["files"] if n.startswith("media/"))[0]
    broken = tmp_path / "broken.zip"
    rewrite(path, broken, drop=photo, add="notes.txt")
    assert archive_problems(broken) == [(photo, "missing"), ("notes.txt", "not in manifest")]


def test_verify_catches_an_edited_manifest_and_a_raw_byte_flip(archive, tmp_path):
    path, manifest, _ = archive
    edited = tmp_path / "edited.zip"
    rewrite(path, edited, change=MANIFEST)
    assert MANIFEST in verify_archive(edited)
    # A flipped byte inside a stored (uncompressed) media entry of the ZIP file itself.
    photo = sorted(n for n in manifest["files"] if n.startswith("media/"))[0]
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(photo)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
    raw[offset] ^= 0xFF
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(raw))
    assert verify_archive(flipped) == [photo]


def test_not_a_zip_is_refused(tmp_path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ApiError) as error:
        verify_archive(bogus)
    assert error.value.code == "archive.invalid"


def test_an_archive_without_its_manifest_fails(archive, tmp_path):
    path, _, _ = archive
    bare = tmp_path / "bare.zip"
    rewrite(path, bare, drop=MANIFEST)
    assert archive_problems(bare) == [(MANIFEST, "missing or unreadable")]


def test_entry_times_are_wall_time_in_the_configured_zone(world, tmp_path):
    # 00:30 on 1 January in Beijing is still 31 December in UTC: the archive must not say so.
    now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    path = tmp_path / "new-year.zip"
    build_archive(world.bases["a"], world.classes["a"].start_date.year, path, now=now)
    with zipfile.ZipFile(path) as zf:
        stamps = {info.date_time[:5] for info in zf.infolist()}
        extra = zf.infolist()[0].extra
    assert stamps == {(2027, 1, 1, 0, 30)}
    # The real instant rides along in the extended-timestamp field (0x5455) for tools that read it.
    assert extra[:2] == b"\x55\x54" and int.from_bytes(extra[5:9], "little") == int(now.timestamp())


def test_the_archive_streams_in_pieces_that_form_the_same_zip(world, app):
    from server.services.clock import local_zone
    from server.services.documents.archive import stream_archive

    make_visit(world, "a")
    stream = stream_archive(world.bases["a"], world.classes["a"].start_date.year, now=NOW,
                            zone=local_zone())
    pieces = list(stream)
    assert len(pieces) > 5 and stream.manifest is not None
    assert verify_archive(io.BytesIO(b"".join(pieces))) == []
