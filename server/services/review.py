"""Review of spot-check records and rectification (R10, R15).

Reviewers (county for their county, city for all) list visits, look at one beside the filed plan,
and decide: accept, order a re-inspection (a new assignment), or open a rectification with a
sanction from R15. Base staff answer a rectification with text and files; the reviewer closes
it. Every decision is audited and reaches the inspector's phone through pull.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from server.errors import ApiError, field_error
from server.extensions import db
from server.i18n import translate
from server.models import (
    Assignment,
    Media,
    PlanSession,
    Rectification,
    SignIn,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
    VisitReview,
    utcnow,
)
from server.services.assignments import create_assignment
from server.services.attendance import visit_sign_ins as attendance_sign_ins
from server.services.audit import audit
from server.services.base_status import REVOKED
from server.services.beside_plan import BesidePlan, beside_plan, check_status, judged_version
from server.services.changes import publish_visit_review
from server.services.clock import local_day_start, local_today, to_local
from server.services.draw import county_inspectors
from server.services.filed_roster import person_on
from server.services.issues import flag_code, visit_issues
from server.services.media_store import sniff_mime, store, store_bytes
from server.services.plan_versions import class_version_in_force, year_classes
from server.services.record_seal import payload_seal_state
from server.services.scope import (
    REVIEWER_ROLES,
    can_review_county,
    can_see_rectification,
    can_see_visit,
    counties_in_scope,
    hidden_reviews,
    inspectors_for,
    is_reviewer,
    require_reviewer,
    review_status_for,
    scope_rectifications,
    scope_visits,
)
from server.services.team_checks import check_members, check_visits
from server.services.transitions import claim_state
from server.services.visits import SHA256_HEX, media_hashes
from sync.judge import CHECKS, MISMATCH

SANCTIONS = ("criticism", "deadline", "recovery", "revocation")  # R15, in the notice's order
DECISIONS = ("accepted", "reinspect", "rectification")
REVOCATION_YEARS = 3
ANSWER_MIMES = ("image/jpeg", "image/png", "application/pdf")
MAX_ANSWER_FILES = 5


# --- scope -------------------------------------------------------------------------------


def get_visit(user: User, visit_id: uuid.UUID) -> Visit:
    """Return a visit the user may see; 404 otherwise (existence is not disclosed)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or not can_see_visit(user, visit):
        raise ApiError("not_found")
    return visit


@dataclass
class VisitFilters:
    """Filters of the visit list; local dates (Asia/Shanghai) for the date range."""

    county_id: uuid.UUID | None = None
    base_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    verdict: str | None = None
    flag: str | None = None
    review_status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    mismatch: str | None = None  # a check (place, time, ...) that did not match the plan
    # The coverage's own terms (R10), so its figures can link here: visits (of any date) of the
    # classes of a year (plan_versions.year_classes), and visits with an issue (visit_issues).
    class_year: int | None = None
    issues: bool = False


def list_visits(user: User, filters: VisitFilters | None = None,
                now: datetime | None = None) -> list[Visit]:
    """Visits in the user's scope matching the filters, newest first."""
    f = filters or VisitFilters()
    if user.role not in (*REVIEWER_ROLES, "base_staff"):
        raise ApiError("forbidden")
    # One row per check: a teammate's record is shown inside its check's page.
    query = scope_visits(user, select(Visit).join(TrainingClass, Visit.class_id == TrainingClass.id)
                         .join(TrainingBase, TrainingClass.base_id == TrainingBase.id)
                         .where(Visit.check_of_id.is_(None))
                         .order_by(Visit.started_at.desc()), now)
    if f.county_id:
        query = query.where(TrainingBase.county_id == f.county_id)
    if f.base_id:
        query = query.where(TrainingBase.id == f.base_id)
    if f.class_id:
        query = query.where(Visit.class_id == f.class_id)
    if f.class_year:
        counties = [f.county_id] if f.county_id else [c.id for c in counties_in_scope(user)]
        query = query.where(Visit.class_id.in_([c.id for c in year_classes(counties,
                                                                          f.class_year)]))
    if f.verdict:
        query = query.where(Visit.verdict == f.verdict)
    seen_filter = f.review_status and user.role == "base_staff"
    if f.review_status and not seen_filter:
        query = query.where(Visit.review_status == f.review_status)
    if f.date_from:
        query = query.where(Visit.started_at >= local_day_start(f.date_from))
    if f.date_to:
        query = query.where(Visit.started_at < local_day_start(f.date_to + timedelta(days=1)))
    visits = list(db.session.scalars(query).all())
    if seen_filter:  # by what the base is shown, or the filter would tell a re-inspection apart
        visits = [v for v in visits if review_status_for(user, v, now) == f.review_status]
    if f.mismatch:
        visits = [v for v in visits if check_status((v.checks or {}).get(f.mismatch)) == MISMATCH]
    if f.issues:
        visits = [v for v in visits if visit_issues(v)]
    if f.flag:
        # Flags are a JSON list whose shape differs by engine; a few hundred rows a year per
        # county make filtering here cheaper than two dialects of JSON SQL.
        visits = [v for v in visits if f.flag in {flag_code(x) for x in v.flags or []}
                  or f.flag in _signin_flag_codes(v)]
    return visits


