"""visit.submit: check the seal, judge the visit against its filed session, store it once.

Evidence is create-only: a visit is never changed by a push; a correction is a new visit whose
payload names the one it `supersedes`. A visit checked against a plan version that is no longer
current is accepted and flagged `plan.outdated`, never dropped.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from schemas.visits import VisitPayloadSchema
from server.errors import ApiError
from server.extensions import db
from server.i18n import check_words
from server.models import (
    Assignment,
    Media,
    PlanSession,
    PlanVersion,
    TrainingClass,
    User,
    Visit,
)
from server.services.attendance import VisitSignIns, visit_sign_ins
from server.services.beside_plan import JUDGED_SESSION_KEY, judged_version
from server.services.clock import zone_name
from server.services.filed_roster import roster_ids
from server.services.fresh_evidence import evidence_tolerance
from server.services.plan_versions import class_version_in_force
from server.services.push_context import PushContext
from server.services.scope import REVIEWER_ROLES, can_see_class, scope_visits
from server.services.signin_flags import stored_visits
from server.services.team_checks import complete_assignment, lead_visit_of
from sync.canonical import seal_matches
from sync.judge import (
    CHECKS,
    GpsFix,
    clock_skew,
    implausible_time,
    judge_attendance,
    judge_observation,
    judge_place,
    judge_time,
    outside_visit,
    session_window,
)
from sync.push import Mutation, Outcome, Rejected

# An inspector may arrive a little before a session starts or just after it ends (the class
# is still in the room); 15 minutes either side still counts as visiting that session.
TIME_TOLERANCE = timedelta(minutes=15)


_PAYLOAD = VisitPayloadSchema()  # built once (a schema's construction copies its fields)
# What judging a visit reads of its session besides the row: one query, not three.
_SESSION_LOADS = (joinedload(PlanSession.site), joinedload(PlanSession.teacher))


def _load(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return _PAYLOAD.load(payload)
    except ValidationError as error:
        raise Rejected("validation_error", "visit.invalid_payload",
                       errors=error.normalized_messages()) from error


def _judged_session(session: PlanSession, current: PlanVersion | None) -> PlanSession:
    # Judge against what should be happening now: the same session in the current version.
    if current is None or current.id == session.plan_version_id:
        return session
    twin = db.session.scalar(select(PlanSession).where(
        PlanSession.plan_version_id == current.id, PlanSession.lineage_id == session.lineage_id)
        .options(*_SESSION_LOADS))
    return twin or session


def judge_attendance_of(visit_id: uuid.UUID, plan_version_id: uuid.UUID, signin_ids: list[str],
                        headcount: int | None,
                        sign_ins: VisitSignIns | None = None) -> dict[str, Any]:
    """Judge attendance of a visit from the roster and the sign-ins received so far.

    sign_ins: the visit's sign-ins (attendance.visit_sign_ins) when the caller has them already.
    """
    if sign_ins is None:
        sign_ins = visit_sign_ins(visit_id, signin_ids)
    check = judge_attendance(
        roster_ids(plan_version_id),
        [str(s.trainee_id) if s.trainee_id else None for s in sign_ins.rows],
        headcount, current_app.config["ATTENDANCE_MIN_RATE"], missing_signins=sign_ins.missing)
    return check.to_dict()


def _duplicate_of_session(session: PlanSession, supersedes: uuid.UUID | None) -> bool:
    lineage_sessions = select(PlanSession.id).where(PlanSession.lineage_id == session.lineage_id)
    query = select(Visit.id).where(Visit.session_id.in_(lineage_sessions))
    if supersedes is not None:
        query = query.where(Visit.id != supersedes)
    return db.session.scalar(query.limit(1)) is not None


def submit_visit(context: PushContext, mutation: Mutation) -> Outcome:
    """Store a sealed visit with the server's judgement; reject what cannot be a visit."""
    payload = dict(mutation.payload)
    data = _load(payload)
    if not seal_matches(payload):
        raise Rejected("visit.seal_mismatch")
    if mutation.entity_id is None:
        raise Rejected("validation_error", "visit.no_record_id", errors={"entity_id": ["required"]})
    base_version = mutation.base.get("plan_version_id")
    if base_version and base_version != str(data["plan_version_id"]):
        raise Rejected("validation_error", "visit.plan_version_differs",
                       errors={"base": {"plan_version_id": ["differs from the payload"]}})
    visit_id = uuid.UUID(mutation.entity_id)
    context.write_inserts()  # this batch's sign-ins count for attendance
    stored = db.session.get(Visit, visit_id)
    if stored is not None:
        if stored.inspector_id == context.user.id and stored.seal == str(payload["seal"]).lower():
            # The same sealed record sent again (a re-send after a server restore): done.
            return Outcome(flags=list(stored.flags or []), detail="sync.already_stored")
        raise Rejected("visit.exists")
    # Each look-up brings what the checks below read of it (the scope needs the class's base).
    training_class = db.session.get(TrainingClass, data["class_id"],
                                    options=[joinedload(TrainingClass.base)])
    if training_class is None or not can_see_class(context.user, training_class):
        raise Rejected("visit.unknown_class")
    version = db.session.get(PlanVersion, data["plan_version_id"],
                             options=[joinedload(PlanVersion.plan)])
    if version is None or version.plan.class_id != training_class.id:
        raise Rejected("visit.unknown_plan_version")
    session = db.session.get(PlanSession, data["session_id"], options=_SESSION_LOADS)
    if session is None or session.plan_version_id != version.id:
        raise Rejected("visit.unknown_session")
    assignment = None
    if data["assignment_id"] is not None:
        assignment = db.session.get(Assignment, data["assignment_id"],
                                    options=[joinedload(Assignment.inspectors)])
        if assignment is None or assignment.class_id != training_class.id:
            raise Rejected("visit.unknown_assignment")
    if data["supersedes"] is not None:
        earlier = db.session.get(Visit, data["supersedes"])
        if earlier is None or earlier.class_id != training_class.id:
            raise Rejected("visit.unknown_supersedes")

    team = {u.id for u in assignment.inspectors} if assignment is not None else set()
    cited = {p["sha256"] for p in data["photos"]} | {g["sha256"] for g in data["signatures"]}
    if foreign_media(cited, {context.user.id} | team, context.user.county_id):
        raise Rejected("visit.foreign_media")

    config = current_app.config
    current = class_version_in_force(training_class.id)
    judged = _judged_session(session, current)
    flags: list[str] = []
    if current is not None and current.id != version.id:
        flags.append("plan.outdated")
    skew = clock_skew(mutation.client_time, context.received_at,
                      timedelta(minutes=config["CLOCK_SKEW_MINUTES"]))
    if skew is not None:
        flags.append("clock.skew")
    on_team = assignment is not None and context.user in assignment.inspectors
    # A teammate's record of a check already stored: part of that check, not a second visit.
    lead = lead_visit_of(assignment.id, excluding=visit_id) if on_team else None
    if lead is not None:
        flags.append("visit.team_record")
    elif _duplicate_of_session(session, data["supersedes"]):
        flags.append("visit.duplicate_session")
    if assignment is not None and not on_team:
        # Evidence is never dropped, but a visit under someone else's assignment needs a look.
        flags.append("assignment.not_on_team")

    implausible = implausible_time(
        data["started_at"], data["ended_at"], training_class.start_date, training_class.end_date,
        context.received_at, timedelta(minutes=config["CLOCK_SKEW_MINUTES"]), zone_name())
    if implausible is not None:
        flags.append("visit.implausible_time")
    gps = data["gps"]
    fix = GpsFix(gps["lat"], gps["lon"], gps["accuracy"], gps["mocked"],
                 gps["captured_at"]) if gps else None
    # A cached fix, an old photo or a sign-in from another time cannot verify this visit.
    named = payload.get("signins") or []
    # The visit's sign-ins stored so far (this batch's included), read once: their capture
    # times here, the attendance count below.
    sign_ins = visit_sign_ins(visit_id, named)
    captured = [fix.captured_at] if fix is not None else []
    captured += [p["taken_at"] for p in data["photos"] if p.get("taken_at")]
    captured += _signin_times(sign_ins, named)
    stale = any(outside_visit(at, data["started_at"], data["ended_at"], evidence_tolerance())
                for at in captured)
    if stale:
        flags.append("evidence.stale")
    site = judged.site
    observed = data["observed"]
    checks = {
        "place": judge_place(fix, site.lat, site.lon, site.radius_m,
                             config["GPS_MAX_ACCURACY_M"], stale=stale).to_dict(),
        "time": judge_time(data["started_at"], data["ended_at"],
                           session_window(judged.date, judged.start_time, judged.end_time,
                                          zone_name()),
                           TIME_TOLERANCE, skew, implausible).to_dict(),
        "teacher": judge_observation(observed.get("teacher_matches"), "teacher",
                                     observed.get("teacher_name"), judged.teacher.name).to_dict(),
        "content": judge_observation(observed.get("content_matches"), "content",
                                     observed.get("topic"), judged.topic).to_dict(),
        "attendance": judge_attendance_of(visit_id, judged.plan_version_id, named,
                                          observed.get("headcount"), sign_ins),
        JUDGED_SESSION_KEY: str(judged.id),
    }
    if skew is not None:
        checks["clock_skew_s"] = round(skew.total_seconds())
    visit = Visit(
        id=visit_id, class_id=training_class.id, session_id=session.id,
        assignment_id=data["assignment_id"], plan_version_id=version.id,
        inspector_id=context.user.id, device_id=context.device_id,
        started_at=data["started_at"], ended_at=data["ended_at"],
        client_time=mutation.client_time, received_at=context.received_at,
        verdict=data["verdict"], payload=payload, seal=payload["seal"].lower(),
        checks=checks, flags=flags, supersedes_id=data["supersedes"],
        check_of_id=lead.id if lead is not None else None,
        # The rows just read, linked (same ids as above): the end-of-batch steps read the visit's
        # session, version and class again and find them here, not in the database.
        training_class=training_class, session=session, plan_version=version,
    )
    db.session.add(visit)
    if not context.careful:
        # The end-of-batch steps take the visit as stored, without reading it back (a careful
        # retry stores it in a savepoint that may still fail: they read it back there).
        context.stored_visits[visit_id] = visit
    # Its attendance counts every sign-in of this batch so far (written above): it is judged
    # again at the end of the batch only if one of a later seq names it (signin.create adds it).
    context.touched_visits.discard(visit_id)
    if on_team:
        complete_assignment(assignment)  # the team's check is made: every member's phone hears it
    return Outcome(flags=flags)


