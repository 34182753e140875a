"""Media in an S3-compatible store (MEDIA_STORAGE=s3): tus chunks as objects, the offset in the
database, the whole file checked before it is stored under its hash, nothing on the app's disk.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.cli.verify import find_tampering
from server.extensions import db
from server.models import Media, Upload, UploadChunk
from server.services import media_store
from tests.media.s3_server import S3Server
from tests.media.tus_client import Tus, make_jpeg


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3):
    """A fresh bucket per test (the module's server is shared)."""
    return s3.new_bucket()


@pytest.fixture
def app_config(s3, bucket, monkeypatch):
    for key, value in s3.settings.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return {**{k: v for k, v in s3.settings.items() if not k.startswith("AWS_")},
            "S3_BUCKET": bucket.name}


@pytest.fixture
def tus(client, api, world):
    return Tus(client, api.headers("inspector_a"))


def local_files(app) -> list[str]:
    root = media_store.media_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_chunks_become_one_object_under_the_hash_and_nothing_stays_on_disk(app, tus, bucket):
    photo = make_jpeg(side=400, seed=3)
    sha = hashlib.sha256(photo).hexdigest()
    location = tus.create(photo).headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    third = len(photo) // 3
    assert tus.patch(location, 0, photo[:third]).status_code == 204
    # The offset lives in the row and the chunk in the bucket: any server can go on.
    db.session.expire_all()
    assert db.session.get(Upload, uuid.UUID(upload_id)).offset == third
    assert bucket.keys(f"uploads/{upload_id}/") and len(bucket.keys("uploads/")) == 1
    assert tus.head(location).headers["Upload-Offset"] == str(third)
    assert tus.patch(location, third, photo[third:2 * third]).status_code == 204
    last = tus.patch(location, 2 * third, photo[2 * third:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(photo))
    assert bucket.read(f"{sha[:2]}/{sha}") == photo
    assert bucket.keys("uploads/") == []
    assert db.session.get(Media, sha).size == len(photo)
    assert db.session.scalar(select(func.count()).select_from(UploadChunk)) == 0
    assert local_files(app) == []
    assert find_tampering() == []


def test_a_cut_connection_keeps_what_arrived_and_the_upload_resumes(app, tus, bucket):
    photo = make_jpeg(side=300, seed=4)
    sha = hashlib.sha256(photo).hexdigest()
    location = tus.create(photo).headers["Location"]
    # The client announces the whole file but the connection drops after 1,000 bytes.
    cut = tus.patch(location, 0, photo[:1000], content_length=len(photo))
    assert cut.status_code >= 400
    offset = int(tus.head(location).headers["Upload-Offset"])
    assert offset == 1000
    assert tus.patch(location, 0, photo[:10]).status_code == 409  # not where the upload stands
    assert tus.patch(location, offset, photo[offset:]).status_code == 204
    assert bucket.read(f"{sha[:2]}/{sha}") == photo


def test_a_wrong_whole_file_hash_stores_nothing(app, tus, bucket):
    photo = make_jpeg(seed=5)
    location = tus.create(photo, sha256="0" * 64).headers["Location"]
    assert tus.patch(location, 0, photo[:500]).status_code == 204
    assert tus.patch(location, 500, photo[500:]).status_code == 460
    assert bucket.keys() == []
    assert db.session.scalar(select(func.count()).select_from(Media)) == 0
    assert tus.head(location).status_code == 404


def test_a_fake_photo_is_refused_on_its_first_bytes(app, tus, bucket):
    fake = b"MZ\x90\x00" + bytes(5000)
    location = tus.create(fake, mime="image/jpeg").headers["Location"]
    assert tus.patch(location, 0, fake[:2000]).status_code == 415
    assert bucket.keys() == []


def test_expire_removes_unfinished_chunks_from_the_bucket(app, tus, bucket):
    photo = make_jpeg(seed=6)
    location = tus.create(photo).headers["Location"]
    tus.patch(location, 0, photo[:700])
    assert bucket.keys("uploads/")
    bucket.write("uploads/00000000-0000-0000-0000-000000000000/000000000000-x", b"orphan")
    upload = db.session.scalars(select(Upload)).one()
    assert media_store.expire_uploads(now=upload.expires_at + timedelta(seconds=1)) == 2
    db.session.commit()
    assert bucket.keys() == []
    assert tus.head(location).status_code == 404


def test_verify_names_a_changed_or_missing_object(app, tus, bucket):
    photo = make_jpeg(seed=8)
    sha = hashlib.sha256(photo).hexdigest()
    location = tus.create(photo).headers["Location"]
    assert tus.patch(location, 0, photo).status_code == 204
    assert find_tampering() == []
    bucket.write(f"{sha[:2]}/{sha}", b"tampered")
    [problem] = find_tampering()
    assert sha in problem and "content hash" in problem


def test_a_reviewer_gets_the_photo_streamed_from_the_bucket(app, bucket):
    data = make_jpeg(seed=9)
    sha = media_store.store_bytes(data, "image/jpeg")
    db.session.commit()
    assert bucket.read(f"{sha[:2]}/{sha}") == data
    response = media_store.store().response(sha, "image/jpeg")
    assert response.is_streamed and response.content_length == len(data)
    assert b"".join(response.response) == data


def test_two_servers_racing_for_one_offset_cannot_both_win(app, tus, bucket):
    photo = make_jpeg(seed=10)
    location = tus.create(photo).headers["Location"]
    upload = db.session.get(Upload, uuid.UUID(location.rsplit("/", 1)[1]))
    backend = media_store.store()
    # Both requests read offset 0 before either kept its chunk (two servers at the same time).
    with backend.chunk(upload, 0) as first, backend.chunk(upload, 0) as second:
        first.file.write(photo[:800])
        second.file.write(photo[:500])
        first.keep(800)
        with pytest.raises(media_store.OffsetMismatch) as lost:
            second.keep(500)
    assert lost.value.offset == 800
    assert len(bucket.keys("uploads/")) == 1  # the loser's object is gone
    assert tus.head(location).headers["Upload-Offset"] == "800"
    assert tus.patch(location, 800, photo[800:]).status_code == 204
    assert bucket.read(f"{hashlib.sha256(photo).hexdigest()[:2]}/"
                       f"{hashlib.sha256(photo).hexdigest()}") == photo
