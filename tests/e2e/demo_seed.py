"""Load the demo into DATABASE_URL as `make run` would, at a given moment; write what a test needs.

Usage: python -m tests.e2e.demo_seed OUT.json ISO-MOMENT
"""

from __future__ import annotations

import json
import sys
from datetime import datetime


def live_assignment(now: datetime) -> dict:
    """The team's (`inspector` + `inspector2`) assignment in progress at `now`: id and start."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import Assignment, User
    from server.services.clock import to_local

    local = to_local(now)
    inspector = db.session.scalar(select(User).where(User.username == "inspector"))
    for assignment in db.session.scalars(select(Assignment)):
        session = assignment.session
        if (inspector in assignment.inspectors and session.date == local.date()
                and session.start_time <= local.time() < session.end_time):
            return {"id": str(assignment.id), "start": session.start_time.strftime("%H:%M")}
    raise LookupError("no assignment in progress")


def main(out_path: str, moment: str) -> None:
    """Create the schema, load the demo at `moment` and write the live site and the moment."""
    from server import create_app
    from server.demo import live_site, load_demo_data
    from server.extensions import db

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    with app.app_context():
        db.create_all()
        load_demo_data(now=datetime.fromisoformat(moment))
        site = live_site()
        where = {"lat": site.lat, "lon": site.lon, "radius_m": site.radius_m}
        facts = {"now": moment, "sites": {"live": where, "a": where},
                 "live_assignment": live_assignment(datetime.fromisoformat(moment))}
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(facts, fh, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
