"""Coverage of the spot checks (R10) per county and for the city, and the year's deadlines."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AssessmentResult,
    County,
    Rectification,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
)
from server.services.base_status import counted_classes
from server.services.clock import local_today
from server.services.issues import visit_issues
from server.services.plan_versions import year_classes
from server.services.review import DUE_BUCKETS, VisitFilters, due_bucket, list_visits
from server.services.scope import (
    counties_in_scope,
    require_reviewer,
    scope_rectifications,
    scope_visits,
)


@dataclass
class ClassCoverage:
    """One class's spot-check state."""

    training_class: TrainingClass
    visits: int
    visits_with_issues: int
    days_left: int


@dataclass
class CountyCoverage:
    """A county's figures; `classes` lists each class."""

    county: County
    classes: list[ClassCoverage] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.classes)

    @property
    def visited(self) -> int:
        """How many classes have a visit: the rows of `visited_classes` (dashboard #visited)."""
        return len(self.visited_classes)

    @property
    def visited_classes(self) -> list[ClassCoverage]:
        """The classes with at least one visit (of any date, R10), in the year's class order."""
        return [c for c in self.classes if c.visits]

    @property
    def not_visited(self) -> list[ClassCoverage]:
        return sorted((c for c in self.classes if not c.visits), key=lambda c: c.days_left)

    @property
    def visits_with_issues(self) -> int:
        """Visits with an issue: the rows of list_visits with county_id, class_year and issues."""
        return sum(c.visits_with_issues for c in self.classes)

    @property
    def visits(self) -> int:
        return sum(c.visits for c in self.classes)

    @property
    def percent(self) -> int:
        return round(100 * self.visited / self.total) if self.total else 0


@dataclass
class Coverage:
    """Coverage per county and the city's totals."""

    year: int
    today: date
    counties: list[CountyCoverage]

    @property
    def total(self) -> int:
        return sum(c.total for c in self.counties)

    @property
    def visited(self) -> int:
        return sum(c.visited for c in self.counties)

    @property
    def visits_with_issues(self) -> int:
        return sum(c.visits_with_issues for c in self.counties)

    @property
    def visits(self) -> int:
        return sum(c.visits for c in self.counties)

    @property
    def percent(self) -> int:
        return round(100 * self.visited / self.total) if self.total else 0


def compute_coverage(user: User, year: int | None = None, today: date | None = None) -> Coverage:
    """Count, per county in the user's scope, classes, classes visited, and visits with issues.

    The classes are year_classes (a filed plan, starting in the year: its plan year) less a
    revoked base's never visited (base_status.counted_classes, R15); their visits
    are of any date (a class of December checked in January counts for its year, whose report is
    due on 10 January, R13), one per check: review.list_visits with `class_year`, and those of
    them with issues.visit_issues (its `issues` filter). A county's figures are thus the rows of
    that list for the county (`county_id`), and `visited_classes` those of the dashboard's
    #visited. Errors: ApiError forbidden (not a reviewer).
    """
    require_reviewer(user)
    today = today or local_today()
    year = year or today.year
    counties = counties_in_scope(user)
    classes = year_classes([c.id for c in counties], year)
    visits_by_class: dict[uuid.UUID, list[Visit]] = {}
    # Counted over the very list the figures link to (one row per check: a teammate's record
    # counts with its check), so a figure and its list cannot disagree.
    for visit in list_visits(user, VisitFilters(class_year=year)) if classes else []:
        visits_by_class.setdefault(visit.class_id, []).append(visit)
    by_county = {c.id: CountyCoverage(county=c) for c in counties}
    for training_class in counted_classes(classes, visits_by_class):
        visits = visits_by_class.get(training_class.id, [])
        by_county[training_class.base.county_id].classes.append(ClassCoverage(
            training_class=training_class, visits=len(visits),
            visits_with_issues=sum(1 for v in visits if visit_issues(v)),
            days_left=(training_class.end_date - today).days,
        ))
    return Coverage(year=year, today=today, counties=list(by_county.values()))


@dataclass
class Deadline:
    """A deadline of the year with what is still missing for it."""

    key: str
    rule: str
    due: date
    days_left: int
    missing: dict[str, int]

    @property
    def complete(self) -> bool:
        return not any(self.missing.values())