def rejudge_touched_visits(context: PushContext) -> None:
    """Judge attendance again for visits whose sign-ins arrived after them (end of a batch)."""
    if not context.touched_visits:
        return
    # shared with the flags finisher
    for visit in stored_visits(context, set(context.touched_visits)):
        checks = dict(visit.checks)
        checks["attendance"] = judge_attendance_of(
            visit.id, judged_version(visit).id, visit.payload.get("signins") or [],
            (visit.payload.get("observed") or {}).get("headcount"))
        visit.checks = checks


def _signin_times(sign_ins: VisitSignIns, signin_ids: list[str]) -> list[datetime]:
    """Capture times of the sign-ins a visit names that are already stored (among its sign-ins,
    which hold every stored one it names)."""
    named = {uuid.UUID(s) for s in signin_ids}
    return [row.at for row in sign_ins.rows if row.id in named]


def foreign_media(hashes: set[str], allowed: set[uuid.UUID],
                  county_id: uuid.UUID | None) -> set[str]:
    """The hashes among these another county's inspector uploaded (evidence is its own visit's).

    Allowed: the pusher and its assignment's team, and anyone of the pusher's county (the same
    file can be stored once for two inspectors of one county). A file not stored yet is fine:
    the phone uploads a visit's media after pushing it.
    """
    if not hashes:
        return set()
    rows = db.session.execute(
        select(Media.sha256, Media.uploaded_by_id, User.county_id)
        .join(User, User.id == Media.uploaded_by_id).where(Media.sha256.in_(hashes)))
    return {sha for sha, owner, county in rows
            if owner not in allowed and (county_id is None or county != county_id)}


