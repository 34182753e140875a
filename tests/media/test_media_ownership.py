"""Evidence belongs to its visit: a visit or sign-in may cite only files the pushing inspector
(or their assignment's team) uploaded; citing another county's photo by its hash is rejected."""

from __future__ import annotations

import hashlib

from server.extensions import db
from server.models import Media, User, Visit
from server.services.assignments import create_assignment
from tests.sync.client import seal, visit_payload
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


def _assigned_visit(world, photos, team):
    assignment = create_assignment(world.classes["a"].id, today_session(world).id, team)
    db.session.commit()
    payload = _visit(world, photos)
    payload.pop("seal")
    payload["assignment_id"] = str(assignment.id)
    return seal(payload)


def test_a_photo_of_the_same_county_or_of_the_assignment_s_team_is_fine(client, world):
    neighbour = User(username="inspector_a2", display_name="x", password_hash="x",
                     role="inspector", county_id=world.counties["a"].id)
    db.session.add(neighbour)
    db.session.commit()
    theirs = _stored(b"same county photo", neighbour)
    device = phone(client)
    device.add_visit(_visit(world, [theirs]))
    status, body = device.push()
    assert body["results"][0]["status"] in ("applied", "flagged")


def test_a_city_teammate_s_photo_is_fine_under_the_assignment_only(client, world):
    # City inspectors have no county, so only the team makes a teammate's photo theirs (a
    # team is the city's or the county's, never both: create_assignment).
    city = world.users["city_inspector"]
    teammate = User(username="city_inspector_2", display_name="x", password_hash="x",
                    role="inspector", county_id=None)
    db.session.add(teammate)
    db.session.commit()
    teammates = _stored(b"team photo", teammate)
    device = phone(client, "city_inspector", "phone-city")
    device.add_visit(_assigned_visit(world, [teammates], [city, teammate]))
    device.add_visit(_visit(world, [teammates]))
    status, body = device.push()
    assert [r["status"] for r in body["results"]][0] in ("applied", "flagged")
    assert body["results"][1]["code"] == "visit.foreign_media"


def test_a_photo_of_another_county_off_the_team_is_rejected_under_an_assignment(client, world):
    city = world.users["city_inspector"]
    theirs = _stored(b"city photo", city)
    device = phone(client)
    device.add_visit(_assigned_visit(world, [theirs], [world.users["inspector_a"]]))
    status, body = device.push()
    assert body["results"][0]["code"] == "visit.foreign_media"
