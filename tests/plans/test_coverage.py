"""Coverage per county and for the city, and the year's deadlines (R10, R11, R13)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from server.extensions import db
from server.models import TrainingBase
from server.services.clock import local_today
from server.services.coverage import compute_coverage, compute_deadlines
from server.services.review import VisitFilters, list_visits
from tests.documents.support import make_visit
from tests.factories import make_class
from tests.sync.client import session_start, visit_payload
from tests.sync.fixtures import phone, publish_world, today_session


def add_class(world, key: str, county: str, start: date, status: str = "recorded"):
    base = TrainingBase(name=f"{key}基地", county=world.counties[county], quota=10)
    db.session.add(base)
    klass, _ = make_class(key, base, world.occupation, world.sites[county],
                          world.teachers[f"{county}_theory"], world.teachers[f"{county}_practical"],
                          start, [], status=status)
    db.session.commit()
    return klass


def push_visit(client, world, key: str, username: str, **kwargs) -> None:
    """Push a visit of today's session with every trainee of the class signed in."""
    device = phone(client, username, f"phone-{username}-{key}")
    visit_id = uuid.uuid4()
    session = today_session(world, key)
    during = session_start(session.date, session.start_time) + timedelta(minutes=35)
    signins = [device.add_signin(visit_id=visit_id, class_id=world.classes[key].id,
                                 trainee_id=t.id, at=during)["entity_id"]
               for t in world.trainees if t.name.startswith(key)]
    payload = visit_payload(class_id=world.classes[key].id, session=today_session(world, key),
                            plan_version_id=world.versions[key].id, site=world.sites[key],
                            signins=signins, **kwargs)
    device.add_visit(payload, visit_id=visit_id)
    assert device.push()[0] == 200


def test_coverage_counts_classes_visits_and_issues(client, world):
    publish_world(world)
    today = local_today()
    # A class not yet visited, of the same year as the world's (whatever today is).
    late = add_class(world, "a3", "a", world.classes["a"].start_date + timedelta(days=1))
    add_class(world, "draft", "a", today, status="draft")  # not filed: not counted
    push_visit(client, world, "a", "inspector_a", teacher_matches=False, verdict="issues")
    push_visit(client, world, "b", "inspector_b")
    # The year the classes start in, the year they are of (plan_versions.year_classes).
    year = late.start_date.year

    city = compute_coverage(world.users["city"], year=year, today=today)
    figures = {c.county.name: (c.total, c.visited, c.visits, c.visits_with_issues)
               for c in city.counties}
    assert figures == {"奎文区": (2, 1, 1, 1), "寿光市": (1, 1, 1, 0)}
    assert (city.total, city.visited, city.visits_with_issues) == (3, 2, 1)
    (county_a,) = [c for c in city.counties if c.county.name == "奎文区"]
    (waiting,) = county_a.not_visited
    assert waiting.training_class.id == late.id
    assert waiting.days_left == (late.end_date - today).days

    own = compute_coverage(world.users["county_a"], year=year, today=today)
    assert [c.county.name for c in own.counties] == ["奎文区"]
    assert (own.total, own.visited) == (2, 1)


