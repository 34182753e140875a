"""One visit beside its filed plan (R7, R10): the view the review page, the API and the PDF render.

The planned side is the session the visit was judged against (the judge stores it: after a plan
change it is the same session in the version in force, not the one the phone had); the observed
side is what the sealed payload says; attendance is counted once (services/attendance.py). The
renderers only turn this structure into words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.extensions import db
from server.i18n import check_codes, check_text
from server.models import Assignment, PlanSession, PlanVersion, SignIn, Visit
from server.services.attendance import count_sign_ins, visit_sign_ins
from sync.judge import CHECKS, MATCH, MISMATCH, UNVERIFIABLE, Attendance

JUDGED_SESSION_KEY = "judged_session_id"  # where the judge keeps it in Visit.checks


def judged_session(visit: Visit) -> PlanSession | None:
    """Return the filed session a visit was judged against.

    The judge's own record first; a visit stored before the judge kept it was judged against the
    session it names; a visit without one, against its assignment's session.
    """
    session_id = (visit.checks or {}).get(JUDGED_SESSION_KEY)
    if session_id:
        session = db.session.get(PlanSession, uuid.UUID(str(session_id)))
        if session is not None:
            return session
    if visit.session is not None:
        return visit.session
    if visit.assignment_id is not None:
        assignment = db.session.get(Assignment, visit.assignment_id)
        return assignment.session if assignment else None
    return None


def judged_version(visit: Visit) -> PlanVersion:
    """Return the plan version a visit was judged against (the judged session's)."""
    session = judged_session(visit)
    return session.plan_version if session is not None else visit.plan_version


def check_status(value: Any) -> str:
    """Return the status of one computed check: match | mismatch | unverifiable."""
    status = value.get("status") if isinstance(value, dict) else value
    return status if status in (MATCH, MISMATCH) else UNVERIFIABLE


def check_reason(value: Any) -> str:
    """Return the judge's reasons for a check in words, in the current language."""
    return check_text(value)


@dataclass(frozen=True)
class GpsObservation:
    """The position the phone recorded."""

    lat: float
    lon: float
    accuracy: float | None
    mocked: bool


@dataclass(frozen=True)
class Observation:
    """What the inspector saw, from the sealed payload."""

    gps: GpsObservation | None
    started_at: datetime
    ended_at: datetime | None
    teacher_matches: bool | None
    teacher_name: str
    content_matches: bool | None
    topic: str
    headcount: int | None


@dataclass(frozen=True)
class CheckResult:
    """The judge's result for one check, with its figures."""

    check: str
    status: str
    reason: str  # the judge's reasons in words (current language)
    details: dict[str, Any] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)  # the reasons' catalogue codes


@dataclass(frozen=True)
class BesidePlan:
    """A visit, the session and version it was judged against, what was seen, the checks."""

    visit: Visit
    session: PlanSession | None
    version: PlanVersion
    observed: Observation
    attendance: Attendance
    sign_ins: list[SignIn]
    checks: list[CheckResult]

    @property
    def plan_changed(self) -> bool:
        """True when the visit was judged against a newer version than the phone had."""
        return self.version.id != self.visit.plan_version_id


def visit_headcount(visit: Visit) -> int | None:
    """Return the headcount the inspector took on site (None when not recorded)."""
    payload = visit.payload or {}
    value = payload.get("headcount")
    for holder in ("observed", "attendance"):  # the field app puts it under `observed`
        if value is None and isinstance(payload.get(holder), dict):
            value = payload[holder].get("headcount")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _observation(visit: Visit) -> Observation:
    payload = visit.payload or {}
    observed = payload.get("observed") if isinstance(payload.get("observed"), dict) else {}
    gps = payload.get("gps") if isinstance(payload.get("gps"), dict) else {}
    fix = None
    if gps.get("lat") is not None and gps.get("lon") is not None:
        fix = GpsObservation(float(gps["lat"]), float(gps["lon"]),
                             float(gps["accuracy"]) if gps.get("accuracy") is not None else None,
                             bool(gps.get("mocked") or gps.get("mock")))
    return Observation(
        gps=fix, started_at=visit.started_at, ended_at=visit.ended_at,
        teacher_matches=observed.get("teacher_matches"),
        teacher_name=str(observed.get("teacher_name") or ""),
        content_matches=observed.get("content_matches"), topic=str(observed.get("topic") or ""),
        headcount=visit_headcount(visit))


def beside_plan(visit: Visit) -> BesidePlan:
    """Return a visit beside the plan it was judged against: the one view every reader renders."""
    session = judged_session(visit)
    version = session.plan_version if session is not None else visit.plan_version
    observed = _observation(visit)
    sign_ins = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
    stored = visit.checks or {}
    checks = []
    for name in CHECKS:
        value = stored.get(name)
        details = {k: v for k, v in value.items() if k not in ("status", "reason", "reasons")} \
            if isinstance(value, dict) else {}
        checks.append(CheckResult(name, check_status(value), check_reason(value), details,
                                  check_codes(value)))
    return BesidePlan(visit=visit, session=session, version=version, observed=observed,
                      attendance=count_sign_ins(version.id, sign_ins, observed.headcount),
                      sign_ins=sign_ins, checks=checks)