def findings_by_check(user: User, year: int) -> dict[str, int]:
    """How many of the year's visits in scope found each check not matching the plan (R7, R10).

    Counted over exactly the list each figure links to: list_visits with the year's local
    dates (visits begun in it; one row per check, a teammate's record counting with its check)
    and that check as `mismatch`. The dashboard's findings chart and the list behind a bar
    never disagree, also for a class that runs into the next year.
    Returns {check name (sync.judge.CHECKS): count}. Errors: ApiError forbidden (not a reviewer).
    """
    require_reviewer(user)
    counts = dict.fromkeys(CHECKS, 0)
    year_visits = VisitFilters(date_from=date(year, 1, 1), date_to=date(year, 12, 31))
    for visit in list_visits(user, year_visits):
        for name in CHECKS:
            if check_status((visit.checks or {}).get(name)) == MISMATCH:
                counts[name] += 1
    return counts


def _signin_flag_codes(visit: Visit) -> set[str]:
    return {flag_code(x) for s in visit_sign_ins(visit) for x in s.flags or []}


# --- one visit beside its plan -----------------------------------------------------------


def _dig(data: Any, *paths: str) -> Any:
    """Return the first value found at one of the dotted paths of a payload, else None."""
    for path in paths:
        value = data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value not in (None, "", [], {}):
            return value
    return None


def comparison(visit: Visit, view: BesidePlan | None = None) -> list[dict[str, Any]]:
    """Rows of filed plan against observation for each check, with status and reason."""
    view = view or beside_plan(visit)
    session, seen = view.session, view.observed
    site = session.site if session else None
    planned = {
        "place": translate("bureau.cmp.site", name=site.name, address=site.address,
                           lat=f"{site.lat:.5f}", lon=f"{site.lon:.5f}",
                           radius=f"{site.radius_m:.0f}") if site else "",
        "time": f"{session.date} {session.start_time:%H:%M}–{session.end_time:%H:%M}" if session
        else "",
        "teacher": session.teacher.name if session else "",
        "content": session.topic if session else "",
        "attendance": translate("bureau.cmp.roster", n=view.attendance.roster),
    }
    gps = seen.gps
    obs = {
        "place": translate("bureau.cmp.gps", lat=f"{gps.lat:.5f}", lon=f"{gps.lon:.5f}",
                           accuracy=f"{gps.accuracy or 0:.0f}",
                           mocked=translate("bureau.cmp.mocked") if gps.mocked else "")
                 if gps else translate("bureau.cmp.no_fix"),
        "time": f"{to_local(seen.started_at):%Y-%m-%d %H:%M}",
        "teacher": _observed_text(seen.teacher_matches, seen.teacher_name),
        "content": _observed_text(seen.content_matches, seen.topic),
        "attendance": translate("bureau.cmp.headcount",
                                headcount=seen.headcount if seen.headcount is not None else "—",
                                signins=view.attendance.signed_in),
    }
    return [{"check": c.check, "planned": planned[c.check], "observed": obs[c.check],
             "status": c.status, "reason": c.reason, "codes": c.codes} for c in view.checks]


