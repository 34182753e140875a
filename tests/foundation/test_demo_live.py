"""A demo that is alive at any hour: `demo load` and `demo refresh` leave a visit to make now."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from server.demo import live_site, load_demo_data, refresh_demo_data
from server.demo.calendar import demo_day
from server.extensions import db
from server.models import Assignment, PlanSession, TrainingClass, User, Visit
from sync.canonical import seal_matches

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)


@pytest.fixture
def app_config():
    return {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"}


def assignments_of(username: str) -> list[Assignment]:
    user = db.session.scalar(select(User).where(User.username == username))
    return [a for a in db.session.scalars(select(Assignment)) if user in a.inspectors]


def in_progress(username: str, at: datetime) -> list[PlanSession]:
    local = at.astimezone(SHANGHAI)
    return [a.session for a in assignments_of(username)
            if a.session.date == local.date()
            and a.session.start_time <= local.time() < a.session.end_time]


@pytest.mark.parametrize("hour, minute", [(3, 0), (12, 0), (23, 30)])
def test_every_demo_inspector_has_a_session_in_progress_at_any_hour(app, hour, minute):
    now = datetime(2026, 3, 2, hour, minute, tzinfo=SHANGHAI)
    assert load_demo_data(now=now) is True
    for username in ("inspector", "inspector2", "covert"):
        current = in_progress(username, now)
        assert current, f"{username} has nothing to visit at {hour:02d}:{minute:02d}"
        assert current[0].site == live_site()
        assert current[0].plan_version.status == "recorded"  # a really filed plan
        tomorrow = [a for a in assignments_of(username) if a.date == DAY + timedelta(days=1)]
        assert tomorrow, f"{username} has nothing to visit tomorrow"
    later = [a for a in assignments_of("inspector")
             if a.date == DAY and a.session.start_time > now.time()]
    # 23:30 leaves no room for a later session the same day; the other hours do.
    assert bool(later) == (hour < 22)


def test_each_session_is_assigned_once_per_team(app):
    now = datetime(2026, 3, 2, 19, 13, tzinfo=SHANGHAI)
    load_demo_data(now=now)
    before = len(assignments_of("inspector"))
    assert load_demo_data(now=now + timedelta(minutes=20)) is False  # an existing demo
    assert len(assignments_of("inspector")) == before
    lineages = [a.session.lineage_id for a in assignments_of("inspector")]
    assert len(lineages) == len(set(lineages))


def test_an_existing_demo_gets_a_session_in_progress_at_a_later_hour(app):
    load_demo_data(now=datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    evening = datetime(2026, 3, 2, 20, 45, tzinfo=SHANGHAI)
    assert not in_progress("inspector", evening)
    assert load_demo_data(now=evening) is False
    assert in_progress("inspector", evening)


def test_refresh_moves_a_demo_loaded_yesterday_to_today(app):
    yesterday = datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)
    load_demo_data(now=yesterday)
    classes = {k.id: (k.start_date, k.end_date) for k in db.session.scalars(select(TrainingClass))}
    demo_visits = {v.id: v.started_at for v in db.session.scalars(select(Visit))}
    assert demo_visits
    # Someone's own class, made after the demo: not demo data, never moved.
    own = TrainingClass(base=db.session.get(TrainingClass, next(iter(classes))).base,
                        occupation=db.session.get(TrainingClass, next(iter(classes))).occupation,
                        level=2, name="自建班", start_date=date(2026, 3, 10),
                        end_date=date(2026, 4, 10))
    db.session.add(own)
    db.session.commit()

    today = datetime(2026, 3, 2, 23, 30, tzinfo=SHANGHAI)
    days, made = refresh_demo_data(now=today)

    assert days == 1 and demo_day() == today.date()
    for klass_id, (start, end) in classes.items():
        klass = db.session.get(TrainingClass, klass_id)
        assert (klass.start_date, klass.end_date) == (start + timedelta(days=1),
                                                      end + timedelta(days=1))
    assert (own.start_date, own.end_date) == (date(2026, 3, 10), date(2026, 4, 10))
    for visit_id, started in demo_visits.items():
        visit = db.session.get(Visit, visit_id)
        assert visit.started_at == started + timedelta(days=1)
        assert seal_matches(visit.payload) and visit.seal == visit.payload["seal"]
    assert made and in_progress("inspector", today)
    assert refresh_demo_data(now=today) == (0, [])  # a current demo is left as it is


def test_cli_refresh_and_logins_name_the_start_pages_and_the_place(app):
    load_demo_data(now=datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI))
    runner = app.test_cli_runner()
    out = runner.invoke(args=["demo", "logins"]).output
    site = live_site()
    assert "/app/" in out and "/bureau/" in out and "/filing/" in out
    assert f"latitude {site.lat}, longitude {site.lon}" in out
    refreshed = runner.invoke(args=["demo", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert isinstance(CliRunner, type)
