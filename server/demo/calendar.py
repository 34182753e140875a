"""`demo refresh`: move the demo's calendar to today, leaving everything else as it is.

The demo is dated relative to the day it was loaded (its "demo day", read back from its
classes). Days later, its classes would be over and its assignments in the past. Refreshing
shifts every date and time of the demo's own records by the same whole number of days: the
demo classes, their plan versions and sessions, their assignments and draws, the visits and
sign-ins the demo loader pushed (re-sealed through the one seal function, since their times
are part of what was sealed), reviews, rectifications and assessment results.

Not demo data, and so never touched: classes, plans and users created afterwards, and every
visit or sign-in a real phone pushed (its device id does not start with `demo-`): evidence
is never rewritten.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Date, DateTime, TypeDecorator, select

from server.demo.data import CLASSES
from server.extensions import db
from server.models import (
    AssessmentResult,
    Assignment,
    AuditEvent,
    Draw,
    Rectification,
    SignIn,
    TrainingClass,
    Visit,
    VisitReview,
)
from server.services.audit import audit
from server.services.changes import publish_assignment, publish_plan_version
from server.services.plan_versions import version_in_force
from sync.canonical import compute_seal

DEMO_DEVICE_PREFIX = "demo-"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def demo_classes() -> list[TrainingClass]:
    """The classes the demo loader made, in `CLASSES` order, as its `demo.load` event names them."""
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demo.load")
                              .order_by(AuditEvent.at.desc()).limit(1))
    ids = [uuid.UUID(i) for i in (event.details or {}).get("class_ids", [])] if event else []
    found = [db.session.get(TrainingClass, i) for i in ids]
    return [k for k in found if k is not None]


def demo_day() -> date | None:
    """The day the demo was loaded for (or last refreshed to), read back from its first class."""
    classes = demo_classes()
    if not classes:
        return None
    return classes[0].start_date - timedelta(days=CLASSES[0][3])


def _shift_text(value: str, days: int) -> str:
    if _DATE.match(value):
        return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    if _DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        shifted = (moment + timedelta(days=days)).isoformat()
        return shifted.replace("+00:00", "Z") if value.endswith("Z") else shifted
    return value


def _shift_json(value: Any, days: int) -> Any:
    if isinstance(value, str):
        return _shift_text(value, days)
    if isinstance(value, list):
        return [_shift_json(v, days) for v in value]
    if isinstance(value, dict):
        return {k: _shift_json(v, days) for k, v in value.items()}
    return value


def _shift_row(row: Any, days: int) -> None:
    """Shift every date, datetime and ISO string in JSON of one row by `days` days."""
    for column in row.__table__.columns:
        if column.primary_key or column.foreign_keys:
            continue
        name = column.key
        value = getattr(row, name)
        if value is None:
            continue
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, (DateTime, Date)):
            setattr(row, name, value + timedelta(days=days))
        elif isinstance(kind, JSON):
            setattr(row, name, _shift_json(value, days))


def _all(model: Any, *where: Any) -> list[Any]:
    return list(db.session.scalars(select(model).where(*where)))


def shift_demo(days: int) -> int:
    """Shift the demo's own records by `days` days; return how many rows moved."""
    classes = demo_classes()
    class_ids = [k.id for k in classes]
    rows: list[Any] = list(classes)
    for klass in classes:
        for version in klass.plan.versions:
            rows.append(version)
            rows.extend(version.sessions)
    assignments = _all(Assignment, Assignment.class_id.in_(class_ids))
    draw_ids = {a.draw_id for a in assignments if a.draw_id is not None}
    rows += assignments + _all(Draw, Draw.id.in_(draw_ids))
    visits = _all(Visit, Visit.class_id.in_(class_ids),
                  Visit.device_id.startswith(DEMO_DEVICE_PREFIX))
    visit_ids: list[uuid.UUID] = [v.id for v in visits]
    rows += visits
    rows += _all(SignIn, SignIn.visit_id.in_(visit_ids),
                 SignIn.device_id.startswith(DEMO_DEVICE_PREFIX))
    rows += _all(VisitReview, VisitReview.visit_id.in_(visit_ids))
    rows += _all(Rectification, Rectification.visit_id.in_(visit_ids))
    rows += _all(AssessmentResult, AssessmentResult.class_id.in_(class_ids))
    for row in rows:
        _shift_row(row, days)
    for visit in visits:
        # The demo's own visits were sealed by the loader; their times moved, so seal anew.
        visit.payload = {**visit.payload, "seal": compute_seal(visit.payload)}
        visit.seal = visit.payload["seal"]
    db.session.flush()
    for klass in classes:
        version = version_in_force(klass.plan)
        if version is not None:
            publish_plan_version(version)
    for assignment in assignments:
        publish_assignment(assignment)
    audit("demo.refresh", "system", "demo", days=days, rows=len(rows))
    return len(rows)


def refresh_demo(today: date) -> int:
    """Move the demo calendar forward to `today`; return the days moved (0: nothing to do)."""
    loaded_for = demo_day()
    if loaded_for is None or loaded_for >= today:
        return 0
    days = (today - loaded_for).days
    shift_demo(days)
    return days