def _observed_text(matches: bool | None, text: str) -> str:
    key = {True: "as_planned", False: "not_as_planned", None: "unconfirmed"}[matches]
    verdict = translate(f"bureau.cmp.{key}")
    return translate("bureau.cmp.observed", verdict=verdict, text=text) if text else verdict


def visit_team(visit: Visit, user: User | None = None) -> list[str]:
    """The names of the inspectors of a visit: the assigned team, or the one who submitted it
    (a base is told only 市人社局 for a covert check: scope.inspectors_for)."""
    names = [visit.inspector.display_name or visit.inspector.username]
    if visit.assignment_id:
        assignment = db.session.get(Assignment, visit.assignment_id)
        if assignment is not None and assignment.inspectors:
            names = sorted(u.display_name or u.username for u in assignment.inspectors)
    return inspectors_for(user, visit, names) if user else names


def visit_sign_ins(visit: Visit) -> list[SignIn]:
    """Sign-ins of a visit (they may have arrived before the visit), in time order."""
    return attendance_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows


def sign_in_rows(visit: Visit, view: BesidePlan | None = None) -> list[dict[str, Any]]:
    """Sign-ins with the trainee's name (never the ID number) and their anomalies."""
    rows = []
    version = view.version if view else judged_version(visit)
    for sign_in in (view.sign_ins if view else visit_sign_ins(visit)):
        # As the judged version's roster shows the person (frozen once filed, R7).
        trainee = person_on(version, sign_in.trainee_id)
        rows.append({"sign_in": sign_in, "name": trainee.name if trainee else "",
                     "id_masked": trainee.id_masked if trainee else "",
                     "flags": [flag_code(f) for f in sign_in.flags or []]})
    return rows


def visit_media(visit: Visit) -> dict[str, list[dict[str, Any]]]:
    """Photos and signatures of a visit, from its payload, for display."""
    payload = visit.payload or {}

    def items(*paths: str) -> list[dict[str, Any]]:
        raw = _dig(payload, *paths) or []
        out = []
        for item in raw if isinstance(raw, list) else []:
            entry = {"sha256": item} if isinstance(item, str) else dict(item)
            if SHA256_HEX.match(str(entry.get("sha256", ""))):
                out.append(entry)
        return out

    return {"photos": items("photos", "media.photos"),
            "signatures": items("signatures", "media.signatures")}


def base_refusal(visit: Visit) -> dict[str, str] | None:
    """The base representative's sealed refusal to sign (拒签: {reason, name}, name "" when not
    given), or None when they signed. The record's own words: the page and the 抽查记录表 show
    it in the base's signature row, which is otherwise empty."""
    refused = (visit.payload or {}).get("base_refused")
    if not isinstance(refused, dict):
        return None
    return {"reason": str(refused.get("reason") or ""), "name": str(refused.get("name") or "")}


def seal_state(visit: Visit) -> dict[str, Any]:
    """The stored seal, the recomputed one, whether they agree and whether its media are here."""
    recomputed, intact = payload_seal_state(visit)
    hashes = media_hashes(visit)
    present = set(db.session.scalars(select(Media.sha256).where(Media.sha256.in_(hashes)))) \
        if hashes else set()
    return {"stored": visit.seal, "recomputed": recomputed, "intact": intact,
            "media_total": len(hashes), "media_missing": sorted(hashes - present)}


# --- decisions -----------------------------------------------------------------------------


