"""Trainee look-ups; the only place an ID number is decrypted for a person to read."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.errors import ApiError
from server.extensions import db
from server.models import Enrollment, Plan, PlanVersion, Trainee, TrainingClass, User
from server.services.audit import audit
from server.services.pii import decrypt_id_number
from server.services.scope import can_see_class

UNMASK_ROLES = ("city_admin", "county_admin")


def reveal_identity(user: User, trainee_id: uuid.UUID, device_id: str = "") -> dict:
    """Return a trainee's full ID number to an authorised reviewer, auditing the read."""
    if user.role not in UNMASK_ROLES:
        raise ApiError("forbidden")
    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None or trainee.purged_at is not None:
        raise ApiError("not_found")
    classes = db.session.scalars(
        select(TrainingClass)
        .join(Plan, Plan.class_id == TrainingClass.id)
        .join(PlanVersion, PlanVersion.plan_id == Plan.id)
        .join(Enrollment, Enrollment.plan_version_id == PlanVersion.id)
        .where(Enrollment.trainee_id == trainee.id)
    ).all()
    if not any(can_see_class(user, c) for c in classes):
        raise ApiError("not_found")
    audit("pii.unmask", "trainee", trainee.id, user=user, device_id=device_id)
    return {"id": trainee.id, "name": trainee.name,
            "id_number": decrypt_id_number(trainee.id_number_enc)}
