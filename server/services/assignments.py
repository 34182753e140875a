"""Assignments: one class, one session, a team of inspectors; confidential until the visit."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.errors import ApiError, field_error
from server.extensions import db
from server.models import Assignment, Draw, PlanSession, TrainingClass, User
from server.services.audit import audit
from server.services.changes import publish_assignment


def create_assignment(
    class_id: uuid.UUID,
    session_id: uuid.UUID,
    inspectors: list[User],
    *,
    draw: Draw | None = None,
    actor: User | None = None,
) -> Assignment:
    """Assign a session of a class to a team of inspectors and publish it to their phones.

    The team: inspectors of the class's county, or of the city (county-less: a covert check,
    R10), never both. Errors: ApiError not_found (class or session), validation_error.
    """
    training_class = db.session.get(TrainingClass, class_id)
    session = db.session.get(PlanSession, session_id)
    if training_class is None or session is None:
        raise ApiError("not_found", "assignments.unknown_session")
    if session.plan_version.plan.class_id != training_class.id:
        raise field_error("session", "field.assignment.session_elsewhere")
    if not inspectors or any(u.role != "inspector" for u in inspectors):
        raise field_error("inspectors", "field.assignment.no_inspectors")
    for inspector in inspectors:
        if inspector.county_id not in (None, training_class.base.county_id):
            raise field_error("inspectors", "field.assignment.inspector_elsewhere",
                              username=inspector.username)
    if len({inspector.county_id is None for inspector in inspectors}) > 1:
        # A team is the city's (a covert check, 暗访, hidden from the base until reviewed) or
        # the county's: mixed, the county member's record would show the base the city's.
        raise field_error("inspectors", "field.assignment.mixed_team")
    assignment = Assignment(class_id=class_id, session_id=session_id, date=session.date,
                            draw_id=draw.id if draw else None, inspectors=list(inspectors))
    db.session.add(assignment)
    db.session.flush()
    publish_assignment(assignment)
    audit("assignment.create", "assignment", assignment.id, user=actor,
          class_id=str(class_id), session_id=str(session_id),
          inspectors=[u.username for u in inspectors])
    return assignment


def find_inspector(username: str) -> User:
    """Return the inspector with this username or raise not_found."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or user.role != "inspector":
        raise ApiError("not_found", "assignments.unknown_inspector", params={"name": username})
    return user
