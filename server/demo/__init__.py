"""Demo data for `flask --app wsgi demo load`; never imported by the product code.

The loaders run in this order, each on the same "today" so the demo hangs together: the
organisations, classes and filed plans first, then the bureau's year (draws, visits, reviews,
rectifications), then the assessment results.
"""

from __future__ import annotations

from datetime import date

from server.demo.assessment import load_demo_assessments
from server.demo.bureau import load_demo_bureau
from server.demo.data import DEMO_LOGINS, DEMO_PASSWORD, load_demo_organisations
from server.extensions import db

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "load_demo_data"]


def load_demo_data(today: date | None = None) -> bool:
    """Load the whole demo into an empty database; return False (and change nothing) if it is there."""
    today = today or date.today()
    if not load_demo_organisations(today):
        return False
    for loader in (load_demo_bureau, load_demo_assessments):
        loader(today=today)
        db.session.commit()
    return True
