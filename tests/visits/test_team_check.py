"""A team's visit is one check (R10, issue 17): done for the whole team, a teammate's record
linked, one check for reviewers and coverage, the decision on every member's phone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Assignment, User, Visit
from server.services.assignments import create_assignment
from server.services.coverage import compute_coverage
from server.services.team_checks import complete_assignment, team_check
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user
from tests.sync.client import FlaskTransport, SyncClient, seal, utc_iso, visit_payload
from tests.sync.fixtures import phone, race_requests, shared_world, today_session


@pytest.fixture
def team(world):
    """inspector_a and inspector_a2 share today's assignment of class a."""
    second = make_user("inspector_a2", "inspector", world.counties["a"])
    db.session.flush()
    assignment = create_assignment(world.classes["a"].id, today_session(world).id,
                                   [world.users["inspector_a"], second])
    db.session.commit()
    return assignment


def push_visit(client, world, assignment, username, device_id, **kwargs) -> tuple[dict, Visit]:
    device = phone(client, username, device_id)
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"], **kwargs)
    payload.pop("seal")
    payload["assignment_id"] = str(assignment.id)
    entry = device.add_visit(seal(payload))
    status, body = device.push()
    assert status == 200, body
    db.session.expire_all()
    return body["results"][-1], db.session.get(Visit, uuid.UUID(entry["entity_id"]))


def assignment_status_seen_by(client, username, device_id, assignment) -> list[str]:
    changes, _ = phone(client, username, device_id).pull_all()
    return [c["data"]["status"] for c in changes
            if c["type"] == "assignment" and c["id"] == str(assignment.id) and c.get("data")]


def test_the_first_visit_marks_the_assignment_done_for_every_team_member(client, world, team):
    assert assignment_status_seen_by(client, "inspector_a2", "phone-b", team) == ["open"]
    result, visit = push_visit(client, world, team, "inspector_a", "phone-a")
    assert result["status"] == "applied" and visit.check_of_id is None
    assert db.session.get(Assignment, team.id).status == "done"
    assert assignment_status_seen_by(client, "inspector_a2", "phone-b", team) == ["done"]
    assert assignment_status_seen_by(client, "inspector_a", "phone-a", team) == ["done"]


def test_a_teammates_second_visit_is_kept_and_linked_to_the_check(client, world, team):
    _, first = push_visit(client, world, team, "inspector_a", "phone-a")
    result, second = push_visit(client, world, team, "inspector_a2", "phone-b", verdict="issues",
                                headcount=7)
    assert result["status"] == "flagged"
    assert second.check_of_id == first.id
    assert "visit.team_record" in second.flags and "visit.duplicate_session" not in second.flags
    check = team_check(second)
    assert [v.id for v in check.visits] == [first.id, second.id]
    assert check.disagreements["verdict"] == ["compliant", "issues"]
    assert check.disagreements["headcount"] == [5, 7]
    assert "place" not in check.disagreements  # both stood at the site


def test_reviewers_see_one_check_with_both_records_and_the_disagreement(client, world, team, api):
    _, first = push_visit(client, world, team, "inspector_a", "phone-a")
    push_visit(client, world, team, "inspector_a2", "phone-b", verdict="issues")
    headers = api.headers("county_a")
    listed = client.get("/api/v1/bureau/visits", headers=headers).get_json()
    rows = listed.get("items", listed.get("visits"))
    assert [r["id"] for r in rows] == [str(first.id)]
    coverage = compute_coverage(world.users["county_a"], today=today_session(world).date)
    (klass,) = [c for county in coverage.counties for c in county.classes
                if c.training_class.id == world.classes["a"].id]
    assert klass.visits == 1

    client.post("/login", data={"username": "county_a", "password": "pw-for-tests"})
    page = client.get(f"/bureau/visits/{first.id}").get_data(as_text=True)
    assert 'data-testid="team-check"' in page
    assert page.count('data-testid="team-record"') == 2
    assert 'data-testid="team-disagree-verdict"' in page


