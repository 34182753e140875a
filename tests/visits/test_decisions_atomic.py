"""Decisions are atomic: a state change is a conditional update, so of two conflicting decisions
exactly one wins and the other gets 409 with a catalogue code. The stale-object tests run on both
engines; the threaded ones on PostgreSQL (TEST_DATABASE_URL), where requests really overlap."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.errors import ApiError
from server.extensions import db
from server.models import PlanVersion, Rectification, Visit
from server.services import filing, review
from tests.sync.fixtures import bearer, race_requests, shared_world
from tests.visits.signin_helpers import make_visit


def _behind_its_back(sql: str, **params) -> None:
    """Another request's committed change, unseen by the objects this session already holds."""
    db.session.execute(text(sql), params)


def test_a_decision_on_a_visit_another_reviewer_just_decided_is_409(world):
    visit = make_visit(world)
    assert visit.review_status == "pending"
    _behind_its_back("UPDATE visit SET review_status = 'accepted' WHERE id = :id", id=visit.id.hex
                     if db.engine.dialect.name == "sqlite" else visit.id)
    with pytest.raises(ApiError) as refused:
        review.accept_visit(world.users["county_a"], visit, "")
    assert refused.value.status == 409 and refused.value.code == "review.invalid_state"


def test_approving_a_version_the_county_just_returned_is_409(world):
    version = world.versions["a"]
    version.status = "submitted"
    db.session.commit()
    _behind_its_back("UPDATE plan_version SET status = 'returned' WHERE id = :id",
                     id=version.id.hex if db.engine.dialect.name == "sqlite" else version.id)
    with pytest.raises(ApiError) as refused:
        filing.approve(world.users["county_a"], version.id)
    assert refused.value.status == 409 and refused.value.code == "plan.invalid_transition"


def test_closing_a_rectification_sent_back_meanwhile_is_409(world):
    visit = make_visit(world)
    _, rectification = review.open_rectification(world.users["county_a"], visit, "criticism",
                                                 "整改")
    rectification.status = "answered"
    db.session.commit()
    _behind_its_back("UPDATE rectification SET status = 'open' WHERE id = :id",
                     id=rectification.id.hex if db.engine.dialect.name == "sqlite"
                     else rectification.id)
    with pytest.raises(ApiError) as refused:
        review.close_rectification(world.users["county_a"], rectification)
    assert refused.value.status == 409 and refused.value.code == "review.invalid_state"


@pytest.fixture
def shared_app(tmp_path, engine_name):
    if engine_name != "postgresql":
        pytest.skip("concurrent requests need PostgreSQL (TEST_DATABASE_URL)")
    with shared_world(tmp_path, "atomic") as (app, world):
        yield app, world


def test_two_reviewers_deciding_one_visit_at_once_exactly_one_wins(shared_app):
    app, world = shared_app
    county, city = bearer(app, "county_a"), bearer(app, "city")
    for _ in range(5):
        visit_id = make_visit(world).id
        answers = race_requests(app, [
            lambda c,
            v=visit_id: c.post(f"/api/v1/bureau/visits/{v}/accept", headers=county, json={}),
            lambda c, v=visit_id: c.post(f"/api/v1/bureau/visits/{v}/rectification", headers=city,
                             json={"sanction": "criticism", "order_text": "整改"}),
        ])
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] in (200, 201) and statuses[1] == 409, answers
        loser = next(body for status, body in answers if status == 409)
        assert loser["code"] == "review.invalid_state"
        db.session.expire_all()
        assert len(review.visit_reviews(db.session.get(Visit, visit_id))) == 1
        assert db.session.query(Rectification).filter_by(visit_id=visit_id).count() <= 1


def test_approve_and_return_of_one_version_at_once_exactly_one_wins(shared_app):
    app, world = shared_app
    county = bearer(app, "county_a")
    version_id = world.versions["a"].id
    for _ in range(5):
        db.session.execute(text("UPDATE plan_version SET status = 'submitted' WHERE id = :id"),
                           {"id": version_id})
        db.session.commit()
        answers = race_requests(app, [
            lambda c: c.post(f"/api/v1/plan-versions/{version_id}/approve", headers=county,
                             json={}),
            lambda c: c.post(f"/api/v1/plan-versions/{version_id}/return", headers=county,
                             json={"comment": "请补充"}),
        ])
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] == 200 and statuses[1] == 409, answers
        assert next(body for status,
                    body in answers if status == 409)["code"] == "plan.invalid_transition"
        db.session.expire_all()
        assert db.session.get(PlanVersion, version_id).status in ("approved", "returned")


def test_two_reviewers_deciding_two_records_of_one_team_check_at_once_exactly_one_wins(
        shared_app):
    app, world = shared_app
    county, city = bearer(app, "county_a"), bearer(app, "city")
    for _ in range(5):
        lead = make_visit(world)
        linked = make_visit(world)
        linked.check_of_id = lead.id
        db.session.commit()
        answers = race_requests(app, [
            lambda c, v=lead.id: c.post(f"/api/v1/bureau/visits/{v}/accept", headers=city,
                                        json={}),
            lambda c, v=linked.id: c.post(f"/api/v1/bureau/visits/{v}/rectification",
                                          headers=county,
                                          json={"sanction": "criticism", "order_text": "整改"}),
        ])
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] in (200, 201) and statuses[1] == 409, answers
        assert next(body for status, body in answers if status == 409)["code"] \
            == "review.invalid_state"
        db.session.expire_all()
        records = [db.session.get(Visit, lead.id), db.session.get(Visit, linked.id)]
        assert sum(len(review.visit_reviews(v)) for v in records) == 1
        assert len({v.review_status for v in records}) == 1
        assert records[0].review_status in ("accepted", "rectification")
