"""visit.submit: check the seal, judge the visit against its filed session, store it once.

Evidence is create-only: a visit is never changed by a push; a correction is a new visit whose
payload names the one it `supersedes`. A visit checked against a plan version that is no longer
current is accepted and flagged `plan.outdated`, never dropped.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import ColumnElement, Row, Select, bindparam, false, null, select
from sqlalchemy.orm import aliased, contains_eager, joinedload

from schemas.visits import VisitPayloadSchema
from server.errors import ApiError
from server.extensions import db
from server.i18n import check_words
from server.models import (
    Assignment,
    Media,
    Plan,
    PlanSession,
    PlanVersion,
    SignIn,
    Site,
    Teacher,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
    assignment_inspector,
)
from server.services.attendance import VisitSignIns, visit_sign_ins
from server.services.beside_plan import JUDGED_SESSION_KEY, judged_version
from server.services.clock import zone_name
from server.services.filed_roster import roster_ids, version_roster_ids
from server.services.fresh_evidence import evidence_tolerance, gps_fix
from server.services.plan_versions import select_version_in_force
from server.services.push_context import PushContext
from server.services.scope import REVIEWER_ROLES, can_see_class, scope_visits
from server.services.signin_flags import (
    raise_attendance_findings,
    remember_sign_ins,
    stored_visits,
)
from server.services.team_checks import complete_assignment, lead_visit_of
from server.services.transitions import lock_rows
from sync.canonical import seal_matches
from sync.judge import (
    CHECKS,
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


def judging_settings() -> dict[str, Any]:
    """The settings the server judges a visit's checks by, for the phone to judge by the same
    (the field app's checks.js): {gps_max_accuracy_m (m), attendance_min_rate (0..1),
    time_tolerance_minutes, evidence_tolerance_minutes}. Sent on every pull page (the phone
    judges by these) and with each pulled plan version."""
    config = current_app.config
    return {"gps_max_accuracy_m": float(config["GPS_MAX_ACCURACY_M"]),
            "attendance_min_rate": float(config["ATTENDANCE_MIN_RATE"]),
            "time_tolerance_minutes": int(TIME_TOLERANCE.total_seconds() // 60),
            "evidence_tolerance_minutes": int(config["EVIDENCE_TOLERANCE_MINUTES"])}


_PAYLOAD = VisitPayloadSchema()  # built once (a schema's construction copies its fields)
# What judging a visit reads of its session besides the row: one query, not three.
_SESSION_LOADS = (joinedload(PlanSession.site), joinedload(PlanSession.teacher))


def _load(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return _PAYLOAD.load(payload)
    except ValidationError as error:
        raise Rejected("validation_error", "visit.invalid_payload",
                       errors=error.normalized_messages()) from error


def _judged_session(session: PlanSession, current_id: uuid.UUID | None) -> PlanSession:
    # Judge against what should be happening now: the same session in the current version.
    if current_id is None or current_id == session.plan_version_id:
        return session
    twin = db.session.scalar(select(PlanSession).where(
        PlanSession.plan_version_id == current_id, PlanSession.lineage_id == session.lineage_id)
        .options(*_SESSION_LOADS))
    return twin or session


def _look_up(context: PushContext, data: dict[str, Any], visit_id: uuid.UUID,
             cited: set[str]) -> Row | None:
    """Read in one query what the checks of a pushed visit need, or None if its class is unknown.

    The row: the class (with its base, which the scope reads), the payload's plan version (with
    its plan), session (with its site and teacher) and assignment, each None when it does not
    exist; then `stored` (a visit with this id exists), `earlier_class_id` (the class of the
    visit it supersedes, None if none or unknown), `current_id` (the class's version in force),
    `duplicate` (a visit of the session's lineage, by an inspector of the pusher's kind, city
    or county, exists besides the superseded one),
    `on_team` (the pusher is on the assignment's team) and `foreign` (foreign_media's finding).
    Each check still decides in `submit_visit`, in its order; this only saves the round trips
    (eight statements before).
    """
    user = context.user
    shape = (data["assignment_id"] is not None, data["supersedes"] is not None, bool(cited),
             user.county_id is not None)
    params = {"visit_id": visit_id, "class_id": data["class_id"],
              "plan_version_id": data["plan_version_id"], "session_id": data["session_id"],
              "user_id": user.id, "assignment_id": data["assignment_id"],
              "supersedes": data["supersedes"], "cited": sorted(cited),
              "county_id": user.county_id}
    return db.session.execute(_look_up_query(*shape), params).one_or_none()


@functools.cache
def _look_up_query(assignment: bool, supersedes: bool, cited: bool, county: bool) -> Select:
    """Build the look-up for one shape of payload, once per process (building it costs about
    four times the CPU of running it); its parameters are named as in `_look_up`."""
    visit_id, class_id, user_id = bindparam("visit_id"), bindparam("class_id"), bindparam("user_id")
    assignment_id, superseded = bindparam("assignment_id"), bindparam("supersedes")
    # The session's lineage, the session itself included (a visit of either is a duplicate).
    lineage = aliased(PlanSession)
    # Of the pusher's kind only: a city covert check (暗访, inspectors without a county) and a
    # county's check of one session are two checks, not a repeat; and a county inspector's
    # push must not learn from its flag that a covert check exists (R10).
    inspector = aliased(User)
    same_kind = inspector.county_id.is_not(None) if county else inspector.county_id.is_(None)
    same_lineage = (select(Visit.id).join(lineage, lineage.id == Visit.session_id)
                    .join(inspector, inspector.id == Visit.inspector_id)
                    .where(lineage.lineage_id == PlanSession.lineage_id, same_kind))
    if supersedes:
        same_lineage = same_lineage.where(Visit.id != superseded)
    team = None
    on_team: ColumnElement[bool] = false()
    if assignment:
        team = select(assignment_inspector.c.user_id).where(
            assignment_inspector.c.assignment_id == assignment_id)
        on_team = team.where(assignment_inspector.c.user_id == user_id).exists()
    # A correction supersedes the inspector's own record of the class, nobody else's: naming
    # another's (a teammate's, a covert check's) would hide its duplicate flag and tell the
    # pusher that the id exists.
    earlier = (select(Visit.class_id).where(Visit.id == superseded, Visit.inspector_id == user_id)
               .scalar_subquery() if supersedes else null())
    # Its own plan_version and plan: the payload's version is joined in the outer query.
    current = (select_version_in_force(class_id).with_only_columns(PlanVersion.id)
               .correlate(None).scalar_subquery())
    foreign = (foreign_media(bindparam("cited", expanding=True), user_id, team,
                             bindparam("county_id") if county else None)
               if cited else false())
    return (
        select(TrainingClass, PlanVersion, PlanSession, Assignment,
               select(Visit.id).where(Visit.id == visit_id).exists().label("stored"),
               earlier.label("earlier_class_id"), current.label("current_id"),
               same_lineage.exists().label("duplicate"), on_team.label("on_team"),
               foreign.label("foreign"))
        .join(TrainingBase, TrainingBase.id == TrainingClass.base_id)
        .outerjoin(PlanVersion, PlanVersion.id == bindparam("plan_version_id"))
        .outerjoin(Plan, Plan.id == PlanVersion.plan_id)
        .outerjoin(PlanSession, PlanSession.id == bindparam("session_id"))
        .outerjoin(Site, Site.id == PlanSession.site_id)
        .outerjoin(Teacher, Teacher.id == PlanSession.teacher_id)
        .outerjoin(Assignment, Assignment.id == assignment_id if assignment else false())
        .where(TrainingClass.id == class_id)
        .options(contains_eager(TrainingClass.base), contains_eager(PlanVersion.plan),
                 contains_eager(PlanSession.site), contains_eager(PlanSession.teacher)))


def judge_attendance_of(visit_id: uuid.UUID, plan_version_id: uuid.UUID, signin_ids: list[str],
                        headcount: int | None, sign_ins: VisitSignIns | None = None,
                        roster: list[str] | None = None) -> dict[str, Any]:
    """Judge attendance of a visit from the roster and the sign-ins received so far.

    sign_ins: the visit's sign-ins (attendance.visit_sign_ins) when the caller has them already;
    roster: the version's roster ids (filed_roster.roster_ids or version_roster_ids) likewise.
    """
    if sign_ins is None:
        sign_ins = visit_sign_ins(visit_id, signin_ids)
    check = judge_attendance(
        roster_ids(plan_version_id) if roster is None else roster,
        [str(s.trainee_id) if s.trainee_id else None for s in sign_ins.rows],
        headcount, current_app.config["ATTENDANCE_MIN_RATE"], missing_signins=sign_ins.missing)
    return check.to_dict()


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
    cited = {p["sha256"] for p in data["photos"]} | {g["sha256"] for g in data["signatures"]}
    found = _look_up(context, data, visit_id, cited)
    if found is None or found.stored:
        stored = db.session.get(Visit, visit_id)
        if stored is not None:
            if (stored.inspector_id == context.user.id
                    and stored.seal == str(payload["seal"]).lower()):
                # The same sealed record sent again (a re-send after a server restore): done.
                return Outcome(flags=list(stored.flags or []), detail="sync.already_stored")
            raise Rejected("visit.exists")
    if found is None or not can_see_class(context.user, found.TrainingClass):
        raise Rejected("visit.unknown_class")
    training_class, version, session = found.TrainingClass, found.PlanVersion, found.PlanSession
    if version is None or version.plan.class_id != training_class.id:
        raise Rejected("visit.unknown_plan_version")
    # A session of another version of the same class's plan (the plan changed between what the
    # record names): evidence of a visit to this class all the same, accepted and flagged
    # plan.outdated below (DESIGN §4: never dropped). Only a session of no version of this class
    # makes the record no visit of it.
    session_elsewhere = session is not None and session.plan_version_id != version.id
    if session is None or (session_elsewhere
                           and session.plan_version.plan.class_id != training_class.id):
        raise Rejected("visit.unknown_session")
    assignment = found.Assignment
    if data["assignment_id"] is not None and (
            assignment is None or assignment.class_id != training_class.id):
        raise Rejected("visit.unknown_assignment")
    if data["supersedes"] is not None and found.earlier_class_id != training_class.id:
        raise Rejected("visit.unknown_supersedes")
    if found.foreign:
        raise Rejected("visit.foreign_media")

    config = current_app.config
    judged = _judged_session(session, found.current_id)
    flags: list[str] = []
    if (found.current_id is not None and found.current_id != version.id) or session_elsewhere:
        flags.append("plan.outdated")
    skew = clock_skew(mutation.client_time, context.received_at,
                      timedelta(minutes=config["CLOCK_SKEW_MINUTES"]))
    if skew is not None:
        flags.append("clock.skew")
    on_team = assignment is not None and found.on_team
    if on_team:
        # A teammate pushing the same check now waits here until this batch commits, then finds
        # this record as the check's lead: without the lock both saw no lead and both were one.
        _lock_batch_assignments(context, assignment.id)
    # A teammate's record of a check already stored: part of that check, not a second visit.
    lead = lead_visit_of(assignment.id, excluding=visit_id) if on_team else None
    if lead is not None:
        flags.append("visit.team_record")
    elif found.duplicate:
        flags.append("visit.duplicate_session")
    if assignment is not None and not on_team:
        # Evidence is never dropped, but a visit under someone else's assignment needs a look.
        flags.append("assignment.not_on_team")

    implausible = implausible_time(
        data["started_at"], data["ended_at"], training_class.start_date, training_class.end_date,
        context.received_at, timedelta(minutes=config["CLOCK_SKEW_MINUTES"]), zone_name(),
        TIME_TOLERANCE)
    if implausible is not None:
        flags.append("visit.implausible_time")
    fix = gps_fix(data["gps"])
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
        # The version's enrolments as loaded: the end of the batch reconciles the visit by
        # name from the same collection (roster_of), without reading the roster again.
        "attendance": judge_attendance_of(visit_id, judged.plan_version_id, named,
                                          observed.get("headcount"), sign_ins,
                                          version_roster_ids(judged.plan_version)),
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
        # A teammate's record arriving after the check was decided takes the check's decision
        # (review._decide writes it on every record of the check): one check, one state.
        review_status=lead.review_status if lead is not None else "pending",
        # The rows just read, linked (same ids as above): the end-of-batch steps read the visit's
        # session, version and class again and find them here, not in the database.
        training_class=training_class, session=session, plan_version=version,
    )
    db.session.add(visit)
    if not context.careful:
        # The end-of-batch steps take the visit as stored, without reading it back (a careful
        # retry stores it in a savepoint that may still fail: they read it back there).
        context.stored_visits[visit_id] = visit
        remember_sign_ins(context, visit, sign_ins)  # its reconciliation reads them no more
    # Its attendance counts every sign-in of this batch so far (written above): it is judged
    # again at the end of the batch only if one of a later seq names it (signin.create adds it).
    context.touched_visits.discard(visit_id)
    if on_team:
        complete_assignment(assignment)  # the team's check is made: every member's phone hears it
    return Outcome(flags=flags)


def _lock_batch_assignments(context: PushContext, assignment_id: uuid.UUID) -> None:
    """Lock a team visit's assignment with every assignment the batch's visits name, in id order.

    All of them at each team visit (the batch's later ones find them held already), in one
    order: two batches naming the same assignments in different orders would otherwise deadlock.
    """
    ids = {assignment_id}
    for mutation in context.batch:
        named = mutation.payload.get("assignment_id") if mutation.type == "visit.submit" else None
        if named:
            try:
                ids.add(uuid.UUID(str(named)))
            except ValueError:
                continue  # rejected as invalid when its turn comes
    lock_rows(Assignment, ids)


def rejudge_touched_visits(context: PushContext) -> None:
    """Judge attendance again for visits whose sign-ins arrived after them (end of a batch)."""
    if not context.touched_visits:
        return
    # shared with the flags finisher
    for visit in stored_visits(context, set(context.touched_visits)):
        _judge_attendance_check_again(visit)


def judge_stored_visit_again(visit_id: uuid.UUID) -> None:
    """A self sign-in or a refused attempt against a visit already stored: judge it again now.

    Its attendance check (as the end of a push batch judges it for pushed sign-ins that arrive
    after their visit, rejudge_touched_visits) and its reconciliation, findings and stale flags
    (signin_flags.raise_attendance_findings) then count the new sign-in or attempt; nothing when
    the visit has not arrived yet (its own push judges it then).
    """
    visit = db.session.get(Visit, visit_id)
    if visit is not None:
        _judge_attendance_check_again(visit)
        raise_attendance_findings(visit)


def _judge_attendance_check_again(visit: Visit) -> None:
    checks = dict(visit.checks)
    version = judged_version(visit)
    checks["attendance"] = judge_attendance_of(
        visit.id, version.id, visit.payload.get("signins") or [],
        (visit.payload.get("observed") or {}).get("headcount"),
        roster=version_roster_ids(version))
    visit.checks = checks


def _signin_times(sign_ins: VisitSignIns, signin_ids: list[str]) -> list[datetime]:
    """Capture times of the sign-ins a visit names that are already stored (among its sign-ins,
    which hold every stored one it names)."""
    named = {uuid.UUID(s) for s in signin_ids}
    return [row.at for row in sign_ins.rows if row.id in named]


def foreign_media(hashes: Any, user_id: Any, team: Select | None,
                  county_id: Any | None) -> ColumnElement[bool]:
    """SQL, true when another county's inspector uploaded one of these hashes (evidence is its
    own visit's).

    Allowed: the pusher (`user_id`) and its assignment's team (`team`: a select of user ids,
    or None), and anyone of the pusher's county (`county_id`, None when the pusher has none; the
    same file can be stored once for two inspectors of one county). A file not stored yet is
    fine: the phone uploads a visit's media after pushing it. Values or bound parameters alike
    (`hashes`: a list, or an expanding parameter).
    """
    query = (select(Media.sha256).join(User, User.id == Media.uploaded_by_id)
             .where(Media.sha256.in_(hashes), Media.uploaded_by_id != user_id))
    if team is not None:
        query = query.where(Media.uploaded_by_id.not_in(team))
    if county_id is not None:
        query = query.where(User.county_id.is_distinct_from(county_id))
    return query.exists()


SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")  # a media hash as stored: 64 lowercase hex digits


def payload_media_hashes(payload: dict[str, Any] | None) -> set[str]:
    """Every media hash a sealed visit payload names: any `sha256` or `*_sha256` value, and
    hashes in lists (photos, signatures, whatever a later payload version adds)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and (key == "sha256" or key.endswith("_sha256")) \
                        and SHA256_HEX.match(item):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str) and SHA256_HEX.match(item):
                    found.add(item)
                else:
                    walk(item)

    walk(payload or {})
    return found


