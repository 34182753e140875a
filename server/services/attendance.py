"""Attendance of a visit (R9, R10): which sign-ins belong to it and the one count of them.

The judge, the review page, the API and the PDF all count through here (the counting rule itself
is `sync.judge.count_attendance`): distinct roster trainees signed in, the headcount taken on
site, and repeated scans and unknown persons as anomalies, never as attendance.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from server.extensions import db
from server.models import SignIn
from server.services.filed_roster import roster_ids
from sync.judge import Attendance, count_attendance


@dataclass(frozen=True)
class VisitSignIns:
    """The sign-ins of a visit in time order, and how many it names that have not arrived."""

    rows: list[SignIn]
    missing: int


def visit_sign_ins(visit_id: uuid.UUID, named: Iterable[str] = ()) -> VisitSignIns:
    """Return the sign-ins of a visit: those linked to it and those its payload names."""
    wanted = {_uuid(s) for s in named} - {None}
    belongs = SignIn.visit_id == visit_id
    if wanted:
        belongs = belongs | SignIn.id.in_(wanted)
    rows = list(db.session.scalars(
        select(SignIn).where(belongs).order_by(SignIn.at, SignIn.received_at, SignIn.id)))
    return VisitSignIns(rows=rows, missing=len(wanted - {row.id for row in rows}))


def _uuid(value: object) -> uuid.UUID | None:
    # A pushed payload's ids are checked by its schema; records made by other paths may not be.
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def count_sign_ins(plan_version_id: uuid.UUID, sign_ins: list[SignIn],
                   headcount: int | None) -> Attendance:
    """Count a visit's sign-ins against the roster of the version it is judged against."""
    return count_attendance(roster_ids(plan_version_id),
                            [str(s.trainee_id) if s.trainee_id else None for s in sign_ins],
                            headcount)