def test_the_review_decision_reaches_every_team_members_phone(client, world, team):
    from server.services.review import accept_visit

    _, first = push_visit(client, world, team, "inspector_a", "phone-a")
    _, second = push_visit(client, world, team, "inspector_a2", "phone-b")
    accept_visit(world.users["county_a"], first, "一致")
    db.session.commit()
    assert db.session.get(Visit, second.id).review_status == "accepted"
    for username, device in (("inspector_a", "phone-a"), ("inspector_a2", "phone-b")):
        changes, _ = phone(client, username, device).pull_all()
        reviews = [c["data"] for c in changes if c["type"] == "visit_review"]
        assert len(reviews) == 1, username
        assert set(reviews[0]["visit_ids"]) == {str(first.id), str(second.id)}


def test_a_teammate_s_record_arriving_after_the_decision_takes_it(client, world, team):
    # It stayed pending on a decided check: listed as awaiting review, and deciding it now is
    # refused (the check's decision is taken).
    from server.services.review import accept_visit

    _, first = push_visit(client, world, team, "inspector_a", "phone-a")
    accept_visit(world.users["county_a"], first, "一致")
    db.session.commit()
    _, late = push_visit(client, world, team, "inspector_a2", "phone-b")
    assert late.check_of_id == first.id and late.review_status == "accepted"


def test_completing_an_assignment_twice_publishes_once(world, team):
    assert complete_assignment(team) is True
    assert complete_assignment(team) is False
    assert db.session.get(Assignment, team.id).status == "done"


@pytest.fixture
def shared_app(tmp_path, engine_name):
    if engine_name != "postgresql":
        pytest.skip("concurrent requests need PostgreSQL (TEST_DATABASE_URL)")
    with shared_world(tmp_path, "team") as (app, world):
        make_user("inspector_a2", "inspector", world.counties["a"])
        db.session.commit()
        yield app, world


def queued_team_visits(app, world, assignments, username) -> SyncClient:
    """A fresh device of the user holding a sealed visit of each assignment, not yet pushed."""
    device = SyncClient(FlaskTransport(app.test_client()), f"phone-{uuid.uuid4()}")
    assert device.login(username, TEST_PASSWORD) == 200
    for assignment in assignments:
        payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                                plan_version_id=world.versions["a"].id, site=world.sites["a"])
        payload.pop("seal")
        payload["assignment_id"] = str(assignment.id)
        device.add_visit(seal(payload))
    return device


def push_at_once(app, devices) -> list[tuple[int, dict]]:
    """Each device pushes its outbox, all at the same moment."""
    return race_requests(app, [
        lambda c, d=device: c.post("/api/v1/sync/push", headers=d.headers, json={
            "device_id": d.device_id,
            "mutations": [{**m, "client_time": utc_iso(datetime.now(UTC))} for m in d.outbox]})
        for device in devices])


def assert_one_check(assignment) -> None:
    """The assignment's two records are one check: a lead and a teammate's record linked to it."""
    db.session.expire_all()
    records = db.session.scalars(select(Visit).where(Visit.assignment_id == assignment.id)).all()
    leads = [v for v in records if v.check_of_id is None]
    assert len(records) == 2 and len(leads) == 1, [(v.id, v.check_of_id) for v in records]
    (linked,) = [v for v in records if v.check_of_id is not None]
    assert linked.check_of_id == leads[0].id and "visit.team_record" in linked.flags
    assert "visit.team_record" not in leads[0].flags


def the_team(world) -> list[User]:
    return [world.users["inspector_a"], db.session.scalars(
        select(User).where(User.username == "inspector_a2")).one()]


def test_teammates_pushing_one_check_at_the_same_moment_make_one_check(shared_app):
    app, world = shared_app
    team = the_team(world)
    for _ in range(5):
        assignment = create_assignment(world.classes["a"].id, today_session(world).id, team)
        db.session.commit()
        devices = [queued_team_visits(app, world, [assignment], u.username) for u in team]
        answers = push_at_once(app, devices)
        assert [status for status, _ in answers] == [200, 200], answers
        assert_one_check(assignment)


def test_teammates_pushing_two_checks_in_opposite_orders_at_once_do_not_deadlock(shared_app):
    app, world = shared_app
    team = the_team(world)
    for _ in range(3):
        first, second = (create_assignment(world.classes["a"].id, today_session(world).id, team)
                         for _ in range(2))
        db.session.commit()
        devices = [queued_team_visits(app, world, [first, second], team[0].username),
                   queued_team_visits(app, world, [second, first], team[1].username)]
        answers = push_at_once(app, devices)
        assert [status for status, _ in answers] == [200, 200], answers
        assert_one_check(first)
        assert_one_check(second)
