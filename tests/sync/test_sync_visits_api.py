"""GET /api/v1/visits and the server's judgement of what an inspector saw."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.extensions import db
from server.models import Media, VisitReview
from server.services.changes import publish_visit_review
from tests.sync.client import session_start, visit_payload
from tests.sync.fixtures import phone, today_session

PHOTO = "a" * 64
SIGNATURE = "b" * 64


def submit(device, world, key="a", **kwargs):
    visit_id = uuid.uuid4()
    session = kwargs.pop("session", today_session(world, key))
    device.add_visit(visit_payload(class_id=world.classes[key].id, session=session,
                                   plan_version_id=world.versions[key].id, site=world.sites[key],
                                   **kwargs), visit_id=visit_id)
    result = device.push()[1]["results"][-1]
    assert result["status"] in ("applied", "flagged"), result
    return str(visit_id)


def listing(client, headers, **params):
    response = client.get("/api/v1/visits", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return {v["id"]: v for v in response.get_json()["visits"]}


def test_reviewers_see_their_scope_inspectors_their_own(client, api, world):
    a = submit(phone(client), world, headcount=0)
    b = submit(phone(client, "inspector_b", "phone-b"), world, key="b", headcount=0)
    assert set(listing(client, api.headers("county_a"))) == {a}
    assert set(listing(client, api.headers("city"))) == {a, b}
    assert set(listing(client, api.headers("inspector_b"))) == {b}
    assert set(listing(client, api.headers("city"), class_id=str(world.classes["b"].id))) == {b}
    assert client.get("/api/v1/visits", headers=api.headers("base_a")).status_code == 403


def test_the_listing_carries_the_contract_fields(client, api, world):
    device = phone(client)
    a = submit(device, world, headcount=0)
    visit = listing(client, api.headers("county_a"))[a]
    assert set(visit) >= {"id", "class_id", "session_id", "plan_version_id", "verdict",
                          "received_at", "checks", "flags", "media_complete"}
    assert set(visit["checks"]) == {"place", "time", "teacher", "content", "attendance"}
    assert visit["checks"]["place"]["status"] == "match"
    assert visit["checks"]["place"]["distance_m"] == 0.0
    assert visit["received_at"].endswith("Z")
    later = listing(client, api.headers("county_a"), since=visit["received_at"])
    assert a in later
    response = client.get("/api/v1/visits", headers=api.headers("county_a"),
                          query_string={"since": "yesterday"})
    assert response.status_code == 422


def test_media_complete_only_when_every_photo_and_signature_is_stored(client, api, world):
    a = submit(phone(client), world, headcount=0, photos=[PHOTO], signatures=[SIGNATURE])
    headers = api.headers("county_a")
    assert listing(client, headers)[a]["media_complete"] is False
    db.session.add(Media(sha256=PHOTO, mime="image/jpeg", size=10))
    db.session.commit()
    assert listing(client, headers)[a]["media_complete"] is False
    db.session.add(Media(sha256=SIGNATURE, mime="image/png", size=10))
    db.session.commit()
    assert listing(client, headers)[a]["media_complete"] is True


def checks_of(client, api, visit_id):
    return listing(client, api.headers("county_a"))[visit_id]["checks"]


def test_place_far_away_mismatch_poor_fix_or_mock_unverifiable(client, api, world):
    device = phone(client)
    far = submit(device, world, headcount=0, offset_m=2000)
    poor = submit(device, world, headcount=0, accuracy=500)
    mock = submit(device, world, headcount=0, mocked=True)
    edge = submit(device, world, headcount=0, offset_m=160, accuracy=20)  # within 150 + 20
    assert checks_of(client, api, far)["place"]["status"] == "mismatch"
    assert 1900 < checks_of(client, api, far)["place"]["distance_m"] < 2100
    assert checks_of(client, api, poor)["place"]["status"] == "unverifiable"
    assert checks_of(client, api, mock)["place"]["status"] == "unverifiable"
    assert checks_of(client, api, edge)["place"]["status"] == "match"


def test_time_outside_the_session_window_is_a_mismatch(client, api, world):
    device = phone(client)
    session = today_session(world)
    start = session_start(session.date, session.start_time)
    early = submit(device, world, headcount=0, started_at=start - timedelta(hours=3))
    slightly = submit(device, world, headcount=0, started_at=start - timedelta(minutes=50))
    assert checks_of(client, api, early)["time"]["status"] == "mismatch"
    # a visit from 07:40 to 08:20 ends within 15 minutes of the 08:30 start
    assert checks_of(client, api, slightly)["time"]["status"] == "match"


def test_teacher_and_content_follow_the_inspectors_observation(client, api, world):
    device = phone(client)
    wrong = submit(device, world, headcount=0, teacher_matches=False, content_matches=None)
    checks = checks_of(client, api, wrong)
    assert checks["teacher"]["status"] == "mismatch"
    assert checks["content"]["status"] == "unverifiable"


def test_attendance_against_roster_signins_and_headcount(client, api, world):
    device = phone(client)
    klass = world.classes["a"]
    roster = [t for t in world.trainees if t.name.startswith("a")]
    full = uuid.uuid4()
    ids = [device.add_signin(visit_id=full, class_id=klass.id, trainee_id=t.id)["entity_id"]
           for t in roster]
    device.add_visit(visit_payload(class_id=klass.id, session=today_session(world),
                                   plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                   signins=ids, headcount=5), visit_id=full)
    device.push()
    crowded = submit(device, world, headcount=7)  # more people than the roster, nobody signed
    assert checks_of(client, api, str(full))["attendance"]["status"] == "match"
    attendance = checks_of(client, api, crowded)["attendance"]
    assert attendance["status"] == "mismatch"
    assert "attendance.over_roster" in attendance["codes"]
    assert "超过名册人数" in attendance["reason"]  # people's words, Chinese by default


def test_a_signin_arriving_after_its_visit_is_counted(client, api, world):
    device = phone(client)
    klass = world.classes["a"]
    roster = [t for t in world.trainees if t.name.startswith("a")]
    visit_id = uuid.uuid4()
    late = [device.add_signin(visit_id=visit_id, class_id=klass.id,
                              trainee_id=t.id) for t in roster]
    device.outbox = []  # these five are still on another phone
    device.add_visit(visit_payload(class_id=klass.id, session=today_session(world),
                                   plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                   signins=[m["entity_id"] for m in late], headcount=5),
                     visit_id=visit_id)
    device.outbox[0]["seq"] = 1
    device.seq = 1
    device.push()
    assert checks_of(client, api, str(visit_id))["attendance"]["status"] == "unverifiable"
    other = phone(client, device_id="phone-a2")
    for mutation in late:
        other.add("signin.create", mutation["payload"], entity_id=mutation["entity_id"])
    assert [r["status"] for r in other.push()[1]["results"]] == ["applied"] * 5
    assert checks_of(client, api, str(visit_id))["attendance"]["status"] == "match"


def test_a_reviewers_decision_reaches_the_inspectors_phone(client, world):
    device = phone(client)
    visit_id = submit(device, world, headcount=0)
    _, cursor = device.pull_all()
    review = VisitReview(visit_id=uuid.UUID(visit_id), decision="reinspect", comment="请复查",
                         reviewer_id=world.users["county_a"].id)
    db.session.add(review)
    db.session.flush()
    publish_visit_review(review)
    db.session.commit()
    changes, _ = device.pull_all(cursor)
    assert [(c["type"], c["data"]["decision"]) for c in changes] == [("visit_review", "reinspect")]
    other, _ = phone(client, "inspector_b", "phone-b").pull_all(None)
    assert all(c["type"] != "visit_review" for c in other)


def test_a_base_refusal_to_sign_is_sealed_and_kept(client, world):
    """拒签: no base signature, the refusal and its reason inside the sealed payload."""
    from server.models import Visit
    from tests.sync.client import seal

    device = phone(client)
    session = today_session(world)
    payload = visit_payload(class_id=world.classes["a"].id, session=session,
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload.pop("seal")
    payload["base_refused"] = {"reason": "负责人称需请示领导，拒绝签字"}
    visit_id = uuid.uuid4()
    device.add_visit(seal(payload), visit_id=visit_id)
    result = device.push()[1]["results"][-1]
    assert result["status"] in ("applied", "flagged"), result
    stored = db.session.scalar(db.select(Visit).where(Visit.id == visit_id))
    assert stored.payload["base_refused"] == {"reason": "负责人称需请示领导，拒绝签字"}
    blank = dict(payload, base_refused={"reason": ""})
    device.add_visit(seal(blank), visit_id=uuid.uuid4())
    assert device.push()[1]["results"][-1]["status"] == "rejected"