def test_a_countys_visits_and_issues_are_the_rows_of_the_visit_list_across_the_new_year(world):
    # A check of county a's class made on 1 January of the next year, with a teammate's record,
    # and a clean visit: the class counts for the year it runs in, its check once.
    first = make_visit(world, "a")
    year = world.classes["a"].start_date.year
    new_year = datetime(year + 1, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    first.started_at, first.ended_at = new_year, new_year + timedelta(minutes=50)
    make_visit(world, "a").check_of_id = first.id
    make_visit(world, "a", mismatch=False)
    db.session.commit()
    city = world.users["city"]
    for shown_in in (year, year + 1):
        for county in compute_coverage(city, year=shown_in).counties:
            listed = VisitFilters(county_id=county.county.id, class_year=shown_in)
            assert county.visits == len(list_visits(city, listed))
            listed.issues = True
            assert county.visits_with_issues == len(list_visits(city, listed))
            assert county.visited == len(county.visited_classes)
    (county_a,) = [c for c in compute_coverage(city, year=year).counties
                   if c.county.id == world.counties["a"].id]
    assert (county_a.visited, county_a.visits, county_a.visits_with_issues) == (1, 2, 1)
    assert [c.training_class.id for c in county_a.visited_classes] == [world.classes["a"].id]


def test_a_revoked_base_s_classes_await_no_visit_but_keep_theirs(client, api, world):
    # The draw skipped a revoked base (R15) while coverage and the deadlines kept its classes
    # under 未抽查 for ever; and its staff could still file. One rule: base_status.
    publish_world(world)
    today = local_today()
    # A class not yet visited, of the same year as the world's (whatever today is).
    late = add_class(world, "a3", "a", world.classes["a"].start_date + timedelta(days=1))
    push_visit(client, world, "a", "inspector_a")
    year = late.start_date.year
    county = world.users["county_a"]
    before = compute_coverage(county, year=year, today=today)
    assert (before.total, before.visited) == (2, 1)
    revoked = late.base
    revoked.status = "revoked"
    visited_base = world.classes["a"].base
    db.session.commit()
    after = compute_coverage(county, year=year, today=today)
    assert (after.total, after.visited) == (1, 1)  # the late class no longer awaits a visit
    assessment, _ = compute_deadlines(county, year=year, today=today)
    assert assessment.missing["classes_not_visited"] == 0
    visited_base.status = "revoked"  # a class visited before its base was revoked still counts
    db.session.commit()
    assert (compute_coverage(county, year=year, today=today).visited, ) == (1, )
    refused = client.post(f"/api/v1/classes/{world.classes['a'].id}/plan-versions",
                          headers=api.headers("base_a"), json={"reason": "更换教师"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "base.revoked"
    from server.services.draw import active_classes

    assert active_classes(world.counties["a"].id, today, today + timedelta(days=60)) == []


def test_coverage_of_another_year_is_empty(world):
    assert compute_coverage(world.users["city"], year=2001).total == 0


def test_deadlines_say_what_is_missing(client, world):
    publish_world(world)
    push_visit(client, world, "a", "inspector_a")
    today = date(date.today().year, 12, 1)
    assessment, report = compute_deadlines(world.users["county_a"], today=today)
    assert (assessment.due, assessment.days_left) == (date(today.year, 12, 31), 30)
    assert (report.due, report.days_left) == (date(today.year + 1, 1, 10), 40)
    assert assessment.missing == {"classes_not_assessed": 1, "classes_not_visited": 0}
    assert report.missing["visits_pending_review"] == 1
    assert report.missing["rectifications_open"] == 0
    assert not report.complete


def test_coverage_api_and_dashboard(client, api, world):
    publish_world(world)
    push_visit(client, world, "a", "inspector_a")
    body = client.get("/api/v1/bureau/coverage", headers=api.headers("county_b")).get_json()
    assert [c["county"] for c in body["counties"]] == ["寿光市"]
    assert (body["classes"], body["visited"]) == (1, 0)
    assert body["counties"][0]["not_visited"][0]["name"] == world.classes["b"].name
    assert [d["key"] for d in body["deadlines"]] == ["assessment", "report"]
    bad = client.get("/api/v1/bureau/coverage?year=abc", headers=api.headers("city"))
    assert bad.status_code == 422
    from tests.conftest import TEST_PASSWORD

    client.post("/login", data={"username": "city", "password": TEST_PASSWORD})
    page = client.get("/bureau/").get_data(as_text=True)
    assert page.count('data-testid="county-row"') == 2
    assert "<svg class=\"bar\"" in page and "style=" not in page


def test_demo_shows_a_year_in_progress(app):
    """The demo has drawn assignments, compliant and flagged visits and an open rectification."""
    from sqlalchemy import select

    from server.demo import load_demo_data
    from server.models import Assignment, Draw, Rectification, User, Visit
    from server.services.draw import verify_draw

    today = date(2026, 3, 2)
    assert load_demo_data(today)
    draws = db.session.scalars(select(Draw)).all()
    assert len(draws) == 4 and all(verify_draw(d) for d in draws)
    assert sum(1 for d in draws if d.period_to < today) == 3
    visits = db.session.scalars(select(Visit)).all()
    assert {v.verdict for v in visits} == {"compliant", "issues"}
    assert db.session.scalar(select(Assignment).where(Assignment.draw_id.is_not(None),
                                                      Assignment.status == "open")) is not None
    (rectification,) = db.session.scalars(select(Rectification)).all()
    assert rectification.status == "open" and rectification.deadline == today + timedelta(days=14)
    city = db.session.scalar(select(User).where(User.username == "city"))
    coverage = compute_coverage(city, today=today)
    assert coverage.visited == len({v.class_id
                                    for v in visits}) and coverage.visits_with_issues >= 1


def test_a_base_s_documents_name_the_classes_its_dashboard_row_counts(client, world):
    # Two definitions of "the classes of a year": the documents took every class starting in
    # it, filed or not, the dashboard those with a filed plan running in it; a December class
    # ending in January sat on the next year's row beside files that left it out.
    from server.services.coverage import base_rows
    from server.services.documents.subsidy import subsidy_summary

    publish_world(world)
    klass = world.classes["a"]
    year = klass.start_date.year
    december = add_class(world, "dec", "a", date(year, 12, 20))
    december.end_date = date(year + 1, 1, 15)
    draft = add_class(world, "draft", "a", date(year, 3, 1), status="draft")  # never filed
    db.session.commit()
    city = world.users["city"]
    for shown_in in (year, year + 1):
        rows = {row.base.id: row.classes for row in base_rows(city, shown_in)}
        for base in (klass.base, december.base, draft.base):
            listed = [c["class_name"] for c in subsidy_summary(base, shown_in)["classes"]]
            assert rows.get(base.id, 0) == len(listed), (shown_in, base.name, listed)
    assert [c["class_name"] for c in subsidy_summary(december.base, year)["classes"]] == [
        december.name]