def visit_media(visit: Visit) -> set[str]:
    """Return every media hash a visit names (photos and signatures)."""
    payload = visit.payload or {}
    hashes = {p.get("sha256") for p in payload.get("photos") or []}
    hashes |= {s.get("sha256") for s in payload.get("signatures") or []}
    return {h for h in hashes if isinstance(h, str)}


def media_complete(visits: list[Visit]) -> dict[uuid.UUID, bool]:
    """Tell for each visit whether every file it names is stored."""
    wanted = {v.id: visit_media(v) for v in visits}
    every = set().union(*wanted.values()) if wanted else set()
    present = set(db.session.scalars(
        select(Media.sha256).where(Media.sha256.in_(every))).all()) if every else set()
    return {vid: hashes <= present for vid, hashes in wanted.items()}


def list_visits(user: User, class_id: uuid.UUID | None,
                since: datetime | None) -> list[dict[str, Any]]:
    """Return the visits a user may see (reviewers: their scope; inspectors: their own)."""
    if user.role not in ("inspector", *REVIEWER_ROLES):
        raise ApiError("forbidden")
    query = scope_visits(user, select(Visit).order_by(Visit.received_at, Visit.id))
    if class_id is not None:
        query = query.where(Visit.class_id == class_id)
    if since is not None:
        query = query.where(Visit.received_at >= since)
    visits = list(db.session.scalars(query).all())
    complete = media_complete(visits)
    return [{
        "id": v.id, "class_id": v.class_id, "session_id": v.session_id,
        "plan_version_id": v.plan_version_id, "inspector_id": v.inspector_id,
        "supersedes_id": v.supersedes_id, "verdict": v.verdict, "started_at": v.started_at,
        "received_at": v.received_at,
        "checks": {k: check_words(v.checks[k]) for k in CHECKS if k in v.checks},
        "flags": list(v.flags or []), "media_complete": complete[v.id],
    } for v in visits]