def media_hashes(visit: Visit) -> set[str]:
    """Every media hash a visit refers to: its sealed payload's and its sign-ins' signatures.

    The one answer to "which files make this visit whole" (the visit page's seal panel, the
    media a reviewer may open, media_complete in the visit list).
    """
    rows = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
    return payload_media_hashes(visit.payload) | {
        s.signature_sha256 for s in rows if s.signature_sha256}


def media_complete(visits: list[Visit]) -> dict[uuid.UUID, bool]:
    """Tell for each visit whether every file it refers to (media_hashes) is stored.

    Two queries for the whole list: the sign-ins' signatures, then the stored files.
    """
    wanted = {v.id: payload_media_hashes(v.payload) for v in visits}
    # A sign-in counts for its own visit and for each visit whose payload names it.
    naming: dict[uuid.UUID, set[uuid.UUID]] = {}
    for visit in visits:
        for text in (visit.payload or {}).get("signins") or []:
            if (sign_in_id := _uuid_or_none(text)) is not None:
                naming.setdefault(sign_in_id, set()).add(visit.id)
    if visits:
        belongs = SignIn.visit_id.in_(list(wanted))
        if naming:
            belongs = belongs | SignIn.id.in_(list(naming))
        for sign_in_id, visit_id, sha in db.session.execute(
                select(SignIn.id, SignIn.visit_id, SignIn.signature_sha256)
                .where(belongs, SignIn.signature_sha256.is_not(None))):
            for vid in {visit_id, *naming.get(sign_in_id, ())} & wanted.keys():
                wanted[vid].add(sha)
    every = set().union(*wanted.values()) if wanted else set()
    present = set(db.session.scalars(
        select(Media.sha256).where(Media.sha256.in_(every))).all()) if every else set()
    return {vid: hashes <= present for vid, hashes in wanted.items()}


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


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

