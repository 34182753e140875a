"""A person on two bases' filed rosters in one year is flagged to the city only (R7).

Raised once, when the second base submits (its roster freezes then, and the city's re-check comes
after); compared by the keyed hash of the ID number. Neither base, nor a county, sees the flag or
learns the other base's name from it.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, CrossBaseFlag, PlanVersion
from server.services.filed_roster import raise_cross_base_flags
from tests.plans.filing_support import Filing, trainee_row
from tests.plans.test_filing_web import login, page


@pytest.fixture
def flow(client, api, world):
    return Filing(client, api, world)


def _flags() -> int:
    return db.session.scalar(select(func.count()).select_from(CrossBaseFlag))


def _file(flow: Filing, user: str, key: str, serials: list[int], **row) -> str:
    _, vid = flow.filled_draft(user, key)
    r = flow.call("put", f"/plan-versions/{vid}/roster", user,
                  json={"trainees": [trainee_row(s, **row) for s in serials]})
    assert r.status_code == 200, r.get_json()
    submitted = flow.call("post", f"/plan-versions/{vid}/submit", user)
    assert submitted.status_code == 200, submitted.get_json()
    return vid


def test_the_second_base_filing_a_person_flags_it_to_the_city_once(flow, client):
    world = flow.world
    base_a, base_b = world.bases["a"].name, world.bases["b"].name
    a = _file(flow, "base_a", "a", [800, 801])
    assert _flags() == 0  # one base alone is nobody's business
    b = _file(flow, "base_b", "b", [801, 802], name="乙基地写的名字", employer="乙基地单位")
    assert _flags() == 1
    flag = db.session.scalar(select(CrossBaseFlag))
    assert flag.raised_by_version_id == uuid.UUID(b)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "trainee.cross_base")) == 1

    # The city sees it on both versions, with both rosters, as each base filed the person.
    for vid in (a, b):
        view = flow.call("get", f"/plan-versions/{vid}", "city").get_json()
        (shown,) = view["cross_base_flags"]
        assert shown["code"] == "trainee.cross_base"
        assert {r["base"] for r in shown["rosters"]} == {base_a, base_b}
        assert {r["name"] for r in shown["rosters"]} == {"学员801", "乙基地写的名字"}
    login(client, "city")
    html = page(client, f"/filing/versions/{b}")
    assert "同一学员出现在多个基地的名册中" in html and base_a in html

    # Neither base, nor either county, sees a flag or the other base.
    for user, vid, other in (("base_a", a, base_b), ("base_b", b, base_a),
                             ("county_a", a, base_b), ("county_b", b, base_a)):
        response = flow.call("get", f"/plan-versions/{vid}", user)
        assert response.get_json()["cross_base_flags"] == []
        assert other not in response.get_data(as_text=True)
        roster = flow.call("get", f"/plan-versions/{vid}/roster", user).get_data(as_text=True)
        assert other not in roster
    client.post("/logout")
    for user, vid, other in (("base_b", b, base_a), ("county_b", b, base_a)):
        login(client, user)
        html = page(client, f"/filing/versions/{vid}")
        assert other not in html and "同一学员出现在多个基地的名册中" not in html
        client.post("/logout")


def test_the_flag_is_raised_once_however_often_the_person_is_filed(flow):
    a = _file(flow, "base_a", "a", [810])
    b = _file(flow, "base_b", "b", [810])
    assert _flags() == 1
    # Submitting again (a new version of b's class) and re-running the rule raise nothing new.
    assert flow.call("post", f"/plan-versions/{b}/approve", "county_b",
                     json={"comment": ""}).status_code == 200
    klass = db.session.get(PlanVersion, uuid.UUID(b)).plan.class_id
    r = flow.call("post", f"/classes/{klass}/plan-versions", "base_b", json={"reason": "调课"})
    assert r.status_code == 201, r.get_json()
    again = r.get_json()["id"]
    assert flow.call("post", f"/plan-versions/{again}/submit", "base_b").status_code == 200
    assert raise_cross_base_flags(db.session.get(PlanVersion, uuid.UUID(a))) == []
    assert _flags() == 1


def test_the_city_queue_marks_a_flagged_version(flow, client):
    _file(flow, "base_a", "a", [820])
    b = _file(flow, "base_b", "b", [820])
    assert flow.call("post", f"/plan-versions/{b}/approve", "county_b",
                     json={"comment": ""}).status_code == 200
    login(client, "city")
    assert 'data-testid="cross-base-flagged"' in page(client, "/filing/queue")
    client.post("/logout")
    login(client, "county_b")
    assert 'data-testid="cross-base-flagged"' not in page(client, "/filing/queue")


def test_different_people_and_unfiled_drafts_raise_nothing(flow):
    _file(flow, "base_a", "a", [830])
    _file(flow, "base_b", "b", [831])
    _, draft = flow.filled_draft("base_b", "b")  # names 700..702, never submitted
    flow.call("put", f"/plan-versions/{draft}/roster", "base_b",
              json={"trainees": [trainee_row(830)]})
    assert _flags() == 0
