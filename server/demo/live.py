"""A demo that is alive at any hour: a visit to make now, later today and tomorrow.

The filing demo's sessions run 08:30–11:30 and 14:00–17:00, so outside those hours a newcomer
could only make visits that come out "时间不符". `ensure_live_assignments(now)` makes sure that,
at the moment it runs, each demo inspector (the 奎文区 team `inspector` + `inspector2`, and the
city's covert inspector `covert`) has an assignment whose session is in progress now, one later
today (when the day has room for it) and one tomorrow, all at the live site whose geofence the
README names (潍坊市技师学院 理论教学楼).

Where the filed plan has no session at this hour, the demo files a change the way a base would:
a new plan version with an extra session (base `base` drafts and submits it, county `county`
approves it, city `city` records it, through the filing services), so the visit is judged
against a really filed plan.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Assignment,
    Occupation,
    PlanSession,
    PlanVersion,
    Site,
    TrainingBase,
    TrainingClass,
    User,
    assignment_inspector,
)
from server.services import filing
from server.services.assignments import create_assignment
from server.services.clock import to_local
from server.services.plan_versions import version_in_force

# The live class: 潍坊市技师学院's 数控车工 class, under way since eight days before the demo day.
LIVE_BASE = "潍坊市技师学院"
LIVE_OCCUPATION = "数控车工"
LIVE_SITE = "潍坊市技师学院理论教学楼"
# Who must find a visit to make: (username of the team's first member, the whole team).
LIVE_TEAMS = (("inspector", ("inspector", "inspector2")), ("covert", ("covert",)))
SESSION_LENGTH = timedelta(hours=3)
LAST_MINUTE = time(23, 59)


def live_site() -> Site | None:
    """The site of the live sessions, whose coordinates `make run` prints (None before the demo)."""
    return db.session.scalar(select(Site).where(Site.name == LIVE_SITE))


def _live_class() -> TrainingClass | None:
    return db.session.scalar(
        select(TrainingClass).join(TrainingBase).join(Occupation)
        .where(TrainingBase.name == LIVE_BASE, Occupation.name == LIVE_OCCUPATION)
        .order_by(TrainingClass.start_date.desc()))


def _window_now(local: datetime) -> tuple[time, time]:
    """A 3-hour session that began up to an hour ago on the half hour, ending by 23:59."""
    begun = local - timedelta(minutes=45)
    if begun.date() < local.date():
        start = time(0, 0)
    else:
        start = time(begun.hour, 0 if begun.minute < 30 else 30)
    end = (datetime.combine(local.date(), start) + SESSION_LENGTH).time()
    if end <= start:  # the session would cross midnight: it ends at 23:59
        end = LAST_MINUTE
    return start, end


def _window_later(after: time) -> tuple[time, time] | None:
    """A session half an hour after `after`, or None when the day has no room for one."""
    start_at = datetime.combine(date.min, after) + timedelta(minutes=30)
    if start_at.date() != date.min or start_at.time() > time(22, 30):
        return None
    end_at = start_at + SESSION_LENGTH
    end = end_at.time() if end_at.date() == date.min else LAST_MINUTE
    return start_at.time(), end


def _covers(session: PlanSession, day: date, moment: time) -> bool:
    return session.date == day and session.start_time <= moment < session.end_time


def _file_extra_sessions(klass: TrainingClass, version: PlanVersion,
                         windows: list[tuple[date, time, time]], now: datetime) -> PlanVersion:
    """File a new version with extra sessions the way a base would, and return it."""
    users = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_(["base", "county", "city"])))}
    template = next(s for s in version.sessions if s.category == "theory")
    draft = filing.start_version(users["base"], klass.id,
                                 "演示：增加当前时段的理论课次，便于随时体验抽查")
    site = live_site() or template.site
    for day, start, end in windows:
        filing.add_sessions(users["base"], draft.id, {
            "date": day, "start": start, "end": end, "category": "theory",
            "topic": f"{klass.occupation.name}专业理论 答疑课", "teacher_id": template.teacher_id,
            "site_id": site.id})
    filing.submit(users["base"], draft.id, now=now)
    filing.approve(users["county"], draft.id, "同意", now=now)
    filing.record(users["city"], draft.id, "", now=now)
    db.session.flush()
    return draft


def _has_assignment(team: list[User], session: PlanSession) -> bool:
    # By lineage: the same session in an earlier version of the plan is the same visit to make.
    return db.session.scalar(
        select(Assignment.id).join(assignment_inspector)
        .join(PlanSession, PlanSession.id == Assignment.session_id)
        .where(PlanSession.lineage_id == session.lineage_id,
               assignment_inspector.c.user_id == team[0].id).limit(1)) is not None


def ensure_live_assignments(now: datetime) -> list[Assignment]:
    """Give each demo inspector a session in progress now, one later today and one tomorrow.

    `now` is an aware datetime; the session times are local in the `TIMEZONE` setting.
    Returns the assignments made (none when they were all there already, or when the
    demo's live class is missing or not under way today).
    """
    local = to_local(now)
    today, moment = local.date(), local.time()
    klass = _live_class()
    version = version_in_force(klass.plan) if klass is not None else None
    if klass is None or version is None or not klass.start_date <= today < klass.end_date:
        return []
    sessions = sorted(version.sessions, key=lambda s: (s.date, s.start_time))
    current = next((s for s in sessions if _covers(s, today, moment)), None)
    later = next((s for s in sessions if s.date == today and s.start_time > moment), None)
    wanted: list[tuple[date, time, time]] = []
    if current is None:
        start, end = _window_now(local)
        wanted.append((today, start, end))
    if later is None:
        after = current.end_time if current is not None else wanted[0][2]
        window = _window_later(after)
        if window is not None:
            wanted.append((today, *window))
    if wanted:
        version = _file_extra_sessions(klass, version, wanted, now)
        sessions = sorted(version.sessions, key=lambda s: (s.date, s.start_time))
        current = next(s for s in sessions if _covers(s, today, moment))
        later = next((s for s in sessions if s.date == today and s.start_time > moment), None)
    tomorrow = next((s for s in sessions if s.date == today + timedelta(days=1)), None)
    made = []
    for _, usernames in LIVE_TEAMS:
        team = list(db.session.scalars(select(User).where(User.username.in_(usernames))
                                       .order_by(User.username)))
        if not team:
            continue
        for session in (current, later, tomorrow):
            if session is not None and not _has_assignment(team, session):
                made.append(create_assignment(klass.id, session.id, team))
    db.session.flush()
    return made