def _decide(user: User, visit: Visit, decision: str, comment: str) -> VisitReview:
    require_reviewer(user)
    if not can_review_county(user, visit.training_class.base.county_id):
        raise ApiError("not_found")
    if visit.review_status != "pending":
        raise ApiError("review.invalid_state", details={"review_status": visit.review_status})
    # A team's records are one check: the decision is on all of them, and every member hears it.
    # Atomic: every decision on the check claims its own record (the lead) first, whichever
    # record it was taken on, so of two concurrent ones exactly one wins and the other gets 409
    # (each claiming the record it was on, then writing the other's, deadlocked).
    lead_id = visit.check_of_id or visit.id
    lead = visit if lead_id == visit.id else db.session.get(Visit, lead_id)
    claim_state(lead or visit, "review_status", ("pending",), decision, "review.invalid_state")
    records = check_visits(visit)
    for record in sorted(records, key=lambda r: r.id):  # the rest one by one, in one order
        if record.review_status != decision:
            record.review_status = decision
            db.session.flush()
    review = VisitReview(visit_id=visit.id, decision=decision, comment=comment,
                         reviewer_id=user.id, at=utcnow())
    review.visit = visit
    db.session.add(review)
    db.session.flush()
    publish_visit_review(review, check_members(visit, records))
    return review


def accept_visit(user: User, visit: Visit, comment: str = "") -> VisitReview:
    """Accept a visit as it is."""
    review = _decide(user, visit, "accepted", comment)
    audit("visit.accept", "visit", visit.id, user=user, comment=comment)
    return review


def future_sessions(training_class: TrainingClass, today: date | None = None) -> list[PlanSession]:
    """Sessions of the class's filed plan not yet held (from today on)."""
    today = today or local_today()
    version = class_version_in_force(training_class)
    return [s for s in version.sessions if s.date >= today] if version else []


def order_reinspection(user: User, visit: Visit, comment: str = "", *,
                       session_id: uuid.UUID | None = None,
                       inspector_ids: list[uuid.UUID] | None = None,
                       today: date | None = None) -> tuple[VisitReview, Any]:
    """Order another unannounced visit of the class: a new assignment to a team of two or more.

    Without a session or team given, both are drawn at random (a re-inspection is as
    unannounced as the first visit), preferring inspectors other than the first team.
    """
    county_id = visit.training_class.base.county_id
    sessions = future_sessions(visit.training_class, today)
    if session_id is not None:
        session = next((s for s in sessions if s.id == session_id), None)
        if session is None:
            raise field_error("session_id", "field.review.future_session")
    elif sessions:
        session = secrets.choice(sessions)
    else:
        raise ApiError("review.invalid_state", "review.no_future_session")
    pool = county_inspectors(county_id)
    if inspector_ids:
        chosen = [u for u in pool if u.id in set(inspector_ids)]
        if len(chosen) != len(set(inspector_ids)) or len(chosen) < 2:
            raise field_error("inspector_ids", "field.review.two_inspectors")
    else:
        others = [u for u in pool if u.id != visit.inspector_id]
        rng = secrets.SystemRandom()
        chosen = rng.sample(others, 2) if len(others) >= 2 else rng.sample(pool, min(2, len(pool)))
        if len(chosen) < 2:
            raise ApiError("draw.not_enough_inspectors")
    review = _decide(user, visit, "reinspect", comment)
    assignment = create_assignment(visit.class_id, session.id, chosen, actor=user)
    review.assignment_id = assignment.id
    audit("visit.reinspect", "visit", visit.id, user=user, comment=comment,
          assignment_id=str(assignment.id))
    return review, assignment


def add_years(day: date, years: int) -> date:
    """The same day some years later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def open_rectification(user: User, visit: Visit, sanction: str, order_text: str,
                       deadline: date | None = None, today: date | None = None
                       ) -> tuple[VisitReview, Rectification]:
    """Order the base to rectify with a sanction from R15; 取消资格 bars it for three years."""
    today = today or local_today()
    if sanction not in SANCTIONS:
        raise ApiError("validation_error", errors={"sanction": [f"one of {', '.join(SANCTIONS)}"]})
    if sanction == "deadline" and (deadline is None or deadline <= today):
        raise field_error("deadline", "field.review.deadline_future")
    review = _decide(user, visit, "rectification", order_text)
    base = visit.training_class.base
    rectification = Rectification(visit_id=visit.id, base_id=base.id, sanction=sanction,
                                  order_text=order_text, deadline=deadline, created_by_id=user.id,
                                  created_at=utcnow())
    db.session.add(rectification)
    db.session.flush()
    audit("rectification.open", "rectification", rectification.id, user=user,
          visit_id=str(visit.id), sanction=sanction,
          deadline=deadline.isoformat() if deadline else None)
    if sanction == "revocation":
        base.status = REVOKED
        base.revoked_until = add_years(today, REVOCATION_YEARS)
        audit("base.revoke", "base", base.id, user=user,
              revoked_until=base.revoked_until.isoformat(),
              rectification_id=str(rectification.id))
    return review, rectification


def get_rectification(user: User, rectification_id: uuid.UUID) -> Rectification:
    """Return a rectification the user may see; 404 otherwise."""
    rectification = db.session.get(Rectification, rectification_id)
    if rectification is None or not can_see_rectification(user, rectification):
        raise ApiError("not_found")
    return rectification


DUE_BUCKETS = ("overdue", "week", "later", "none")


def due_bucket(deadline: date | None, today: date) -> str:
    """Where an unfinished rectification's deadline lies: overdue, within a week, later, none."""
    if deadline is None:
        return "none"
    if deadline < today:
        return "overdue"
    return "week" if (deadline - today).days <= 7 else "later"


