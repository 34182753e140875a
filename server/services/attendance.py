"""Attendance of a visit (R9, R10): which sign-ins belong to it and the one count of them.

The judge, the review page, the API and the PDF all count through here (the counting rule itself
is `sync.judge.count_attendance`): distinct roster trainees signed in, the headcount taken on
site, and repeated scans and unknown persons as anomalies, never as attendance.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from server.extensions import db
from server.models import SignIn
from server.services.filed_roster import roster_ids
from server.services.push_context import any_of, dialect_name
from sync.judge import Attendance, count_attendance


@dataclass(frozen=True)
class VisitSignIns:
    """The sign-ins of a visit in time order, and how many it names that have not arrived.

    named: the sign-in ids the visit names (those it was asked for besides its own).
    """

    rows: list[SignIn]
    missing: int
    named: frozenset[uuid.UUID] = frozenset()


def visit_sign_ins(visit_id: uuid.UUID, named: Iterable[str] = ()) -> VisitSignIns:
    """Return the sign-ins of a visit: those linked to it and those its payload names."""
    wanted = {_uuid(s) for s in named} - {None}
    statement = _sign_ins_statement(bool(wanted), dialect_name() if wanted else "")
    params: dict[str, Any] = {"visit_id": visit_id}
    if wanted:
        params["ids"] = list(wanted)
    rows = list(db.session.scalars(statement, params))
    return VisitSignIns(rows=rows, missing=len(wanted - {row.id for row in rows}),
                        named=frozenset(wanted))


@cache
def _sign_ins_statement(named: bool, dialect: str) -> Select[Any]:
    """visit_sign_ins's query, built once per shape (parameters: visit_id, and ids when named).

    Building it cost about as much as running it, twice in every visit's push.
    """
    belongs = SignIn.visit_id == bindparam("visit_id")
    if named:
        belongs = belongs | any_of(SignIn.id, "ids", dialect)
    return select(SignIn).where(belongs).order_by(SignIn.at, SignIn.received_at, SignIn.id)


def _uuid(value: object) -> uuid.UUID | None:
    # A pushed payload's ids are checked by its schema; records made by other paths may not be.
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def count_sign_ins(plan_version_id: uuid.UUID, sign_ins: list[SignIn],
                   headcount: int | None, roster: list[str] | None = None) -> Attendance:
    """Count a visit's sign-ins against the roster of the version it is judged against.

    roster: that version's roster ids (filed_roster.roster_ids, or version_roster_ids of the
    version as loaded) when the caller has them already; else they are read.
    """
    return count_attendance(roster_ids(plan_version_id) if roster is None else roster,
                            [str(s.trainee_id) if s.trainee_id else None for s in sign_ins],
                            headcount)
