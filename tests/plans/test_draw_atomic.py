"""Draws are atomic (R10, issue 11): a class is drawn once for overlapping periods of its county,
and of two draws made at the same moment (two admins, or the city and the county) exactly one
wins; the other gets 409 draw.already_drawn and no class gets two visits. The one-at-a-time tests
run on both engines; the threaded ones release real requests together, on PostgreSQL and on a
SQLite file (where a read before the first write takes no lock)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from server.errors import ApiError
from server.extensions import db
from server.models import Assignment, Draw, TrainingBase
from server.services.draw import draw_assignments, draw_visits, verify_draw
from tests.conftest import TEST_PASSWORD
from tests.factories import make_class, make_user
from tests.sync.fixtures import bearer, race_requests, shared_world


def _more_inspectors(world) -> None:
    for name in ("inspector_a2", "inspector_a3"):
        world.users[name] = make_user(name, "inspector", world.counties["a"])
    db.session.commit()


@pytest.fixture
def drawable(world):
    _more_inspectors(world)
    return world


def _days(first: int, last: int) -> tuple[date, date]:
    return date.today() + timedelta(days=first), date.today() + timedelta(days=last)


def _class_count(class_id) -> int:
    return db.session.scalar(select(func.count()).select_from(Assignment)
                             .where(Assignment.class_id == class_id))


def test_a_draw_over_a_period_the_county_already_drew_is_409(drawable):
    county = drawable.counties["a"]
    first = draw_visits(county, *_days(0, 10))
    db.session.commit()
    with pytest.raises(ApiError) as refused:
        draw_visits(county, *_days(5, 20), actor=drawable.users["city"])
    assert refused.value.status == 409 and refused.value.code == "draw.already_drawn"
    assert refused.value.details == {"draws": [str(first.id)]}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 1
    assert _class_count(drawable.classes["a"].id) == 1


def test_a_draw_another_request_just_committed_is_seen(drawable):
    """The check reads the database inside the lock, not what this session loaded before."""
    county = drawable.counties["a"]
    assert db.session.scalars(select(Draw).where(Draw.county_id == county.id)).all() == []
    # Another admin's draw, written behind this session's back.
    db.session.execute(Draw.__table__.insert().values(
        id=uuid.uuid4(), county_id=county.id, period_from=date.today(),
        period_to=date.today() + timedelta(days=3), seed_sha256="0" * 64, seed="s",
        class_list=[{"class_id": str(drawable.classes["a"].id), "sessions": []}],
        inspector_list=[], created_at=db.func.now()))
    with pytest.raises(ApiError) as refused:
        draw_visits(county, *_days(2, 9))
    assert refused.value.code == "draw.already_drawn"


def test_a_later_period_and_another_county_draw_again(drawable):
    county = drawable.counties["a"]
    draw_visits(county, *_days(0, 5))
    later = draw_visits(county, *_days(6, 12))  # the demo's way: one draw after another
    db.session.commit()
    assert len(draw_assignments(later)) == 1 and verify_draw(later)
    assert _class_count(drawable.classes["a"].id) == 2


def test_a_class_filed_after_the_draw_is_drawn_alone(drawable):
    county = drawable.counties["a"]
    first = draw_visits(county, *_days(0, 20))
    db.session.commit()
    base2 = TrainingBase(name="奎文区第二基地", county=county, quota=50)
    db.session.add(base2)
    klass, _ = make_class("a9", base2, drawable.occupation, drawable.sites["a"],
                          drawable.teachers["a_theory"], drawable.teachers["a_practical"],
                          date.today() + timedelta(days=5), [])
    db.session.commit()
    second = draw_visits(county, *_days(3, 20))
    db.session.commit()
    assert [e["class_id"] for e in second.class_list] == [str(klass.id)]
    assert [a.class_id for a in draw_assignments(second)] == [klass.id]
    assert _class_count(drawable.classes["a"].id) == 1
    assert verify_draw(first) and verify_draw(second)


def test_the_draw_form_says_why_rather_than_failing(drawable, client):
    assert client.post("/login", data={"username": "county_a",
                                       "password": TEST_PASSWORD}).status_code == 302
    start, end = _days(0, 10)
    form = {"period_from": start.isoformat(), "period_to": end.isoformat()}
    assert client.post("/bureau/draws", data=form).status_code == 302
    again = client.post("/bureau/draws", data=form, follow_redirects=True,
                        headers={"Referer": "http://localhost/bureau/draws"})
    assert again.status_code == 200
    assert "该期间的班次都已抽过签" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 1


def test_the_api_answers_409_and_documents_it(drawable, client, api):
    start, end = _days(0, 10)
    body = {"from": start.isoformat(), "to": end.isoformat()}
    made = client.post("/api/v1/bureau/draws", headers=api.headers("county_a"), json=body)
    assert made.status_code == 201
    again = client.post("/api/v1/bureau/draws", headers=api.headers("city"),
                        json={**body, "county_id": str(drawable.counties["a"].id)})
    assert again.status_code == 409 and again.get_json()["code"] == "draw.already_drawn"
    assert again.get_json()["details"] == {"draws": [made.get_json()["id"]]}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "409" in spec["paths"]["/api/v1/bureau/draws"]["post"]["responses"]


# --- real requests at the same moment ----------------------------------------------------------


@pytest.fixture
def shared_app(tmp_path, database_url):
    """An app on a database of its own that threads share (a file for SQLite)."""
    with shared_world(tmp_path, "draws") as (app, world):
        _more_inspectors(world)
        yield app, world


def test_the_city_and_the_county_drawing_at_once_exactly_one_wins(shared_app):
    app, world = shared_app
    county, city = bearer(app, "county_a"), bearer(app, "city")
    county_id = str(world.counties["a"].id)
    for round_ in range(5):
        # Each round its own days (a class is drawn once per period): overlapping periods.
        first, last = _days(3 * round_, 3 * round_ + 2)
        answers = race_requests(app, [
            lambda c, f=first, t=last: c.post("/api/v1/bureau/draws", headers=county, json={
                "from": f.isoformat(), "to": t.isoformat()}),
            lambda c, f=first, t=last: c.post("/api/v1/bureau/draws", headers=city, json={
                "from": (f + timedelta(days=1)).isoformat(), "to": t.isoformat(),
                "county_id": county_id}),
        ])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201, 409], answers
        loser = next(body for status, body in answers if status == 409)
        winner = next(body for status, body in answers if status == 201)
        assert loser["code"] == "draw.already_drawn"
        assert loser["details"] == {"draws": [winner["id"]]}
        db.session.expire_all()
        draws = db.session.scalars(select(Draw).where(Draw.period_to == last)).all()
        assert [str(d.id) for d in draws] == [winner["id"]]
        assignments = db.session.scalars(select(Assignment).where(
            Assignment.date >= first, Assignment.date <= last)).all()
        # The winner's visit only: the class is not drawn twice.
        assert [(str(a.draw_id), a.class_id) for a in assignments] == [
            (winner["id"], world.classes["a"].id)]
