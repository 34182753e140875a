"""Which plan version is in force (R5, R7): the one rule every page, judge, draw and document uses.

A version is in force once the county approved it (and stays so when the city records it); the
newest such version wins. A later version under review changes nothing until it is approved.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, Select, func, select

from server.extensions import db
from server.models import Plan, PlanVersion, TrainingBase, TrainingClass
from server.models.plans import FILED_STATES, IN_FORCE_STATES

__all__ = ["FILED_STATES", "IN_FORCE_STATES", "version_in_force", "class_version_in_force",
           "select_version_in_force", "roster_version", "current_filed_version_ids",
           "year_classes"]


def version_in_force(plan: Plan | None, before: int | None = None) -> PlanVersion | None:
    """Return the plan's newest approved or recorded version (optionally numbered below `before`).
    """
    if plan is None:
        return None
    candidates = [v for v in plan.versions if v.status in IN_FORCE_STATES
                  and (before is None or v.number < before)]
    return max(candidates, key=lambda v: v.number) if candidates else None


def class_version_in_force(training_class: TrainingClass | uuid.UUID) -> PlanVersion | None:
    """Return the version in force of a class (given as a row or an id), or None."""
    if isinstance(training_class, TrainingClass):
        return version_in_force(training_class.plan)
    return db.session.scalar(select_version_in_force(training_class))


def select_version_in_force(class_id: uuid.UUID | ColumnElement[uuid.UUID]) -> Select:
    """Select the version in force of a class (an id, or a column to correlate with): one row or
    none; `.with_only_columns(PlanVersion.id).scalar_subquery()` makes it one column of a look-up.
    """
    return (select(PlanVersion).join(Plan, PlanVersion.plan_id == Plan.id)
            .where(Plan.class_id == class_id, PlanVersion.status.in_(IN_FORCE_STATES))
            .order_by(PlanVersion.number.desc()).limit(1))


def roster_version(class_id: uuid.UUID) -> PlanVersion | None:
    """Return the version whose roster badges and sign-ins are checked against.

    The version in force; a brand-new class whose only filed version is still under review
    falls back to that one, so a visit to it still has a roster to check against.
    """
    return class_version_in_force(class_id) or db.session.scalar(
        select(PlanVersion).join(Plan, PlanVersion.plan_id == Plan.id)
        .where(Plan.class_id == class_id, PlanVersion.status == "submitted")
        .order_by(PlanVersion.number.desc()).limit(1))


def current_filed_version_ids() -> Select:
    """Select the id of each plan's newest filed version (submitted, approved or recorded): the
    roster a base stands by for a class (R1 quota, R3 duplicates, cross-base people).
    """
    latest = (select(PlanVersion.plan_id, func.max(PlanVersion.number).label("number"))
              .where(PlanVersion.status.in_(FILED_STATES))
              .group_by(PlanVersion.plan_id).subquery())
    return select(PlanVersion.id).join(
        latest, (PlanVersion.plan_id == latest.c.plan_id) & (PlanVersion.number == latest.c.number))


def year_classes(county_ids: list[uuid.UUID], year: int,
                 base_id: uuid.UUID | None = None) -> list[TrainingClass]:
    """The classes of a year: of these counties (and base), with a filed plan (a version in
    force), starting in the year, oldest first.

    A class belongs to the year of its plan, the one it starts in (R1's annual plan): a class of
    December that ends in January is of its December's year, and its visits, of any date, count
    there (R13's report of that year, due on 10 January). The one answer for the coverage, the
    deadlines and the base rows (R10, R11), the visit list's `class_year`, and a base's documents
    of the year (Attachment 2, the subsidy summary, the archive: R12-R14), so the dashboard's row
    and the files it links to name the same classes. A class never filed is of no year.
    """
    query = (select(TrainingClass).join(TrainingBase, TrainingClass.base_id == TrainingBase.id)
             .where(TrainingBase.county_id.in_(county_ids),
                    TrainingClass.start_date >= date(year, 1, 1),
                    TrainingClass.start_date <= date(year, 12, 31))
             .order_by(TrainingClass.start_date, TrainingClass.name))
    if base_id is not None:
        query = query.where(TrainingClass.base_id == base_id)
    classes = db.session.scalars(query).all()
    return [c for c in classes if class_version_in_force(c) is not None]
