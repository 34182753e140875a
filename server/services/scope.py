"""Who may see what: city users everything, county users their county, base staff their base."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from server.errors import ApiError
from server.extensions import db
from server.models import TrainingBase, TrainingClass, User

REVIEWER_ROLES = ("city_admin", "county_admin")


def county_filter(user: User) -> uuid.UUID | None:
    """Return the county a user is limited to, or None when they see every county."""
    if user.is_city:
        return None
    return user.county_id


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
