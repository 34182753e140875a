"""Demo data for `flask --app wsgi demo load` and `demo refresh`; never imported by the product
code.

The loaders run in this order, each on the same "today" so the demo hangs together: the
organisations, classes and filed plans first, then the bureau's year (draws, visits, reviews,
rectifications), then the assessment results, then the team's own assignments for the next three
days (skipping sessions the draw already gave it), and last the live assignments (a visit to make
now, later today and tomorrow, whatever the hour: `live.py`).
"""

from __future__ import annotations

from datetime import date, datetime

from server.demo.assessment import load_demo_assessments
from server.demo.bureau import load_demo_bureau
from server.demo.calendar import refresh_demo
from server.demo.data import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    assign_demo_inspections,
    load_demo_organisations,
)
from server.demo.live import ensure_live_assignments, live_site
from server.extensions import db
from server.models import Assignment, utcnow
from server.services.clock import local_instant, local_today, to_local

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "live_site", "load_demo_data", "refresh_demo_data"]


def load_demo_data(today: date | None = None, now: datetime | None = None) -> bool:
    """Load the whole demo into an empty database; return False if it is there already.

    `now` (aware; default: the current time) decides the live assignments; `today` (a local
    date; default: `now`'s date in the `TIMEZONE` setting) the demo's calendar. Either way,
    on return every demo inspector has an assignment in progress at `now` (when `today` is
    `now`'s date).
    """
    if now is None:
        # On `today` (if given) at the current time of day, so the live visit is "now" there.
        local = to_local(utcnow())
        now = local_instant(today or local.date(), local.time())
    today = today or local_today(now)
    if not load_demo_organisations(today):
        ensure_live_assignments(now)
        db.session.commit()
        return False
    for loader in (load_demo_bureau, load_demo_assessments, assign_demo_inspections):
        loader(today=today)
        db.session.commit()
    ensure_live_assignments(now)
    db.session.commit()
    return True


def refresh_demo_data(now: datetime | None = None) -> tuple[int, list[Assignment]]:
    """Move the demo calendar to `now`'s day if it is in the past, then make the live assignments.

    Returns (days moved, assignments made).
    """
    now = now or utcnow()
    days = refresh_demo(local_today(now))
    made = ensure_live_assignments(now)
    db.session.commit()
    return days, made
