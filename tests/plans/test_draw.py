"""The auditable random draw (R10): coverage of classes, determinism, verification, scope."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.errors import ApiError
from server.extensions import db
from server.models import Assignment, ChangeLog, Draw, TrainingBase, TrainingClass
from server.services.draw import (
    compute_picks,
    draw_assignments,
    draw_visits,
    itineraries,
    public_seed,
    sha256_hex,
    verify_draw,
)
from tests.factories import make_class, make_user


@pytest.fixture
def drawable(world):
    """The world plus two more inspectors in county A and a second class there."""
    a = world.counties["a"]
    world.users["inspector_a2"] = make_user("inspector_a2", "inspector", a)
    world.users["inspector_a3"] = make_user("inspector_a3", "inspector", a)
    base2 = TrainingBase(name="奎文区第二基地", county=a, quota=50)
    db.session.add(base2)
    klass, version = make_class("a2", base2, world.occupation, world.sites["a"],
                                world.teachers["a_theory"], world.teachers["a_practical"],
                                date.today() + timedelta(days=5), [])
    world.classes["a2"], world.versions["a2"] = klass, version
    db.session.commit()
    return world


def period(days_before: int = 0, days_after: int = 30) -> tuple[date, date]:
    return date.today() - timedelta(days=days_before), date.today() + timedelta(days=days_after)


def test_every_active_class_gets_a_visit_by_a_team_of_two(drawable):
    start, end = period()
    draw = draw_visits(drawable.counties["a"], start, end, actor=drawable.users["county_a"])
    db.session.commit()
    assignments = draw_assignments(draw)
    assert sorted(str(a.class_id) for a in assignments) == sorted(
        [str(drawable.classes["a"].id), str(drawable.classes["a2"].id)])
    county_a_inspectors = {drawable.users[k].id for k in ("inspector_a", "inspector_a2",
                                                          "inspector_a3")}
    for assignment in assignments:
        assert len(assignment.inspectors) == 2
        assert {u.id for u in assignment.inspectors} <= county_a_inspectors
        # A session not yet held, within the period, of this very class.
        assert start <= assignment.session.date <= end and assignment.session.date >= date.today()
        assert assignment.session.plan_version.plan.class_id == assignment.class_id
        assert assignment.draw_id == draw.id
    # County B's class is not drawn by county A.
    assert str(drawable.classes["b"].id) not in {e["class_id"] for e in draw.class_list}
    assert draw.seed_sha256 == sha256_hex(draw.seed)
    # Each inspector of a team gets the assignment through pull, nobody else.
    changes = db.session.scalars(
        select(ChangeLog).where(ChangeLog.entity_type == "assignment")).all()
    assert {(c.entity_id, c.user_id) for c in changes} == {
        (a.id, u.id) for a in assignments for u in a.inspectors}


def test_classes_outside_the_period_or_unfiled_are_not_drawn(drawable):
    drawable.versions["a2"].status = "submitted"
    db.session.commit()
    draw = draw_visits(drawable.counties["a"], *period(days_after=3))
    assert [e["class_id"] for e in draw.class_list] == [str(drawable.classes["a"].id)]


def test_same_seed_and_lists_give_the_same_draw(drawable):
    draw = draw_visits(drawable.counties["a"], *period(), seed="fixed-seed")
    first = compute_picks(draw.seed, draw.class_list, draw.inspector_list)
    again = compute_picks("fixed-seed", json.loads(json.dumps(draw.class_list)),
                          list(draw.inspector_list))
    assert first == again
    stored = sorted((str(a.class_id), str(a.session_id),
                     tuple(sorted(str(u.id) for u in a.inspectors)))
                    for a in draw_assignments(draw))
    assert stored == sorted((p.class_id, p.session_id, p.inspectors) for p in first)
    # Another seed gives another draw (over many classes the picks differ somewhere).
    many = [{"class_id": f"c{i:02d}",
             "sessions": [f"s{j:02d}" for j in range(30)]} for i in range(20)]
    pool = [f"i{k}" for k in range(6)]
    assert compute_picks("one", many, pool) == compute_picks("one", many, pool)
    assert compute_picks("one", many, pool) != compute_picks("two", many, pool)


def test_verify_passes_then_fails_on_changed_class_list_or_seed(drawable, runner):
    draw = draw_visits(drawable.counties["a"], *period())
    db.session.commit()
    assert verify_draw(draw)
    result = runner.invoke(args=["draw", "verify", str(draw.id)])
    assert result.exit_code == 0, result.output

    original = draw.class_list
    changed = [dict(e) for e in original]
    changed[0]["sessions"] = changed[0]["sessions"][:-1] or changed[0]["sessions"]
    changed.append({"class_id": str(drawable.classes["b"].id), "sessions": ["x"]})
    draw.class_list = changed
    db.session.commit()
    assert not verify_draw(draw)
    result = runner.invoke(args=["draw", "verify", str(draw.id)])
    assert result.exit_code != 0
    assert "class_list" in result.output

    draw.class_list = original
    draw.seed = "not-the-seed"
    db.session.commit()
    result = runner.invoke(args=["draw", "verify", str(draw.id)])
    assert result.exit_code != 0 and "seed" in result.output

    draw.seed_sha256 = sha256_hex("not-the-seed")  # even a matching hash: the commitment differs
    db.session.commit()
    assert not verify_draw(draw)


def test_verify_fails_when_an_assignment_was_changed(drawable):
    draw = draw_visits(drawable.counties["a"], *period())
    db.session.commit()
    assignment = draw_assignments(draw)[0]
    version = drawable.versions["a"] if assignment.class_id == drawable.classes["a"].id \
        else drawable.versions["a2"]
    other = next(s for s in version.sessions if s.id != assignment.session_id)
    assignment.session_id = other.id
    db.session.commit()
    assert not verify_draw(draw)


def test_draw_run_cli_prints_json(drawable, runner):
    start, end = period()
    result = runner.invoke(args=["draw", "run", "--county", "奎文区", "--from", start.isoformat(),
                                 "--to", end.isoformat()])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"draw_id", "seed_sha256", "assignments"}
    assert out["assignments"] == 2
    draw = db.session.get(Draw, __import__("uuid").UUID(out["draw_id"]))
    assert draw.seed_sha256 == out["seed_sha256"]
    assert runner.invoke(args=["draw", "verify", out["draw_id"]]).exit_code == 0


def test_draw_run_refuses_a_county_with_one_inspector(world, runner):
    start, end = period()
    result = runner.invoke(args=["draw", "run", "--county", "寿光市", "--from", start.isoformat(),
                                 "--to", end.isoformat()])
    assert result.exit_code != 0
    assert "draw.not_enough_inspectors" in result.output
    assert db.session.scalar(select(Draw)) is None
    assert db.session.scalar(select(Assignment)) is None


def test_seed_is_revealed_only_after_the_period(drawable):
    start, end = period()
    draw = draw_visits(drawable.counties["a"], start, end)
    assert public_seed(draw, today=end) is None
    assert public_seed(draw, today=end + timedelta(days=1)) == draw.seed


def test_itineraries_order_a_days_sites_by_distance(drawable):
    draw = draw_visits(drawable.counties["a"], *period())
    plans = itineraries(draw_assignments(draw))
    assert sum(len(p["stops"]) for p in plans) == 2
    for plan in plans:
        assert plan["stops"][0]["km_from_previous"] == 0
        assert plan["total_km"] == pytest.approx(sum(s["km_from_previous"] for s in plan["stops"]))


def test_itinerary_goes_to_the_nearest_site_next(drawable):
    """Three classes on one day, same team: the route visits the nearest site first."""
    from datetime import time

    from server.models import Site

    a = drawable.counties["a"]
    base = drawable.classes["a2"].base
    far = Site(base=base, name="远", address="远", lat=36.95, lon=119.16)
    near = Site(base=base, name="近", address="近", lat=36.72, lon=119.16)
    db.session.add_all([far, near])
    day = date.today() + timedelta(days=2)
    team = [drawable.users["inspector_a"], drawable.users["inspector_a2"]]
    assignments = []
    for site, hour in [(drawable.sites["a"], 8), (far, 9), (near, 10)]:
        klass, version = make_class(f"it{hour}", base, drawable.occupation, site,
                                    drawable.teachers["a_theory"], drawable.teachers["a_practical"],
                                    day, [])
        session = version.sessions[0]
        session.start_time = time(hour, 0)
        db.session.flush()
        assignments.append(Assignment(class_id=klass.id, session_id=session.id, date=day,
                                      inspectors=team, training_class=klass, session=session))
    db.session.add_all(assignments)
    db.session.flush()
    (plan,) = itineraries(assignments)
    assert [s["site"].name for s in plan["stops"]] == [drawable.sites["a"].name, "近", "远"]
    assert plan["stops"][1]["km_from_previous"] == pytest.approx(1.40, abs=0.05)
    assert a.name == "奎文区"


def test_base_staff_and_other_counties_cannot_see_draws(drawable, client, api):
    draw = draw_visits(drawable.counties["a"], *period())
    db.session.commit()
    assert client.get("/api/v1/bureau/draws", headers=api.headers("base_a")).status_code == 403
    assert client.get(f"/api/v1/bureau/draws/{draw.id}",
                      headers=api.headers("base_a")).status_code == 403
    assert client.get("/api/v1/bureau/assignments",
                      headers=api.headers("base_a")).status_code == 403
    response = client.get(f"/api/v1/bureau/draws/{draw.id}", headers=api.headers("county_b"))
    assert response.status_code == 404
    listing = client.get("/api/v1/bureau/draws", headers=api.headers("county_b")).get_json()
    assert listing["items"] == []
    mine = client.get(f"/api/v1/bureau/draws/{draw.id}", headers=api.headers("county_a")).get_json()
    assert mine["seed_sha256"] == draw.seed_sha256 and mine["seed"] is None
    assert len(mine["assignments"]) == 2
    assert client.get(f"/api/v1/bureau/draws/{draw.id}",
                      headers=api.headers("city")).status_code == 200


def test_draw_over_the_api_and_bad_input(drawable, client, api):
    headers = api.headers("county_a")
    start, end = period()
    bad = client.post("/api/v1/bureau/draws", headers=headers,
                      json={"from": end.isoformat(), "to": start.isoformat()})
    assert bad.status_code == 422 and bad.get_json()["code"] == "validation_error"
    unknown = client.post("/api/v1/bureau/draws", headers=headers,
                          json={"from": start.isoformat(), "to": end.isoformat(), "x": 1})
    assert unknown.status_code == 422
    assert db.session.scalar(select(Draw)) is None
    made = client.post("/api/v1/bureau/draws", headers=headers,
                       json={"from": start.isoformat(), "to": end.isoformat()})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert len(body["assignments"]) == 2
    verified = client.get(f"/api/v1/bureau/draws/{body['id']}/verify", headers=headers).get_json()
    assert verified == {"verified": True, "problems": []}
    # The city admin draws for a county it names; a county admin cannot draw for another county.
    other = client.post("/api/v1/bureau/draws", headers=api.headers("county_b"),
                        json={"from": start.isoformat(), "to": end.isoformat(),
                              "county_id": str(drawable.counties["a"].id)})
    assert other.status_code == 403


@pytest.mark.parametrize("bounds", [
    (0, "9999-12-31"), (0, "2101-01-01"), ("0001-01-01", 30), (0, 366),
], ids=["to-year-9999", "to-after-2100", "from-year-1", "367-days"])
def test_a_draw_period_past_real_years_or_longer_than_a_year_is_refused(drawable, client, api,
                                                                         bounds):
    today = date.today()
    start, end = ((today + timedelta(days=b)).isoformat() if isinstance(b, int) else b
                  for b in bounds)
    response = client.post("/api/v1/bureau/draws", headers=api.headers("county_a"),
                           json={"from": start, "to": end})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert db.session.scalar(select(Draw)) is None


def test_a_draw_of_366_days_is_made_and_one_longer_refused_on_every_path(drawable, runner):
    start = date.today()
    with pytest.raises(ApiError) as refused:
        draw_visits(drawable.counties["a"], start, start + timedelta(days=366))
    assert refused.value.code == "validation_error" and "to" in refused.value.errors
    result = runner.invoke(args=["draw", "run", "--county", drawable.counties["a"].name,
                                 "--from", start.isoformat(), "--to", "9999-12-31"])
    assert result.exit_code == 2 and "validation_error" in result.output
    assert draw_visits(drawable.counties["a"], start, start + timedelta(days=365)) is not None


def test_base_staff_pages_hide_draws(drawable, client):
    from tests.conftest import TEST_PASSWORD

    draw = draw_visits(drawable.counties["a"], *period())
    db.session.commit()
    client.post("/login", data={"username": "base_a", "password": TEST_PASSWORD})
    assert client.get("/bureau/draws").status_code == 403
    assert client.get(f"/bureau/draws/{draw.id}").status_code == 403
    client.post("/logout")
    client.post("/login", data={"username": "county_b", "password": TEST_PASSWORD})
    assert client.get(f"/bureau/draws/{draw.id}").status_code == 404
    assert str(draw.id) not in client.get("/bureau/draws").get_data(as_text=True)
    client.post("/logout")
    client.post("/login", data={"username": "county_a", "password": TEST_PASSWORD})
    page = client.get(f"/bureau/draws/{draw.id}").get_data(as_text=True)
    assert draw.seed_sha256 in page and draw.seed not in page


def test_revoked_base_classes_are_not_drawn(drawable):
    drawable.classes["a2"].base.status = "revoked"
    db.session.commit()
    draw = draw_visits(drawable.counties["a"], *period())
    assert [e["class_id"] for e in draw.class_list] == [str(drawable.classes["a"].id)]
    assert db.session.scalar(
        select(TrainingClass).where(TrainingClass.id == drawable.classes["a2"].id))
