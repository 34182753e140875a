"""Pull scenarios: a phone prepares the day before and keeps its cache current (DESIGN §4)."""

from __future__ import annotations

import uuid

from server.extensions import db
from server.models import User
from server.services.assignments import create_assignment
from server.services.changes import new_epoch, publish_plan_version, record_change
from tests.sync.fixtures import new_plan_version, phone, publish_world, today_session


def by_type(changes):
    out: dict[str, dict[str, dict]] = {}
    for change in changes:
        out.setdefault(change["type"], {})[change["id"]] = change
    return out


def assign(world, inspector="inspector_a", key="a"):
    assignment = create_assignment(world.classes[key].id, today_session(world, key).id,
                                   [world.users[inspector]])
    db.session.commit()
    return assignment


def test_first_pull_brings_the_inspectors_scope_and_nothing_else(client, world):
    publish_world(world)
    mine, theirs = assign(world), assign(world, "inspector_b", "b")
    changes, cursor = phone(client).pull_all()
    seen = by_type(changes)
    version = world.versions["a"]
    assert set(seen["plan_version"]) == {str(version.id)}
    data = seen["plan_version"][str(version.id)]["data"]
    assert data["class_id"] == str(world.classes["a"].id) and data["version"] == 1
    assert len(data["sessions"]) == 42
    session = data["sessions"][0]
    assert set(session) >= {"id", "date", "start", "end", "category", "topic", "teacher_id",
                            "site_id"}
    assert session["start"] == "08:30" and session["end"] == "12:15"
    assert sorted(r["name"] for r in data["roster"]) == [f"a学员{i}" for i in range(5)]
    site = seen["site"][str(world.sites["a"].id)]["data"]
    assert (site["lat"], site["lon"], site["radius_m"]) == (36.7075, 119.1610, 150)
    assert set(seen["county"]) == {str(world.counties["a"].id)}
    assert set(seen["assignment"]) == {str(mine.id)}
    assert seen["assignment"][str(mine.id)]["data"]["inspector_ids"] == [
        str(world.users["inspector_a"].id)]
    # The team by name (one signature slot each) and each roster row's last four ID characters.
    inspector = world.users["inspector_a"]
    assert seen["assignment"][str(mine.id)]["data"]["inspectors"] == [
        {"id": str(inspector.id), "name": inspector.display_name or inspector.username}]
    tails = {r["trainee_id"]: r["id_tail"] for r in data["roster"]}
    for trainee in (t for t in world.trainees if str(t.id) in tails):
        assert tails[str(trainee.id)] == trainee.id_masked[-4:] and "*" not in tails[
            str(trainee.id)]
    assert str(theirs.id) not in str(changes)
    assert {"base", "teacher", "training_class"} <= set(seen)


def test_pulling_again_with_the_last_cursor_returns_nothing_until_something_changes(client, world):
    publish_world(world)
    device = phone(client)
    _, cursor = device.pull_all()
    status, body = device.pull(cursor)
    assert status == 200 and body["changes"] == [] and body["has_more"] is False
    newer = new_plan_version(world.versions["a"])
    changes, _ = device.pull_all(body["cursor"])
    assert str(newer.id) in by_type(changes)["plan_version"]


def test_paging_delivers_each_entity_once_and_dedups_to_its_latest_change(client, world):
    publish_world(world)
    publish_plan_version(world.versions["a"])  # the same entities logged a second time
    db.session.commit()
    device = phone(client)
    whole, _ = device.pull_all(limit=1000)
    paged, _ = device.pull_all(limit=2)
    keys = [(c["type"], c["id"]) for c in paged]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted((c["type"], c["id"]) for c in whole)
    assert len(whole) >= 7


def test_a_deleted_assignment_arrives_as_a_tombstone(client, world):
    publish_world(world)
    assignment = assign(world)
    device = phone(client)
    _, cursor = device.pull_all()
    record_change("assignment", assignment.id, "delete", user_id=world.users["inspector_a"].id)
    db.session.commit()
    changes, _ = device.pull_all(cursor)
    assert changes == [{"type": "assignment", "id": str(assignment.id), "op": "delete",
                        "data": None}]


def test_a_cursor_of_another_epoch_is_answered_with_reset_and_the_outbox_still_pushes(client,
                                                                                      world):
    publish_world(world)
    device = phone(client)
    _, cursor = device.pull_all()
    device.add_signin(visit_id=uuid.uuid4(), class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id)
    new_epoch()
    db.session.commit()
    status, body = device.pull(cursor)
    assert status == 409 and body["code"] == "sync.reset"
    # the client wipes its server cache and pulls from the start; its outbox is its own
    changes, _ = device.pull_all()
    assert str(world.versions["a"].id) in by_type(changes)["plan_version"]
    status, body = device.push()
    assert status == 200 and body["results"][0]["status"] == "applied"


def test_a_cursor_from_before_a_scope_change_is_reset(client, world):
    publish_world(world)
    device = phone(client)
    _, cursor = device.pull_all()
    user = db.session.get(User, world.users["inspector_a"].id)
    user.county_id = world.counties["b"].id
    db.session.commit()
    status, body = device.pull(cursor)
    assert status == 409 and body["code"] == "sync.reset"
    changes, _ = device.pull_all()
    assert set(by_type(changes)["plan_version"]) == {str(world.versions["b"].id)}


def test_a_garbled_cursor_is_400_and_a_bad_limit_422(client, world):
    device = phone(client)
    status, body = device.pull("not-a-cursor")
    assert status == 400 and body["code"] == "sync.bad_cursor"
    status, body = device.pull(None, limit=0)
    assert status == 422 and body["code"] == "validation_error"


def test_base_staff_cannot_pull(client, world):
    status, body = phone(client, "base_a", "base-phone").pull()
    assert status == 403


def test_a_city_inspector_sees_every_county(client, world):
    publish_world(world)
    changes, _ = phone(client, "city_inspector", "city-phone").pull_all()
    assert set(by_type(changes)["plan_version"]) == {str(v.id) for v in world.versions.values()}


def test_every_pull_page_carries_the_judging_settings_as_they_are_now(app, client, world):
    """A configuration change reaches the phone with its next pull, even one with nothing new:
    the phone's checks must judge by what the server will judge the next push by."""
    publish_world(world)
    device = phone(client)
    status, first = device.pull(None)
    assert status == 200 and first["changes"]
    assert first["judging"] == {"gps_max_accuracy_m": 200.0, "attendance_min_rate": 0.9,
                                "time_tolerance_minutes": 15, "evidence_tolerance_minutes": 15}
    _, cursor = device.pull_all()
    app.config.update(GPS_MAX_ACCURACY_M=50.0, ATTENDANCE_MIN_RATE=0.75,
                      EVIDENCE_TOLERANCE_MINUTES=5)
    status, nothing_new = device.pull(cursor)
    assert status == 200 and nothing_new["changes"] == []
    assert nothing_new["judging"] == {"gps_max_accuracy_m": 50.0, "attendance_min_rate": 0.75,
                                      "time_tolerance_minutes": 15,
                                      "evidence_tolerance_minutes": 5}
    # The plan version pulled before the change still says what it said then; the page wins.
    version = by_type(first["changes"])["plan_version"][str(world.versions["a"].id)]
    assert version["data"]["judging"]["gps_max_accuracy_m"] == 200.0
