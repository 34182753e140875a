"""Retention of personal data (PIPL): trainees' data is kept as long as R12 asks, then erased."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from server.extensions import db
from server.models import Enrollment, PlanVersion, Trainee, TrainingClass, utcnow
from server.models.plans import Plan
from server.services.audit import audit
from server.services.filed_roster import purge_frozen
from server.services.pii import encrypt_id_number

MIN_RETENTION_YEARS = 5  # R12: archives are kept at least 5 years


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def purge_expired_personal_data(today: date, retention_years: int, *, dry_run: bool = False) -> int:
    """Erase the personal data of trainees whose last class ended before the retention cut-off.

    The trainee row stays (rosters, sign-ins and statistics keep their shape); name, ID
    number, phone and exact birth date go. Returns the number of trainees purged.
    """
    if retention_years < MIN_RETENTION_YEARS:
        raise ValueError(f"RETENTION_YEARS must be at least {MIN_RETENTION_YEARS} (R12)")
    cutoff = _years_before(today, retention_years)
    last_class_end = (
        select(Enrollment.trainee_id, func.max(TrainingClass.end_date).label("last_end"))
        .join(PlanVersion, Enrollment.plan_version_id == PlanVersion.id)
        .join(Plan, PlanVersion.plan_id == Plan.id)
        .join(TrainingClass, Plan.class_id == TrainingClass.id)
        .group_by(Enrollment.trainee_id)
        .subquery()
    )
    trainees = db.session.scalars(
        select(Trainee)
        .join(last_class_end, last_class_end.c.trainee_id == Trainee.id)
        .where(last_class_end.c.last_end < cutoff, Trainee.purged_at.is_(None))
    ).all()
    if dry_run:
        return len(trainees)

    now = utcnow()
    for trainee in trainees:
        trainee.name = "已清除"
        trainee.id_number_enc = encrypt_id_number("")
        trainee.id_number_hash = f"purged-{uuid.uuid4().hex}"[:64]
        trainee.id_masked = "*" * 18
        trainee.birth_date = trainee.birth_date.replace(month=1, day=1)
        trainee.phone = ""
        trainee.purged_at = now
        # The filed rosters' frozen copies of the person go the same way.
        purge_frozen(trainee.id, {key: getattr(trainee, key) for key in (
            "name", "id_number_enc", "id_number_hash", "id_masked", "birth_date", "phone")})
        audit("pii.purge", "trainee", trainee.id, cutoff=cutoff.isoformat())
    return len(trainees)
