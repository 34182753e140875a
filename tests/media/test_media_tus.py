"""Resumable media uploads over tus 1.0.0: an inspector's photos arrive whole, once, or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Media, Upload, utcnow
from server.services import media_store
from tests.media.tus_client import BASE, TUS, Tus, make_jpeg, metadata


@pytest.fixture
def tus(client, api, world):
    return Tus(client, api.headers("inspector_a"))


def stored_files(app) -> list[str]:
    root = media_store.media_dir()
    return sorted(p.name for p in root.glob("??/*") if p.is_file())


def media_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Media))


def test_options_describes_the_tus_server(client):
    response = client.options(BASE)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,checksum,expiration,termination"
    assert response.headers["Tus-Max-Size"] == str(20 * 1024 * 1024)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_photo_uploaded_in_chunks_is_stored_under_its_hash(app, tus):
    photo = make_jpeg()
    sha = hashlib.sha256(photo).hexdigest()
    created = tus.create(photo)
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == "0"
    assert created.headers["Tus-Resumable"] == "1.0.0"
    location = created.headers["Location"]
    assert location.startswith(BASE + "/")
    half = len(photo) // 2
    first = tus.patch(location, 0, photo[:half])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)
    assert "Upload-Expires" in first.headers
    last = tus.patch(location, half, photo[half:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(photo))
    assert media_store.media_path(sha).read_bytes() == photo
    assert media_store.media_path(sha).parent.name == sha[:2]
    row = db.session.get(Media, sha)
    assert (row.mime, row.size) == ("image/jpeg", len(photo))
    head = tus.head(location)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(photo))
    assert head.headers["Cache-Control"] == "no-store"
    assert not list((media_store.media_dir() / "uploads").glob("*.part"))


@pytest.mark.parametrize("fraction", [0.30, 0.60, 0.99])
def test_upload_dropped_mid_request_resumes_from_head(app, tus, fraction):
    photo = make_jpeg(side=200, seed=int(fraction * 100))
    location = tus.create(photo).headers["Location"]
    cut = int(len(photo) * fraction)
    # The phone announced the whole file but the connection died after `cut` bytes.
    dropped = tus.patch(location, 0, photo[:cut], content_length=len(photo))
    assert dropped.status_code == 400
    head = tus.head(location)
    assert head.headers["Upload-Offset"] == str(cut)
    resumed = tus.patch(location, cut, photo[cut:])
    assert resumed.status_code == 204
    sha = hashlib.sha256(photo).hexdigest()
    assert media_store.file_sha256(media_store.media_path(sha)) == sha
    assert db.session.get(Media, sha) is not None


def test_corrupted_chunk_is_refused_with_460_and_offset_unchanged(app, tus):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    assert tus.patch(location, 0, photo[:1000]).status_code == 204
    chunk = photo[1000:3000]
    good_sum = "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode()
    corrupted = chunk[:500] + bytes([chunk[500] ^ 0xFF]) + chunk[501:]
    response = tus.patch(location, 1000, corrupted, checksum=good_sum)
    assert response.status_code == 460
    assert response.get_json()["code"] == "media.checksum_mismatch"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert tus.head(location).headers["Upload-Offset"] == "1000"
    assert media_store.part_path(location.rsplit("/", 1)[1]).stat().st_size == 1000
    sha256_sum = "sha256 " + base64.b64encode(hashlib.sha256(photo[1000:]).digest()).decode()
    assert tus.patch(location, 1000, photo[1000:], checksum=sha256_sum).status_code == 204
    assert media_store.media_path(hashlib.sha256(photo).hexdigest()).read_bytes() == photo


def test_wrong_final_hash_discards_the_upload(app, tus):
    photo = make_jpeg()
    declared = hashlib.sha256(b"something else").hexdigest()
    location = tus.create(photo, sha256=declared).headers["Location"]
    response = tus.patch(location, 0, photo)
    assert response.status_code == 460
    assert response.get_json()["code"] == "media.hash_mismatch"
    assert tus.head(location).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert stored_files(app) == [] and media_rows() == 0
    assert not list((media_store.media_dir() / "uploads").glob("*.part"))


def test_expired_upload_is_refused_with_410_and_cleaned_up(app, tus, runner):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    assert tus.patch(location, 0, photo[:100]).status_code == 204
    upload = db.session.scalar(select(Upload))
    upload.expires_at = utcnow() - timedelta(seconds=1)  # a day has passed
    db.session.commit()
    head = tus.head(location)
    assert head.status_code == 410
    patch = tus.patch(location, 100, photo[100:])
    assert patch.status_code == 410 and patch.get_json()["code"] == "media.expired"
    result = runner.invoke(args=["media", "expire"])
    assert result.exit_code == 0 and "1" in result.output
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert not list((media_store.media_dir() / "uploads").glob("*.part"))
    assert stored_files(app) == []


def test_expire_leaves_young_bytes_of_no_row_and_sweeps_old_ones(app, tus):
    # create_upload writes the part file before its row commits: `media expire` listing the
    # rows in between took a new upload's bytes for an orphan's and deleted them.
    uploads = media_store.media_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    young, old = uploads / f"{uuid.uuid4()}.part", uploads / f"{uuid.uuid4()}.part"
    young.write_bytes(b"begun just now")
    old.write_bytes(b"left behind")
    an_hour_ago = (utcnow() - timedelta(hours=1)).timestamp()
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert media_store.expire_uploads() == 1
    assert young.exists() and not old.exists()


def test_expire_uploads_uses_the_injected_now(app, tus):
    photo = make_jpeg()
    tus.create(photo)
    upload = db.session.scalar(select(Upload))
    assert media_store.expire_uploads(now=upload.expires_at - timedelta(minutes=1)) == 0
    assert media_store.expire_uploads(now=upload.expires_at) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_same_photo_twice_is_stored_once(app, client, api, tus):
    photo = make_jpeg()
    sha = hashlib.sha256(photo).hexdigest()
    assert tus.patch(tus.create(photo).headers["Location"], 0, photo).status_code == 204
    again = tus.create(photo)
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == again.headers["Upload-Length"] == str(len(photo))
    assert again.get_json()["complete"] is True
    assert tus.head(again.headers["Location"]).headers["Upload-Offset"] == str(len(photo))
    # Another inspector with the same file has nothing to send either.
    other = Tus(client, api.headers("inspector_b"))
    assert other.create(photo).headers["Upload-Offset"] == str(len(photo))
    assert stored_files(app) == [sha]
    assert media_rows() == 1


def test_a_file_the_store_lost_is_asked_for_and_taken_again(app, client, tus):
    # Its row stayed, its file was gone (a disk restored without it): the server said it held
    # it (nothing missing, a new upload born complete), so the phone never sent it again.
    photo = make_jpeg(seed=7)
    sha = hashlib.sha256(photo).hexdigest()
    assert tus.patch(tus.create(photo).headers["Location"], 0, photo).status_code == 204
    (media_store.media_dir() / sha[:2] / sha).unlink()
    missing = client.post("/api/v1/media/missing", json={"sha256": [sha]}, headers=tus.auth)
    assert missing.get_json()["missing"] == [sha]
    again = tus.create(photo)
    assert again.status_code == 201 and again.headers["Upload-Offset"] == "0"
    assert tus.patch(again.headers["Location"], 0, photo).status_code == 204
    assert stored_files(app) == [sha] and media_rows() == 1
    assert client.post("/api/v1/media/missing", json={"sha256": [sha]},
                       headers=tus.auth).get_json()["missing"] == []


def test_two_uploads_of_one_photo_in_flight_store_it_once(app, client, api, tus):
    photo = make_jpeg()
    first = tus.create(photo).headers["Location"]
    other = Tus(client, api.headers("inspector_b"))
    second = other.create(photo).headers["Location"]
    assert tus.patch(first, 0, photo).status_code == 204
    assert other.patch(second, 0, photo).status_code == 204
    assert stored_files(app) == [hashlib.sha256(photo).hexdigest()]
    assert media_rows() == 1


def test_text_pretending_to_be_a_jpeg_is_refused_with_415(app, tus):
    fake = b"This is not a photo, just a text file named IMG_0001.jpg\n" * 20
    location = tus.create(fake).headers["Location"]
    response = tus.patch(location, 0, fake[:200])
    assert response.status_code == 415
    assert response.get_json()["code"] == "media.unsupported_type"
    assert tus.head(location).status_code == 404
    assert stored_files(app) == [] and media_rows() == 0


def test_jpeg_magic_with_a_broken_body_is_refused_at_completion(app, tus):
    fake = b"\xff\xd8\xff\xe0" + os.urandom(4000)
    location = tus.create(fake).headers["Location"]
    response = tus.patch(location, 0, fake)
    assert response.status_code == 415
    assert stored_files(app) == [] and media_rows() == 0


@pytest.mark.parametrize("tail", [b"<html><script>alert(1)</script></html>", b""],
                         ids=["html-after-the-scan-header", "cut-after-the-scan-header"])
def test_a_jpeg_whose_scan_does_not_decode_is_refused_at_completion(app, tus, tail):
    photo = make_jpeg()
    fake = photo[:photo.index(b"\xff\xda") + 14] + tail + os.urandom(16).hex().encode()
    location = tus.create(fake).headers["Location"]
    response = tus.patch(location, 0, fake)
    assert response.status_code == 415
    assert response.get_json()["code"] == "media.unsupported_type"
    assert stored_files(app) == [] and media_rows() == 0


def test_declared_type_must_match_the_bytes(app, tus):
    photo = make_jpeg()
    location = tus.create(photo, mime="image/png").headers["Location"]
    assert tus.patch(location, 0, photo).status_code == 415


def test_unsupported_declared_type_is_refused_at_creation(tus):
    response = tus.create(b"%PDF-1.4", mime="application/pdf")
    assert response.status_code == 415
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_over_the_size_limit_is_413_at_creation_and_past_the_declared_length(app, tus):
    too_big = tus.create(b"", sha256="a" * 64, length=20 * 1024 * 1024 + 1)
    assert too_big.status_code == 413 and too_big.get_json()["code"] == "media.too_large"
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    overflow = tus.patch(location, 0, photo + b"extra bytes")
    assert overflow.status_code == 413
    assert tus.head(location).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("app_config", [{"MEDIA_MAX_BYTES": 1000}])
def test_size_limit_is_configurable(tus):
    assert tus.create(make_jpeg()).status_code == 413


def test_offset_mismatch_is_409(app, tus):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    assert tus.patch(location, 0, photo[:500]).status_code == 204
    stale = tus.patch(location, 0, photo[:500])
    assert stale.status_code == 409
    assert stale.get_json()["details"] == {"offset": 500}
    ahead = tus.patch(location, 900, photo[900:1000])
    assert ahead.status_code == 409
    assert tus.head(location).headers["Upload-Offset"] == "500"


def test_delete_terminates_the_upload(app, tus):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    tus.patch(location, 0, photo[:100])
    response = tus.client.delete(location, headers=tus.auth)
    assert response.status_code == 204 and response.headers["Tus-Resumable"] == "1.0.0"
    assert tus.head(location).status_code == 404
    assert not list((media_store.media_dir() / "uploads").glob("*.part"))


def test_another_users_upload_is_not_found(client, api, tus):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    other = Tus(client, api.headers("inspector_b"))
    assert other.head(location).status_code == 404
    assert other.patch(location, 0, photo).status_code == 404
    assert tus.head(location).headers["Upload-Offset"] == "0"


def test_tus_version_and_token_are_required(client, api, world):
    photo = make_jpeg()
    headers = {"Upload-Length": str(len(photo)),
               "Upload-Metadata": metadata(hashlib.sha256(photo).hexdigest())}
    no_token = client.post(BASE, headers={**headers, **TUS})
    assert no_token.status_code == 401 and no_token.headers["Tus-Resumable"] == "1.0.0"
    no_version = client.post(BASE, headers={**headers, **api.headers("inspector_a")})
    assert no_version.status_code == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


@pytest.mark.parametrize("headers", [
    {"Upload-Metadata": "sha256 !!!notbase64"},
    {"Upload-Metadata": metadata("XYZ")},
    {"Upload-Length": "-5"},
    {"Upload-Metadata": metadata("a" * 64, unknown="x")},
])
def test_bad_creation_headers_are_422_and_change_nothing(tus, headers):
    base = {"Upload-Length": "100", "Upload-Metadata": metadata("a" * 64)}
    response = tus.client.post(BASE, headers={**tus.auth, **base, **headers})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_patch_needs_the_offset_stream_content_type(tus):
    photo = make_jpeg()
    location = tus.create(photo).headers["Location"]
    response = tus.client.patch(location, data=photo, headers={
        **tus.auth, "Upload-Offset": "0", "Content-Type": "image/jpeg"})
    assert response.status_code == 415
    assert tus.head(location).headers["Upload-Offset"] == "0"


def test_missing_lists_what_the_server_lacks_and_what_can_resume(app, client, tus):
    held, partial, absent = make_jpeg(seed=1), make_jpeg(seed=2), make_jpeg(seed=3)
    tus.patch(tus.create(held).headers["Location"], 0, held)
    location = tus.create(partial).headers["Location"]
    tus.patch(location, 0, partial[:700])
    hashes = [hashlib.sha256(x).hexdigest() for x in (held, partial, absent)]
    response = client.post("/api/v1/media/missing", json={"sha256": hashes}, headers=tus.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["missing"] == hashes[1:]
    assert body["partial"] == {hashes[1]: 700}
    assert BASE + "/" + body["uploads"][hashes[1]] == location


def test_missing_rejects_bad_hashes(client, tus):
    response = client.post("/api/v1/media/missing", json={"sha256": ["nope"]}, headers=tus.auth)
    assert response.status_code == 422
