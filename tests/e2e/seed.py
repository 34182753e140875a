"""Seed a database for browser tests: the test world, pull-visible plans, an assignment for today.

Run as `python -m tests.e2e.seed OUT.json` with DATABASE_URL (and MEDIA_DIR) in the environment;
writes the ids and coordinates the tests need to OUT.json.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _window_around(now_local: datetime) -> tuple[time, time]:
    """Return a session window of about four hours around now, kept within the day."""
    start = now_local - timedelta(hours=2)
    end = now_local + timedelta(hours=2)
    start_t = time(0, 0) if start.date() < now_local.date() else start.time().replace(second=0,
                                                                                      microsecond=0)
    end_t = time(23, 59) if end.date() > now_local.date() else end.time().replace(second=0,
                                                                                  microsecond=0)
    return start_t, end_t


def seed_world(now: datetime | None = None) -> dict:
    """Build the test world, move today's sessions around now, publish plans, assign inspector_a."""
    from server.extensions import db
    from server.services.assignments import create_assignment
    from server.services.changes import publish_plan_version
    from tests.factories import build_world

    now_local = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    today = now_local.date()
    world = build_world(start=today - timedelta(days=3))
    start_t, end_t = _window_around(now_local)
    sessions = {}
    for key in ("a", "b"):
        session = next(s for s in world.versions[key].sessions if s.date == today)
        session.start_time, session.end_time = start_t, end_t
        sessions[key] = session
        publish_plan_version(world.versions[key])
    db.session.flush()
    assignment = create_assignment(world.classes["a"].id, sessions["a"].id,
                                   [world.users["inspector_a"]])
    db.session.commit()
    return {
        "today": today.isoformat(),
        "assignment_id": str(assignment.id),
        "classes": {k: str(c.id) for k, c in world.classes.items()},
        "versions": {k: str(v.id) for k, v in world.versions.items()},
        "sessions": {k: str(s.id) for k, s in sessions.items()},
        "sites": {k: {"id": str(s.id), "lat": s.lat, "lon": s.lon, "radius_m": s.radius_m}
                  for k, s in world.sites.items()},
        "roster": {k: [str(e.trainee_id) for e in v.enrollments] for k,
                   v in world.versions.items()},
        "users": {k: str(u.id) for k, u in world.users.items()},
    }


def main(out_path: str) -> None:
    """Create the schema in DATABASE_URL, seed it and write the seed facts to out_path."""
    from server import create_app
    from server.extensions import db

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    with app.app_context():
        db.create_all()
        facts = seed_world()
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(facts, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
