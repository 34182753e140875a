"""Whether a training base is still in the programme: R15's 取消资格 (revocation) ends it.

A revoked base files nothing more (no class, version, teacher or site: "3 年内不予受理申请"),
its classes are no longer drawn for spot checks, and a class of it that was never visited no
longer counts as awaiting one (coverage, the deadlines, the per-base rows); a class visited
before still counts, with its visits. Every one of those readers asks here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable

from sqlalchemy import ColumnElement

from server.errors import ApiError
from server.models import TrainingBase, TrainingClass

REVOKED = "revoked"


def is_revoked(base: TrainingBase) -> bool:
    """True once the base's qualification was cancelled (review.open_rectification, R15)."""
    return base.status == REVOKED


def in_programme() -> ColumnElement[bool]:
    """The SQL condition on TrainingBase of a base not revoked (the draw's classes)."""
    return TrainingBase.status != REVOKED


def require_in_programme(base: TrainingBase) -> None:
    """Refuse filing for a revoked base. Errors: ApiError base.revoked (409)."""
    if is_revoked(base):
        raise ApiError("base.revoked")


def counted_classes(classes: Iterable[TrainingClass],
                    visited: Collection[uuid.UUID]) -> list[TrainingClass]:
    """The classes that count in a year's coverage: all but a revoked base's never visited."""
    return [c for c in classes if c.id in visited or not is_revoked(c.base)]
