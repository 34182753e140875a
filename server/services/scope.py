"""Who may see and do what: city users everything, county users their county, base staff their base.

Every page, API answer, document and push handler asks here; none keeps its own copy of the rule.
Inspectors see their own visits; base staff see their visits only once they happened (a visit is
unannounced); reviewers (county and city admins) see and decide within their counties.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import aliased

from server.errors import ApiError
from server.extensions import db
from server.models import (
    County,
    Rectification,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
    VisitReview,
    utcnow,
)

REVIEWER_ROLES = ("city_admin", "county_admin")


def county_filter(user: User) -> uuid.UUID | None:
    """Return the county a user is limited to, or None when they see every county."""
    if user.is_city:
        return None
    return user.county_id


def is_reviewer(user: User) -> bool:
    """True for county and city reviewers."""
    return user.role in REVIEWER_ROLES


def require_reviewer(user: User) -> None:
    """Raise 403 unless the user is a county or city reviewer."""
    if not is_reviewer(user):
        raise ApiError("forbidden")


def can_see_county(user: User, county_id: uuid.UUID | None) -> bool:
    """True when the county lies within the user's scope (city users see every county)."""
    county = county_filter(user)
    return county is None or county == county_id


def can_review_county(user: User, county_id: uuid.UUID | None) -> bool:
    """True when the user reviews this county's visits, draws and rectifications."""
    return is_reviewer(user) and can_see_county(user, county_id)


def counties_in_scope(user: User) -> list[County]:
    """Return the counties a user may see, by code."""
    query = select(County).order_by(County.code)
    county = county_filter(user)
    if county is not None:
        query = query.where(County.id == county)
    return list(db.session.scalars(query).all())


def sees_cross_base_flags(user: User) -> bool:
    """True for the city's reviewers only: a person on two bases' rosters is the city's business
    (R7). No base learns of the other base; no county either, since the other base may lie in
    another county and the city re-checks and records every plan (复核备案, R5).
    """
    return user.role == "city_admin"


def can_see_base(user: User, base: TrainingBase) -> bool:
    """True when the base lies within the user's scope."""
    if user.role == "base_staff":
        return user.base_id == base.id
    county = county_filter(user)
    return county is None or county == base.county_id


def can_see_class(user: User, training_class: TrainingClass) -> bool:
    """True when the class lies within the user's scope."""
    return can_see_base(user, training_class.base)


def require_base(user: User, base: TrainingBase | None) -> TrainingBase:
    """Return the base if the user may see it; 404 otherwise (existence is not disclosed)."""
    if base is None or not can_see_base(user, base):
        raise ApiError("not_found")
    return base


def require_class(user: User, training_class: TrainingClass | None) -> TrainingClass:
    """Return the class if the user may see it; 404 otherwise (existence is not disclosed)."""
    if training_class is None or not can_see_class(user, training_class):
        raise ApiError("not_found")
    return training_class


def require_role(user: User, *roles: str) -> None:
    """Raise 403 unless the user has one of the roles."""
    if user.role not in roles:
        raise ApiError("forbidden")


def base_ids_in_scope(user: User) -> list[uuid.UUID] | None:
    """Return the ids of the bases a user may see, or None when they see every base."""
    if user.role == "base_staff":
        return [user.base_id]
    county = county_filter(user)
    if county is None:
        return None
    return list(db.session.scalars(select(TrainingBase.id).where(TrainingBase.county_id == county)))


def scope_classes(user: User, query: Select) -> Select:
    """Narrow a query that selects TrainingClass (joined to TrainingBase) to the user's scope."""
    if user.role == "base_staff":
        return query.where(TrainingClass.base_id == user.base_id)
    county = county_filter(user)
    if county is not None:
        return query.join(TrainingBase, TrainingClass.base_id == TrainingBase.id).where(
            TrainingBase.county_id == county
        )
    return query


# What the base is told made a city covert check (暗访): never the inspector.
COVERT_INSPECTOR_LABEL = "市人社局"
# Review states after which a covert visit may be shown to its base.
_CLOSED_FOR_BASE = ("accepted", "rectification", "reinspect")


def _city_inspectors() -> Select:
    return select(User.id).where(User.role == "inspector", User.county_id.is_(None))


