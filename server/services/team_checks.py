"""A team's check (R10): the visits of one assignment are one check, however many phones sent them.

Inspectors visit in teams and sign the record together, but each may seal it on their own phone,
offline. The first visit accepted under an assignment marks the assignment `done` (in the push's
transaction, so every team member's phone pulls it); a teammate's later visit of the same
assignment is accepted too (evidence is never dropped) and linked to the first as part of the
same check (`Visit.check_of_id`). Reviewers see one check with every inspector's evidence side
by side and what they disagree on; coverage counts it once; a decision on it reaches every
member's phone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from server.extensions import db
from server.models import Assignment, Visit
from server.services.changes import publish_assignment
from sync.judge import CHECKS

# What two records of one check are compared on: the verdict, each check's status, the counts.
COMPARED_COUNTS = ("headcount", "present")


def lead_visit_of(assignment_id: uuid.UUID, excluding: uuid.UUID | None = None) -> Visit | None:
    """The first visit stored under an assignment (the check's own record), or None."""
    query = (select(Visit).where(Visit.assignment_id == assignment_id, Visit.check_of_id.is_(None))
             .order_by(Visit.received_at, Visit.id))
    if excluding is not None:
        query = query.where(Visit.id != excluding)
    return db.session.scalars(query.limit(1)).first()


def complete_assignment(assignment: Assignment) -> bool:
    """Mark an assignment done and publish it to its team; False if it already was.

    A conditional update, so of two pushes racing for the same assignment exactly one
    completes it (and publishes); the other sees it done.
    """
    done = db.session.execute(
        update(Assignment).where(Assignment.id == assignment.id, Assignment.status != "done")
        .values(status="done").execution_options(synchronize_session=False))
    if not done.rowcount:
        return False
    db.session.refresh(assignment, ["status"])
    publish_assignment(assignment)
    return True


def check_visits(visit: Visit) -> list[Visit]:
    """Every visit of the check a visit belongs to, the check's own record first."""
    lead_id = visit.check_of_id or visit.id
    lead = visit if lead_id == visit.id else db.session.get(Visit, lead_id)
    linked = db.session.scalars(select(Visit).where(Visit.check_of_id == lead_id)
                                .order_by(Visit.received_at, Visit.id)).all()
    return [lead, *linked] if lead is not None else list(linked)


def check_members(visit: Visit, records: list[Visit] | None = None) -> list[uuid.UUID]:
    """The users whose phones hear of the check: its assignment's team and every author.

    `records` is the check's visits when the caller already has them (`check_visits(visit)`).
    """
    members = {v.inspector_id for v in (records if records is not None else check_visits(visit))}
    if visit.assignment_id is not None:
        assignment = db.session.get(Assignment, visit.assignment_id)
        if assignment is not None:
            members |= {u.id for u in assignment.inspectors}
    return sorted(members, key=str)


def _counts(visit: Visit) -> dict[str, Any]:
    attendance = (visit.checks or {}).get("attendance") or {}
    observed = (visit.payload or {}).get("observed") or {}
    return {"headcount": observed.get("headcount", attendance.get("headcount")),
            "present": attendance.get("present")}


@dataclass
class TeamCheck:
    """One check: its records in order, each compared item's values, and those that differ."""

    visits: list[Visit]
    values: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def is_team(self) -> bool:
        return len(self.visits) > 1

    @property
    def disagreements(self) -> dict[str, list[Any]]:
        """The items the records differ on, with their values in record order."""
        return {k: vs for k, vs in self.values.items() if len(set(map(repr, vs))) > 1}


def team_check(visit: Visit) -> TeamCheck:
    """The check a visit belongs to, with every compared item's values in record order.

    Items compared: `verdict`, each check of `sync.judge.CHECKS` by status, and the counts
    `headcount` (counted on site) and `present` (distinct trainees signed in).
    """
    visits = check_visits(visit)
    values: dict[str, list[Any]] = {"verdict": [v.verdict for v in visits]}
    for name in CHECKS:
        values[name] = [((v.checks or {}).get(name) or {}).get("status") for v in visits]
    for name in COMPARED_COUNTS:
        values[name] = [_counts(v)[name] for v in visits]
    return TeamCheck(visits=visits, values=values)
