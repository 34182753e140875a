"""A visit citing an assignment: accepted either way, flagged when the inspector is not on its team.
"""

from __future__ import annotations

import uuid

from server.extensions import db
from server.models import User, Visit
from server.services.assignments import create_assignment
from tests.sync.client import seal, visit_payload
from tests.sync.fixtures import phone, queue_visit, today_session


def _assign(world, username: str):
    session = today_session(world)
    inspector = db.session.query(User).filter_by(username=username).one()
    assignment = create_assignment(world.classes["a"].id, session.id, [inspector])
    db.session.commit()
    return assignment


def _push_visit_for(client, world, assignment):
    device = phone(client)
    klass = world.classes["a"]
    payload = visit_payload(class_id=klass.id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload.pop("seal")
    payload["assignment_id"] = str(assignment.id)
    visit = device.add_visit(seal(payload))
    status, body = device.push()
    assert status == 200
    db.session.expire_all()
    return body["results"][-1], db.session.get(Visit, uuid.UUID(visit["entity_id"]))


def test_a_visit_under_the_inspectors_own_assignment_is_not_flagged(client, world):
    result, visit = _push_visit_for(client, world, _assign(world, "inspector_a"))
    assert result["status"] == "applied"
    assert "assignment.not_on_team" not in visit.flags


def test_a_visit_under_someone_elses_assignment_is_kept_and_flagged(client, world):
    other = User(username="inspector_a2", display_name="x", password_hash="x", role="inspector",
                 county_id=world.counties["a"].id)
    db.session.add(other)
    db.session.commit()
    result, visit = _push_visit_for(client, world, _assign(world, "inspector_a2"))
    assert result["status"] == "flagged"
    assert visit is not None and "assignment.not_on_team" in visit.flags


def test_queue_visit_helper_still_applies_without_assignment(client, world):
    device = phone(client)
    queue_visit(device, world)
    status, body = device.push()
    assert status == 200 and {r["status"] for r in body["results"]} == {"applied"}