def list_rectifications(user: User, status: str | None = None, due: str | None = None,
                        today: date | None = None, base_id: uuid.UUID | None = None
                        ) -> list[Rectification]:
    """Rectifications in the user's scope, open ones first, newest first; `due` keeps the
    unfinished ones (all of them, or by where their deadline lies: overdue, week, later, none)."""
    query = scope_rectifications(user, select(Rectification))
    if status:
        query = query.where(Rectification.status == status)
    if base_id:
        query = query.where(Rectification.base_id == base_id)
    items = db.session.scalars(query.order_by(Rectification.created_at.desc())).all()
    if due:
        day = today or local_today()
        items = [r for r in items if r.status != "closed"
                 and due in ("unfinished", due_bucket(r.deadline, day))]
    order = {"open": 0, "answered": 1, "closed": 2}
    return sorted(items, key=lambda r: order.get(r.status, 3))


@dataclass
class AnswerFile:
    """A file a base attaches to its answer."""

    filename: str
    data: bytes


def sniff_answer_mime(data: bytes) -> str | None:
    """JPEG, PNG or PDF by their leading bytes (the only kinds an answer may carry)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"

    kind = sniff_mime(data)
    return kind if kind in ANSWER_MIMES else None


def store_media_bytes(data: bytes, mime: str, user: User | None) -> str:
    """Store bytes content-addressed (once) with a Media row; return the SHA-256."""

    return store_bytes(data, mime, user.id if user else None)


def answer_rectification(user: User, rectification: Rectification, text: str,
                         files: list[AnswerFile] | None = None) -> Rectification:
    """The base's answer: text and files (JPEG, PNG or PDF); it may answer again until closed."""
    files = files or []
    if user.role != "base_staff" or user.base_id != rectification.base_id:
        raise ApiError("forbidden")
    if rectification.status == "closed":
        raise ApiError("review.invalid_state", details={"status": rectification.status})
    # Atomic against a concurrent close: an answer to a closed rectification is refused.
    claim_state(rectification, "status", ("open", "answered"), "answered", "review.invalid_state")
    if not text.strip():
        raise field_error("text", "field.review.answer_text")
    if len(files) > MAX_ANSWER_FILES:
        raise field_error("files", "field.review.too_many_files", count=MAX_ANSWER_FILES)
    limit = current_app.config["MEDIA_MAX_BYTES"]
    checked = []
    for item in files:
        mime = sniff_answer_mime(item.data)
        if mime is None:
            raise field_error("files", "field.review.file_type", name=item.filename)
        if len(item.data) > limit:
            raise field_error("files", "field.review.file_too_large", name=item.filename)
        checked.append((item, mime))
    stored = [{"sha256": store_media_bytes(item.data, mime, user), "mime": mime,
               "name": os.path.basename(item.filename)[:128], "size": len(item.data)}
              for item, mime in checked]
    rectification.response_text = text.strip()
    rectification.response_media = [*(rectification.response_media or []), *stored]
    rectification.answered_at = utcnow()
    audit("rectification.answer", "rectification", rectification.id, user=user,
          files=[s["sha256"] for s in stored])
    return rectification


