"""What the documents share: a base's classes of a year, their current filed rosters, labels."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from server.errors import ApiError, field_error
from server.extensions import db
from server.models import (
    AssessmentResult,
    PlanVersion,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
)
from server.services.filed_roster import RosterEntry, roster_by_name
from server.services.media_store import store
from server.services.plan_versions import class_version_in_force, year_classes
from server.services.scope import REVIEWER_ROLES, can_see_visit, is_covert, require_base

LEVEL_LABELS = {2: "技师", 1: "高级技师"}


def find_base(name: str) -> TrainingBase:
    """Return the base of that name, or raise not_found."""
    base = db.session.execute(
        db.select(TrainingBase).where(TrainingBase.name == name)
    ).scalar_one_or_none()
    if base is None:
        raise ApiError("not_found", "auth.unknown_base", params={"name": name})
    return base


def classes_of_year(base: TrainingBase, year: int) -> list[TrainingClass]:
    """The base's classes of the year (plan_versions.year_classes, the dashboard's own)."""
    return year_classes([base.county_id], year, base_id=base.id)


def current_version(training_class: TrainingClass) -> PlanVersion | None:
    """Return the class's plan version in force, as visits are judged against it."""
    return class_version_in_force(training_class)


def roster(version: PlanVersion | None) -> list[RosterEntry]:
    """Return a version's roster as filed (frozen at submission, R7), ordered by name for stable
    documents."""
    return roster_by_name(version)


def results_of(training_class: TrainingClass) -> dict[Any, AssessmentResult]:
    """Return the class's assessment results by trainee id."""
    rows = db.session.execute(
        db.select(AssessmentResult).where(AssessmentResult.class_id == training_class.id)
    ).scalars()
    return {row.trainee_id: row for row in rows}


@contextmanager
def media_file(sha256: str) -> Iterator[Path | None]:
    """Context manager: a local path of a media hash's file, None when it is not on the server.

    With the object store the file is copied to a temporary file (streamed), gone afterwards.
    """
    if not sha256 or len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        yield None
        return
    with store().local_copy(sha256) as path:
        yield path


def check_year(year: int) -> int:
    """Reject years no document can be about."""
    if not 2000 <= year <= 2100:
        raise field_error("year", "field.document.year_range")
    return year


_UNSAFE_IN_NAMES = str.maketrans({c: "_" for c in '/\\:*?"<>|\r\n\t'})


def download_name(*parts: str, ext: str) -> str:
    """Return a readable file name from its parts (base or class, date, document), safe on disk."""
    stem = "-".join(p.strip().translate(_UNSAFE_IN_NAMES) for p in parts if p and p.strip())
    return f"{stem}.{ext}"


def visit_for_documents(user: User, visit_id: uuid.UUID) -> Visit:
    """Return a visit whose record the user may download: as the visit page shows it.

    Reviewers in scope; base staff for their own base once the visit happened (they signed it).
    Inspectors and everyone else: 403.
    """
    if user.role not in (*REVIEWER_ROLES, "base_staff"):
        raise ApiError("forbidden")
    visit = db.session.get(Visit, visit_id)
    if visit is None or not may_download_record(user, visit):
        raise ApiError("not_found")
    return visit


def may_download_record(user: User, visit: Visit, now: datetime | None = None) -> bool:
    """Whether the user may take the visit's record away (its PDF, or it in a base's archive).

    As the visit page shows it (scope.can_see_visit: a base sees its visits once they happened,
    a covert check only once reviewed), and never a covert check's record to its base: the
    signed record and its payload name the covert inspectors (R10).
    """
    if not can_see_visit(user, visit, now):
        return False
    return not (user.role == "base_staff" and is_covert(visit))


def base_for_documents(user: User, base_id: uuid.UUID) -> TrainingBase:
    """Return a base whose documents the user may download: reviewers in scope, its own staff."""
    if user.role not in (*REVIEWER_ROLES, "base_staff"):
        raise ApiError("forbidden")
    return require_base(user, db.session.get(TrainingBase, base_id))