def compute_deadlines(user: User, year: int | None = None,
                      today: date | None = None) -> list[Deadline]:
    """The assessment (31 Dec, R11) and the report (10 Jan next year, R13), with what is missing."""
    require_reviewer(user)
    today = today or local_today()
    year = year or today.year
    county_ids = [c.id for c in counties_in_scope(user)]
    classes = year_classes(county_ids, year)
    visited = visited_class_ids(user, [c.id for c in classes])
    class_ids = [c.id for c in counted_classes(classes, visited)]
    assessed = _assessed_class_ids(class_ids)
    pending_review = db.session.scalar(
        select(func.count(Visit.id)).where(Visit.class_id.in_(class_ids),
                                           Visit.check_of_id.is_(None),
                                           Visit.review_status == "pending")) or 0
    open_rectifications = db.session.scalar(
        select(func.count(Rectification.id))
        .join(TrainingBase, Rectification.base_id == TrainingBase.id)
        .where(TrainingBase.county_id.in_(county_ids), Rectification.status != "closed")) or 0
    not_visited = sum(1 for c in class_ids if c not in visited)
    assessment_due = date(year, 12, 31)
    report_due = date(year + 1, 1, 10)
    return [
        Deadline("assessment", "R11", assessment_due, (assessment_due - today).days, {
            "classes_not_assessed": sum(1 for c in class_ids if c not in assessed),
            "classes_not_visited": not_visited,
        }),
        Deadline("report", "R13", report_due, (report_due - today).days, {
            "classes_not_visited": not_visited,
            "visits_pending_review": pending_review,
            "rectifications_open": open_rectifications,
            "classes_not_assessed": sum(1 for c in class_ids if c not in assessed),
        }),
    ]


def visited_class_ids(user: User, class_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The classes among class_ids with a visit that the user may see (scope_visits).

    A figure of classes visited counts exactly the visits its reader may list: a base never
    learns of a city covert check (暗访) before it is reviewed, nor of a re-inspection before
    it happened, from a count either (R10). compute_coverage counts over list_visits, which
    narrows by the same rule. Errors: ApiError forbidden (a role that sees no visits).
    """
    if not class_ids:
        return set()
    query = select(Visit.class_id).where(Visit.class_id.in_(class_ids)).distinct()
    return set(db.session.scalars(scope_visits(user, query)))


def _assessed_class_ids(class_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(db.session.scalars(
        select(AssessmentResult.class_id).where(AssessmentResult.class_id.in_(class_ids))
    ))


def coverage_dict(result: Coverage, deadlines: list[Deadline]) -> dict[str, Any]:
    """Coverage and deadlines as plain data for the API."""
    return {
        "year": result.year, "classes": result.total, "visited": result.visited,
        "visits": result.visits, "visits_with_issues": result.visits_with_issues,
        "counties": [{
            "county_id": c.county.id, "county": c.county.name, "classes": c.total,
            "visited": c.visited, "visits": c.visits, "visits_with_issues": c.visits_with_issues,
            "not_visited": [{"class_id": str(n.training_class.id), "name": n.training_class.name,
                             "base": n.training_class.base.name,
                             "end_date": n.training_class.end_date,
                             "days_left": n.days_left} for n in c.not_visited],
        } for c in result.counties],
        "deadlines": [{"key": d.key, "rule": d.rule, "due": d.due, "days_left": d.days_left,
                       "missing": d.missing} for d in deadlines],
    }


# --- the dashboards' per-base rows and charts ----------------------------------------------

RECTIFICATION_STATES = ("open", "answered", "closed")


@dataclass
class BaseRow:
    """A base's figures of the year on a dashboard (with its downloads beside it)."""

    base: TrainingBase
    classes: int
    visited: int
    open_rectifications: int


def bases_in_scope(user: User) -> list[TrainingBase]:
    """The bases a dashboard lists: a reviewer's counties' bases, or a base user's own base."""
    query = select(TrainingBase).join(County, TrainingBase.county_id == County.id)
    if user.role == "base_staff":
        query = query.where(TrainingBase.id == user.base_id)
    else:
        require_reviewer(user)
        query = query.where(TrainingBase.county_id.in_([c.id for c in counties_in_scope(user)]))
    return list(db.session.scalars(query.order_by(County.code, TrainingBase.name)).all())


def base_rows(user: User, year: int) -> list[BaseRow]:
    """Each base in scope with its classes of the year, those visited, and open rectifications."""
    bases = bases_in_scope(user)
    classes = year_classes(list({b.county_id for b in bases}), year)
    visited = visited_class_ids(user, [c.id for c in classes])
    classes = counted_classes(classes, visited)
    open_counts = dict(db.session.execute(
        select(Rectification.base_id, func.count(Rectification.id))
        .where(Rectification.base_id.in_([b.id for b in bases]), Rectification.status != "closed")
        .group_by(Rectification.base_id)).all())
    rows = []
    for base in bases:
        own = [c for c in classes if c.base_id == base.id]
        rows.append(BaseRow(base=base, classes=len(own),
                            visited=sum(1 for c in own if c.id in visited),
                            open_rectifications=open_counts.get(base.id, 0)))
    return rows


def rectification_counts(user: User, today: date | None = None) -> dict[str, dict[str, int]]:
    """Rectifications in scope by state, and the unfinished ones by where their deadline lies."""
    require_reviewer(user)
    today = today or local_today()
    query = scope_rectifications(user, select(Rectification.status, Rectification.deadline))
    states = dict.fromkeys(RECTIFICATION_STATES, 0)
    due = dict.fromkeys(DUE_BUCKETS, 0)
    for status, deadline in db.session.execute(query).all():
        states[status] = states.get(status, 0) + 1
        if status != "closed":
            due[due_bucket(deadline, today)] += 1
    return {"states": states, "due": due}