def is_covert(visit: Visit) -> bool:
    """True for a city inspector's visit (a covert check, 暗访)."""
    return visit.inspector.role == "inspector" and visit.inspector.county_id is None


def _reinspection_done(review: VisitReview, now: datetime) -> bool:
    if review.assignment_id is None:
        return False
    return db.session.scalar(select(Visit.id).where(
        Visit.assignment_id == review.assignment_id, Visit.started_at <= now).limit(1)) is not None


def hidden_reviews(visit: Visit, now: datetime | None = None) -> set[uuid.UUID]:
    """Reinspect decisions whose new visit has not happened yet: unannounced, so not for the base.
    """
    now = now or utcnow()
    reviews = db.session.scalars(select(VisitReview).where(
        VisitReview.visit_id == visit.id, VisitReview.decision == "reinspect")).all()
    return {r.id for r in reviews if not _reinspection_done(r, now)}


def review_status_for(user: User, visit: Visit, now: datetime | None = None) -> str:
    """The review state a user is shown: base staff see a pending re-inspection as pending."""
    if user.role == "base_staff" and visit.review_status == "reinspect" \
            and hidden_reviews(visit, now):
        return "pending"
    return visit.review_status


def inspectors_for(user: User, visit: Visit, names: list[str]) -> list[str]:
    """The inspectors' names a user is shown: a base learns only that the city checked."""
    if user.role == "base_staff" and is_covert(visit):
        return [COVERT_INSPECTOR_LABEL]
    return names


def can_see_visit(user: User, visit: Visit, now: datetime | None = None) -> bool:
    """Reviewers of the county (or the city) see a visit; base staff only once it happened, and
    a covert check only once its review is closed."""
    base = visit.training_class.base
    if user.role == "base_staff":
        if user.base_id != base.id or visit.started_at > (now or utcnow()):
            return False
        return not is_covert(visit) or review_status_for(user, visit, now) in _CLOSED_FOR_BASE
    return can_review_county(user, base.county_id)


def can_see_rectification(user: User, rectification: Rectification) -> bool:
    """Reviewers of the base's county (or the city), and the base's own staff."""
    base = db.session.get(TrainingBase, rectification.base_id)
    if user.role == "base_staff":
        return user.base_id == base.id
    return can_review_county(user, base.county_id)


def _classes_of_county(county_id: uuid.UUID) -> Select:
    return (select(TrainingClass.id).join(TrainingBase, TrainingClass.base_id == TrainingBase.id)
            .where(TrainingBase.county_id == county_id))


def scope_visits(user: User, query: Select, now: datetime | None = None) -> Select:
    """Narrow a query that selects Visit: inspectors their own, base staff their base's visits
    that happened, reviewers their counties'; anyone else is refused (403)."""
    if user.role == "inspector":
        return query.where(Visit.inspector_id == user.id)
    if user.role == "base_staff":
        now = now or utcnow()
        classes = select(TrainingClass.id).where(TrainingClass.base_id == user.base_id)
        # A covert check is the base's to see once reviewed (a re-inspection: once it happened).
        later = aliased(Visit)
        reinspected = (select(VisitReview.id).join(later,
                                                   later.assignment_id == VisitReview.assignment_id)
                       .where(VisitReview.visit_id == Visit.id, VisitReview.decision == "reinspect",
                              later.started_at <= now))
        shown = or_(Visit.inspector_id.not_in(_city_inspectors()),
                    Visit.review_status.in_(("accepted", "rectification")),
                    and_(Visit.review_status == "reinspect", reinspected.exists()))
        return query.where(Visit.class_id.in_(classes), Visit.started_at <= now, shown)
    require_reviewer(user)
    county = county_filter(user)
    return query if county is None else query.where(Visit.class_id.in_(_classes_of_county(county)))


def scope_rectifications(user: User, query: Select) -> Select:
    """Narrow a query that selects Rectification: base staff their base's, reviewers their
    counties'; anyone else is refused (403)."""
    if user.role == "base_staff":
        return query.where(Rectification.base_id == user.base_id)
    require_reviewer(user)
    county = county_filter(user)
    if county is None:
        return query
    bases = select(TrainingBase.id).where(TrainingBase.county_id == county)
    return query.where(Rectification.base_id.in_(bases))