def close_rectification(user: User, rectification: Rectification,
                        comment: str = "") -> Rectification:
    """The reviewer closes an answered rectification."""
    require_reviewer(user)
    if not can_see_rectification(user, rectification):
        raise ApiError("not_found")
    if rectification.status != "answered":
        raise ApiError("review.invalid_state", "review.not_answered",
                       details={"status": rectification.status})
    claim_state(rectification, "status", ("answered",), "closed", "review.invalid_state")
    rectification.closed_at = utcnow()
    rectification.closing_comment = comment
    audit("rectification.close", "rectification", rectification.id, user=user, comment=comment)
    return rectification


def return_rectification(user: User, rectification: Rectification, comment: str) -> Rectification:
    """The reviewer sends an answer back to the base as not enough; the base answers again."""
    require_reviewer(user)
    if not can_see_rectification(user, rectification):
        raise ApiError("not_found")
    if rectification.status != "answered":
        raise ApiError("review.invalid_state", "review.only_answered_return",
                       details={"status": rectification.status})
    if not comment.strip():
        raise field_error("comment", "field.return_reason_required")
    claim_state(rectification, "status", ("answered",), "open", "review.invalid_state")
    rectification.return_comment = comment.strip()
    rectification.returned_at = utcnow()
    audit("rectification.return", "rectification", rectification.id, user=user, comment=comment)
    return rectification


def visit_reviews(visit: Visit, user: User | None = None) -> list[VisitReview]:
    """Decisions taken on a visit, oldest first; base staff do not see a re-inspection order
    (nor its comment) before that visit happened."""
    reviews = list(db.session.scalars(
        select(VisitReview).where(VisitReview.visit_id == visit.id).order_by(VisitReview.at)).all())
    if user is not None and user.role == "base_staff":
        hidden = hidden_reviews(visit)
        reviews = [r for r in reviews if r.id not in hidden]
    return reviews


def visit_rectifications(visit: Visit) -> list[Rectification]:
    """Rectifications opened on a visit."""
    return list(db.session.scalars(
        select(Rectification).where(Rectification.visit_id == visit.id)
        .order_by(Rectification.created_at)).all())


def visit_summary(visit: Visit, user: User | None = None) -> dict[str, Any]:
    """The facts a list row needs: issues, class, base, county and the review state the user
    may be shown (scope.review_status_for)."""
    training_class = visit.training_class
    return {"visit": visit, "issues": visit_issues(visit), "class": training_class,
            "base": training_class.base, "county": training_class.base.county,
            "review_status": review_status_for(user, visit) if user else visit.review_status}


def visit_detail_dict(visit: Visit, row: dict[str, Any]) -> dict[str, Any]:
    """A visit's detail as plain data for the API: comparison, seal, flags and sign-ins."""
    view = beside_plan(visit)
    return {**row, "comparison": comparison(visit, view), "seal": seal_state(visit),
            "flags": list(visit.flags or []),
            "sign_ins": [{"name": r["name"], "method": r["sign_in"].method,
                          "at": r["sign_in"].at, "flags": r["flags"]}
                         for r in sign_in_rows(visit, view)],
            "attendance": view.attendance,
            "judged_session_id": view.session.id if view.session else None,
            "judged_plan_version_id": view.version.id}


def media_file(user: User, sha256: str, *, visit: Visit | None = None,
               rectification: Rectification | None = None) -> str:
    """Return the MIME type of a stored file the user may open through a visit or a rectification.

    Visit photos and signatures are for reviewers only; answer files for the rectification's
    reviewers and its base. Anything else is not found.
    """

    if visit is not None:
        allowed = is_reviewer(user) and can_see_visit(user, visit) \
            and sha256 in media_hashes(visit)
    elif rectification is not None:
        allowed = can_see_rectification(user, rectification) and sha256 in {
            m.get("sha256") for m in rectification.response_media or []}
    else:
        allowed = False
    media = db.session.get(Media, sha256) if allowed else None
    if media is None or not store().has(sha256):
        raise ApiError("not_found")
    return media.mime
