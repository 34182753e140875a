"""Evidence belongs to its visit: a visit or sign-in may cite only files the pushing inspector
(or their assignment's team) uploaded; citing another county's photo by its hash is rejected."""

from __future__ import annotations

import hashlib

from server.extensions import db
from server.models import Media, Visit
from tests.sync.client import visit_payload
from tests.sync.fixtures import phone, today_session


def _stored(data: bytes, uploader) -> str:
    sha = hashlib.sha256(data).hexdigest()
    db.session.add(Media(sha256=sha, mime="image/jpeg", size=len(data), uploaded_by_id=uploader.id))
    db.session.commit()
    return sha


def _visit(world, photos):
    return visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                         plan_version_id=world.versions["a"].id, site=world.sites["a"],
                         photos=photos)


def test_citing_another_county_s_photo_is_rejected(client, world):
    theirs = _stored(b"county b photo", world.users["inspector_b"])
    device = phone(client)
    device.add_visit(_visit(world, [theirs]))
    status, body = device.push()
    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["code"] == "visit.foreign_media"
    assert db.session.query(Visit).count() == 0


def test_own_photos_and_photos_not_yet_uploaded_are_fine(client, world):
    mine = _stored(b"my photo", world.users["inspector_a"])
    later = hashlib.sha256(b"uploaded after the push").hexdigest()
    device = phone(client)
    device.add_visit(_visit(world, [mine, later]))
    status, body = device.push()
    assert body["results"][0]["status"] in ("applied", "flagged")


def test_a_sign_in_citing_another_county_s_signature_is_rejected(client, world):
    theirs = _stored(b"county b signature", world.users["inspector_b"])
    device = phone(client)
    device.add_signin(visit_id=world.classes["a"].id, class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id, signature_sha256=theirs)
    status, body = device.push()
    assert body["results"][0]["code"] == "visit.foreign_media"
