"""What visit.submit checks before it stores a visit, each with its own code, in its order: a
stored visit of that id, then the class (in the pusher's scope), its plan version, a session of
the class's plan (of another version: kept, flagged), the assignment, the visit it supersedes.
The look-ups behind them are one query; these pin that each still decides."""

from __future__ import annotations

import uuid

from server.extensions import db
from server.models import User, Visit
from server.services.assignments import create_assignment
from tests.sync.client import seal, visit_payload
from tests.sync.fixtures import phone, queue_visit, today_session


def _payload(world, key: str = "a", **changes) -> dict:
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world, key),
                            plan_version_id=world.versions[key].id, site=world.sites["a"])
    payload.pop("seal")
    payload.update({k: str(v) for k, v in changes.items()})
    return seal(payload)


def _push(device, payload: dict, visit_id=None) -> dict:
    device.add_visit(payload, visit_id=visit_id)
    status, body = device.push()
    assert status == 200
    return body["results"][-1]


def _code(result: dict) -> str | None:
    return result["code"] if result["status"] == "rejected" else None


def test_an_unknown_class_version_session_assignment_or_superseded_visit_is_rejected(client,
                                                                                      world):
    device = phone(client)
    unknown = uuid.uuid4()
    assert _code(_push(device, _payload(world, class_id=unknown))) == "visit.unknown_class"
    # Another class's version (and with it its session), then another version's session.
    assert _code(_push(device, _payload(world, "b"))) == "visit.unknown_plan_version"
    assert _code(_push(device, _payload(world, plan_version_id=unknown))) == (
        "visit.unknown_plan_version")
    assert _code(_push(device, _payload(
        world, session_id=today_session(world, "b").id))) == "visit.unknown_session"
    assert _code(_push(device, _payload(world, session_id=unknown))) == (
        "visit.unknown_session")
    assert _code(_push(device, _payload(world, assignment_id=unknown))) == (
        "visit.unknown_assignment")
    assert _code(_push(device, _payload(world, supersedes=unknown))) == (
        "visit.unknown_supersedes")
    assert db.session.query(Visit).count() == 0


def test_an_assignment_or_superseded_visit_of_another_class_is_rejected(client, world):
    device = phone(client)
    inspector_b = db.session.query(User).filter_by(username="inspector_b").one()
    theirs = create_assignment(world.classes["b"].id, today_session(world, "b").id, [inspector_b])
    db.session.commit()
    assert _code(_push(device, _payload(world, assignment_id=theirs.id))) == (
        "visit.unknown_assignment")
    other = phone(client, "inspector_b", "phone-b1")
    earlier = queue_visit(other, world, key="b")
    assert other.push()[0] == 200
    assert _code(_push(device, _payload(world, supersedes=earlier))) == (
        "visit.unknown_supersedes")


def test_a_correction_is_no_duplicate_of_the_visit_it_supersedes_but_a_second_visit_is(client,
                                                                                       world):
    device = phone(client)
    first, third = uuid.uuid4(), uuid.uuid4()
    assert _push(device, _payload(world), first)["status"] == "applied"
    assert _push(device, _payload(world, supersedes=first))["status"] == "applied"
    # Superseding the first does not hide the correction: a third visit is a duplicate.
    assert _push(device, _payload(world, supersedes=first), third)["status"] == "flagged"
    db.session.expire_all()
    assert "visit.duplicate_session" in db.session.get(Visit, third).flags


def test_the_same_sealed_visit_again_is_already_stored_and_another_under_its_id_exists(client,
                                                                                      world):
    device = phone(client)
    visit_id = uuid.uuid4()
    payload = _payload(world)
    assert _push(device, payload, visit_id)["status"] == "applied"
    # A new mutation (not a ledger replay) with the stored record: accepted, nothing stored anew.
    assert _push(device, payload, visit_id)["status"] != "rejected"
    assert _code(_push(device, _payload(world, class_id=uuid.uuid4()), visit_id)) == (
        "visit.exists")
    assert db.session.query(Visit).count() == 1


def test_a_session_of_another_version_of_the_class_s_plan_is_kept_and_flagged(client, world):
    """The record names one version of the class's plan and a session of another (the plan
    changed between): still evidence of a visit to this class, so stored and flagged
    plan.outdated, never rejected (DESIGN §4)."""
    from tests.sync.fixtures import new_plan_version

    older = world.versions["a"]
    newer = new_plan_version(older)
    newer_session = newer.sessions[3]
    device = phone(client)
    # The older version named, the newer version's session.
    result = _push(device, _payload(world, session_id=newer_session.id))
    assert result["status"] == "flagged" and "plan.outdated" in result["flags"]
    # The version in force named, the older version's session.
    result = _push(device, _payload(world, plan_version_id=newer.id))
    assert result["status"] == "flagged" and "plan.outdated" in result["flags"]
    stored = {(v.plan_version_id, v.session_id) for v in db.session.query(Visit)}
    assert stored == {(older.id, newer_session.id), (newer.id, today_session(world).id)}
