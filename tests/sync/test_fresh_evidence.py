"""Fresh evidence: a GPS fix, a photo (its EXIF capture time, sealed as taken_at) or a sign-in
captured outside the visit, beyond EVIDENCE_TOLERANCE_MINUTES, cannot verify it: the place check
is unverifiable and the record is flagged evidence.stale. A sign-in pushed apart from its visit
(before it, in the same or an earlier batch, or after it) is checked too and flagged signin.stale.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from server.extensions import db
from server.models import SignIn, Visit
from tests.conftest import TEST_PASSWORD
from tests.sync.client import seal, utc_iso, visit_payload
from tests.sync.fixtures import phone, today_session


def _payload(world, **changes):
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload.update(changes)
    return seal(payload)


def _started(payload) -> datetime:
    return datetime.fromisoformat(payload["started_at"].replace("Z", "+00:00"))


def _push_one(device, payload):
    visit_id = uuid.uuid4()
    device.add_visit(payload, visit_id=visit_id)
    status, body = device.push()
    return body["results"][-1], db.session.get(Visit, visit_id)


def test_a_photo_taken_long_before_the_visit_cannot_verify_it(client, world):
    device = phone(client)
    base = _payload(world)
    old = utc_iso(_started(base) - timedelta(days=3))
    photo = {"sha256": hashlib.sha256(b"old photo").hexdigest(), "taken_at": old}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert result["status"] == "flagged" and "evidence.stale" in result["flags"]
    assert visit.checks["place"]["status"] == "unverifiable"
    assert visit.payload["photos"][0]["taken_at"] == old  # kept, sealed, as evidence


def test_a_photo_taken_during_the_visit_is_fine(client, world):
    device = phone(client)
    base = _payload(world)
    during = utc_iso(_started(base) + timedelta(minutes=5))
    photo = {"sha256": hashlib.sha256(b"fresh photo").hexdigest(), "taken_at": during}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert "evidence.stale" not in (result.get("flags") or [])
    assert visit.checks["place"]["status"] == "match"


def test_a_sign_in_from_another_time_cannot_verify_the_visit(client, world):
    device = phone(client)
    base = _payload(world)
    visit_id = uuid.uuid4()
    signin = device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                               trainee_id=world.trainees[0].id,
                               at=_started(base) - timedelta(hours=6))
    device.add_visit(seal({**base, "signins": [signin["entity_id"]]}), visit_id=visit_id)
    status, body = device.push()
    assert "evidence.stale" in body["results"][-1]["flags"]
    assert db.session.get(Visit, visit_id).checks["place"]["status"] == "unverifiable"


def test_the_tolerance_is_configurable(app, client, world):
    app.config["EVIDENCE_TOLERANCE_MINUTES"] = 24 * 60 * 7
    device = phone(client)
    base = _payload(world)
    old = utc_iso(_started(base) - timedelta(days=3))
    photo = {"sha256": hashlib.sha256(b"old photo").hexdigest(), "taken_at": old}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert "evidence.stale" not in (result.get("flags") or [])


# --- sign-ins pushed apart from their visit: checked whichever arrives first -----------------


def _signin_of(device, visit_id, world, at, **extra):
    return device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                             trainee_id=world.trainees[0].id, at=at, **extra)


def _stored_signin(mutation) -> SignIn:
    signin = db.session.get(SignIn, uuid.UUID(mutation["entity_id"]))
    db.session.refresh(signin)
    return signin


def _assert_stale(visit_id, signin, runner):
    visit = db.session.get(Visit, visit_id)
    db.session.refresh(visit)
    assert "signin.stale" in signin.flags
    assert "evidence.stale" in visit.flags
    assert visit.checks["place"]["status"] == "unverifiable"
    assert [r["code"] for r in visit.checks["place"]["reasons"]] == ["place.stale_fix"]
    result = runner.invoke(args=["verify"])  # the server's new flags and checks are sealed
    assert result.exit_code == 0, result.output


def test_a_sign_in_from_another_day_pushed_after_its_visit_flags_both(client, runner, world):
    device = phone(client)
    base = _payload(world)
    result, visit = _push_one(device, base)
    assert visit is not None and "evidence.stale" not in visit.flags
    late = _signin_of(device, visit.id, world, _started(base) + timedelta(days=1))
    status, body = device.push()
    assert status == 200 and body["results"][0]["status"] in ("applied", "flagged")
    _assert_stale(visit.id, _stored_signin(late), runner)


def test_a_late_sign_in_inside_the_tolerance_is_fine(client, world):
    device = phone(client)
    base = _payload(world)
    result, visit = _push_one(device, base)
    ended = datetime.fromisoformat(base["ended_at"].replace("Z", "+00:00"))
    late = _signin_of(device, visit.id, world, ended + timedelta(minutes=10))
    status, body = device.push()
    assert status == 200
    db.session.refresh(visit)
    assert "signin.stale" not in _stored_signin(late).flags
    assert "evidence.stale" not in visit.flags
    assert visit.checks["place"]["status"] == "match"


def test_a_sign_in_pushed_before_its_visit_is_checked_when_the_visit_arrives(client, runner,
                                                                              world):
    device = phone(client)
    base = _payload(world)
    visit_id = uuid.uuid4()
    early = _signin_of(device, visit_id, world, _started(base) - timedelta(days=1))
    status, body = device.push()  # an earlier batch: the visit is not stored yet
    assert status == 200 and "signin.stale" not in _stored_signin(early).flags
    device.add_visit(base, visit_id=visit_id)  # the payload does not name the sign-in
    status, body = device.push()
    assert status == 200
    _assert_stale(visit_id, _stored_signin(early), runner)


def test_a_sign_in_before_its_visit_in_the_same_batch_is_checked(client, runner, world):
    device = phone(client)
    base = _payload(world)
    visit_id = uuid.uuid4()
    early = _signin_of(device, visit_id, world, _started(base) - timedelta(days=1))
    device.add_visit(base, visit_id=visit_id)
    status, body = device.push()
    assert status == 200
    _assert_stale(visit_id, _stored_signin(early), runner)


def test_a_sign_in_whose_position_is_from_another_time_is_flagged(client, runner, world):
    device = phone(client)
    base = _payload(world)
    result, visit = _push_one(device, base)
    site = world.sites["a"]
    during = _started(base) + timedelta(minutes=5)
    old_fix = {"lat": site.lat, "lon": site.lon, "accuracy": 10.0,
               "captured_at": utc_iso(_started(base) - timedelta(hours=5)), "mocked": False}
    signin = _signin_of(device, visit.id, world, during, gps=old_fix)
    status, body = device.push()
    assert status == 200
    _assert_stale(visit.id, _stored_signin(signin), runner)


def test_the_review_page_and_the_api_name_the_late_sign_in_in_words(client, api, world):
    device = phone(client)
    base = _payload(world)
    result, visit = _push_one(device, base)
    _signin_of(device, visit.id, world, _started(base) + timedelta(days=1))
    assert device.push()[0] == 200
    headers = api.headers("county_a")
    detail = client.get(f"/api/v1/bureau/visits/{visit.id}", headers=headers).get_json()
    assert "evidence.stale" in detail["flags"]
    assert [s["flags"] for s in detail["sign_ins"]] == [["signin.stale"]]
    place = {row["check"]: row for row in detail["comparison"]}["place"]
    assert place["codes"] == ["place.stale_fix"] and "抽查期间" in place["reason"]
    assert client.post("/login", data={"username": "county_a",
                                       "password": TEST_PASSWORD}).status_code == 302
    for lang, words in (("zh", "签到（或其定位）时间不在抽查期间"),
                        ("en", "Sign-in (or its position) captured outside the visit")):
        page = client.get(f"/bureau/visits/{visit.id}?lang={lang}").get_data(as_text=True)
        assert words in page
