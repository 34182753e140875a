"""Anti-proxy flags on sign-ins (代签, 冒名顶替) and the attendance reconciliation of a visit.

Nothing suspicious is silently accepted, and nothing is silently dropped either: a suspicious
sign-in is recorded with flags, and the visit's reconciliation turns flags into findings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from server.errors import ApiError
from server.extensions import db
from server.models import AuditEvent, PlanSession, SignIn, Site, Visit
from server.services.attendance import VisitSignIns, count_sign_ins, visit_sign_ins
from server.services.badges import BadgeClaims, verify_badge_token
from server.services.beside_plan import judged_version, visit_headcount
from server.services.clock import local_date_of
from server.services.filed_roster import RosterEntry, person_on, roster_of, version_roster_ids
from server.services.fresh_evidence import evidence_tolerance, mark_visit_stale, signin_is_stale
from server.services.geo import distance_m
from server.services.plan_versions import roster_version
from server.services.push_context import PushContext, any_of, dialect_name, none_of
from server.services.record_seal import SigninSealer
from sync.judge import rate_is_low

SAME_DEVICE = "signin.same_device_multiple"
DUPLICATE = "signin.duplicate_trainee"
OUTSIDE = "signin.outside_geofence"
NO_LOCATION = "signin.location_unverified"
CODE_EXPIRED = "signin.code_expired"
RAPID = "signin.rapid_scans"
NOT_ON_ROSTER = "signin.not_on_roster"
STALE = "signin.stale"  # taken (or its GPS fix) outside its visit: services/fresh_evidence.py
# Flags that point at someone signing for someone else rather than at a careless scan.
PROXY_FLAGS = (SAME_DEVICE, OUTSIDE, CODE_EXPIRED, RAPID)
RAPID_SCAN_COUNT = 10  # this many scans in a row ...
RAPID_SCAN_SECONDS = 1.0  # ... each less than this after the one before: nobody presents so fast


def _add_flag(signin: SignIn, flag: str) -> bool:
    """Add a flag once; reassign the list so the JSON column is saved."""
    if flag in (signin.flags or []):
        return False
    signin.flags = [*(signin.flags or []), flag]
    return True


def verify_badge_for(token: str | None, *, class_id: uuid.UUID,
                     trainee_id: uuid.UUID | None = None) -> BadgeClaims:
    """Verify a badge for a sign-in in a class; raise signin.badge_invalid if it does not fit."""
    claims = verify_badge_token(token) if token else None
    if claims is None:
        raise ApiError("signin.badge_invalid", details={"reason": "signature"})
    if claims.class_id != class_id:
        raise ApiError("signin.badge_invalid", details={"reason": "other_class"})
    if trainee_id is not None and claims.trainee_id != trainee_id:
        raise ApiError("signin.badge_invalid", details={"reason": "other_trainee"})
    return claims


def class_sites(class_id: uuid.UUID, on: datetime | None = None) -> list[Site]:
    """Return the sites a sign-in may happen at: that day's sessions', else all the plan's."""
    version = roster_version(class_id)
    if version is None:
        return []
    sessions: list[PlanSession] = list(version.sessions)
    if on is not None:
        day = local_date_of(on)
        same_day = [s for s in sessions if s.date == day]
        sessions = same_day or sessions
    seen: dict[uuid.UUID, Site] = {}
    for session in sessions:
        seen.setdefault(session.site_id, session.site)
    return list(seen.values())


def geofence_flag(gps: dict | None, sites: list[Site]) -> str | None:
    """Return OUTSIDE, NO_LOCATION or None for a fix against the allowed sites.

    A fix the visit's place check could not use cannot place a sign-in either (sync/judge.py
    judge_place): a mocked one, one without an accuracy or a worse one than GPS_MAX_ACCURACY_M
    is NO_LOCATION, never inside (a mocked fix at the site proved nothing) nor outside.
    """
    if not sites:
        return None
    if (not gps or gps.get("lat") is None or gps.get("lon") is None or gps.get("mocked")
            or gps.get("accuracy") is None):
        return NO_LOCATION
    accuracy = float(gps["accuracy"])
    if accuracy > current_app.config["GPS_MAX_ACCURACY_M"]:
        return NO_LOCATION
    point = (float(gps["lat"]), float(gps["lon"]))
    # Inside when the accuracy circle reaches the fence: a poor fix alone never accuses anyone.
    if any(distance_m(point, (s.lat, s.lon)) - accuracy <= s.radius_m for s in sites):
        return None
    return OUTSIDE


def _visit_signins(visit_id: uuid.UUID) -> list[SignIn]:
    return visit_sign_ins(visit_id).rows


def _rapid_run(badge_signins: list[SignIn], count: int, gap: float) -> list[SignIn]:
    """Return every badge sign-in inside a run of `count` or more scans under `gap` s apart."""
    flagged: list[SignIn] = []
    run: list[SignIn] = []
    for signin in badge_signins:
        if run and (signin.at - run[-1].at) < timedelta(seconds=gap):
            run.append(signin)
        else:
            if len(run) >= count:
                flagged.extend(run)
            run = [signin]
    if len(run) >= count:
        flagged.extend(run)
    return flagged


def _order(signin: SignIn) -> tuple[datetime, int]:
    # The id's integer orders as its string does (fixed-width hex) without writing the string.
    return (signin.at, signin.id.int)


def _rapid_settings() -> tuple[int, float]:
    config = current_app.config
    return (config.get("SIGNIN_RAPID_SCAN_COUNT", RAPID_SCAN_COUNT),
            config.get("SIGNIN_RAPID_SCAN_SECONDS", RAPID_SCAN_SECONDS))


def flag_visit(everyone: Sequence[SignIn], new: Iterable[SignIn],
               sites_for: Callable[[SignIn], list[Site]], rapid: tuple[int, float]) -> None:
    """Flag a visit's new sign-ins, earliest first, against all of its sign-ins (everyone).

    The same rules as flagging each new sign-in alone against the visit, with the visit's
    sign-ins indexed once: a batch of k sign-ins costs O(k), not k queries of k rows each.
    """
    new = sorted(new, key=_order)
    known = {member.id for member in everyone}
    everyone = [*everyone, *(s for s in new if s.id not in known)]
    by_trainee: dict[uuid.UUID, list[SignIn]] = {}
    self_by_device: dict[str, list[SignIn]] = {}
    for member in everyone:
        if member.trainee_id is not None:
            by_trainee.setdefault(member.trainee_id, []).append(member)
        if member.method == "self" and member.device_id:
            self_by_device.setdefault(member.device_id, []).append(member)
    rapid_checked = False
    for signin in new:
        if signin.trainee_id is not None:
            # The later of two sign-ins of one trainee is the duplicate, whatever order they arrive
            # in.
            key = _order(signin)
            same = [o for o in by_trainee.get(signin.trainee_id, ()) if o.id != signin.id]
            if any(_order(o) < key for o in same):
                _add_flag(signin, DUPLICATE)
            for later in (o for o in same if _order(o) > key):
                _add_flag(later, DUPLICATE)
        if signin.method == "self" and signin.device_id:
            # One phone signing in several trainees: the phone's owner signed for the others.
            same_device = [o for o in self_by_device.get(signin.device_id, ())
                           if o.id != signin.id and o.trainee_id != signin.trainee_id]
            if same_device:
                _add_flag(signin, SAME_DEVICE)
                for other in same_device:
                    _add_flag(other, SAME_DEVICE)
        if signin.method in ("self", "badge"):
            flag = geofence_flag(signin.gps, sites_for(signin))
            if flag:
                _add_flag(signin, flag)
        if signin.method == "badge" and not rapid_checked:
            # Every badge sign-in of the visit is in the run check, so one check covers the batch.
            rapid_checked = True
            badges = sorted((o for o in everyone if o.method == "badge"), key=lambda s: s.at)
            for member in _rapid_run(badges, *rapid):
                _add_flag(member, RAPID)


def flag_signin(signin: SignIn, class_id: uuid.UUID) -> list[str]:
    """Flag a new sign-in (and earlier ones it implicates) against the visit's other sign-ins."""
    flag_visit(_visit_signins(signin.visit_id), [signin], lambda s: class_sites(class_id, s.at),
               _rapid_settings())
    return list(signin.flags or [])


def visit_anomalies(visit_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the refused attempts recorded against a visit (expired codes, roster misses)."""
    events = db.session.execute(_ANOMALIES, {"entity_id": str(visit_id)})
    return [{"code": CODE_EXPIRED if e.action == CODE_EXPIRED else NOT_ON_ROSTER,
             "at": e.at, "device_id": e.device_id, "details": dict(e.details or {})}
            for e in events]


# visit_anomalies's read (every visit's push runs it), built once; the columns it returns only.
_ANOMALIES = (
    select(AuditEvent.action, AuditEvent.at, AuditEvent.device_id, AuditEvent.details)
    .where(AuditEvent.entity_type == "visit", AuditEvent.entity_id == bindparam("entity_id"),
           AuditEvent.action.in_((CODE_EXPIRED, "selfsignin.roster_miss")))
    .order_by(AuditEvent.at))


def visit_signin_flags(visit_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return every sign-in flag and refused attempt of a visit, for the review page."""
    out: list[dict[str, Any]] = []
    for signin in _visit_signins(visit_id):
        for flag in signin.flags or []:
            out.append({"code": flag, "signin_id": str(signin.id),
                        "trainee_id": str(signin.trainee_id) if signin.trainee_id else None,
                        "method": signin.method, "at": signin.at})
    out.extend({"code": a["code"], "signin_id": None, "trainee_id": None, "method": None,
                "at": a["at"]} for a in visit_anomalies(visit_id))
    return out


@dataclass
class Reconciliation:
    """Who of the roster signed in and how, who did not, who is unknown, and the findings.

    The figures come from the one attendance count (services/attendance.py) against the version
    the visit was judged against; this adds the names and the findings they raise.
    """

    roster_size: int
    present: list[dict[str, Any]] = field(default_factory=list)
    absent: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    headcount: int | None = None
    rate: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the visit's `checks.attendance`)."""
        return {
            "roster_size": self.roster_size, "present": self.present, "absent": self.absent,
            "unknown": self.unknown, "headcount": self.headcount, "rate": self.rate,
            "by_method": self.by_method, "flags": self.flags, "findings": self.findings,
        }


def _person(trainee: RosterEntry) -> dict[str, Any]:
    return {"trainee_id": str(trainee.id), "name": trainee.name, "id_masked": trainee.id_masked}


def reconcile_attendance(visit: Visit, headcount: int | None = None,
                         signins: list[SignIn] | None = None) -> Reconciliation:
    """Reconcile a visit's roster with its sign-ins and headcount; raise findings automatically.

    signins: the visit's sign-ins (attendance.visit_sign_ins) when the caller has them already.
    """
    headcount = visit_headcount(visit) if headcount is None else headcount
    version = judged_version(visit)
    roster = {e.id: e for e in roster_of(version)}
    if signins is None:
        signins = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
    # The roster's ids from the enrolments just loaded for the names: one roster read.
    counted = count_sign_ins(version.id, signins, headcount, version_roster_ids(version))
    result = Reconciliation(roster_size=counted.roster, headcount=headcount)
    present_ids: dict[uuid.UUID, set[str]] = {}
    for signin in signins:
        result.by_method[signin.method] = result.by_method.get(signin.method, 0) + 1
        for flag in signin.flags or []:
            result.flags[flag] = result.flags.get(flag, 0) + 1
        if signin.trainee_id in roster:
            present_ids.setdefault(signin.trainee_id, set()).add(signin.method)
        else:
            trainee = person_on(version, signin.trainee_id)
            who = _person(trainee) if trainee else {"trainee_id": None, "name": "", "id_masked": ""}
            result.unknown.append({**who, "method": signin.method, "signin_id": str(signin.id)})
    anomalies = visit_anomalies(visit.id)
    for anomaly in anomalies:
        result.flags[anomaly["code"]] = result.flags.get(anomaly["code"], 0) + 1
    for trainee_id, trainee in sorted(roster.items(), key=lambda kv: kv[1].name):
        if trainee_id in present_ids:
            result.present.append({**_person(trainee), "methods": sorted(present_ids[trainee_id])})
        else:
            result.absent.append(_person(trainee))
    result.rate = round(counted.signed_in / counted.roster, 4) if counted.roster else 0.0
    result.findings = _findings(result, counted.signed_in)
    return result


def _findings(result: Reconciliation, present: int) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    min_rate = float(current_app.config["ATTENDANCE_MIN_RATE"])
    if rate_is_low(present, result.roster_size, min_rate):
        findings.append({"code": "attendance.low", "details": {
            "rate": result.rate, "min_rate": min_rate, "present": present,
            "roster_size": result.roster_size}})
    uncounted = max(0, result.headcount - present) if result.headcount is not None else 0
    if result.unknown or uncounted:
        findings.append({"code": "attendance.unknown_person", "details": {
            "unknown_signins": len(result.unknown), "in_room_not_signed_in": uncounted}})
    reasons = sorted(flag for flag in result.flags if flag in PROXY_FLAGS)
    signed = present + len(result.unknown)
    if result.headcount is not None and signed > result.headcount:
        # More people signed in than were in the room: someone signed for an absent trainee.
        reasons.append("signed_in_exceeds_headcount")
    if reasons:
        findings.append({"code": "signin.proxy_suspected", "details": {
            "reasons": reasons, "signed_in": signed, "headcount": result.headcount}})
    return findings


FINDING_CODES = ("attendance.low", "attendance.unknown_person", "signin.proxy_suspected")
# Refused attempts live in the audit trail; the visit's flags name them so the review shows them.
ANOMALY_CODES = (CODE_EXPIRED, NOT_ON_ROSTER)


def flag_stale_signins(visit: Visit, signins: Sequence[SignIn]) -> None:
    """Flag the sign-ins captured outside their visit (STALE), and then the visit evidence.stale.

    Fresh evidence (issue 11), whichever of the visit and its sign-ins arrived first: this runs
    on the visit's sign-ins as loaded for its reconciliation, so it costs no query of its own.
    """
    tolerance = evidence_tolerance()
    stale = [s for s in signins if signin_is_stale(s, visit, tolerance)]
    for signin in stale:
        _add_flag(signin, STALE)
    if stale:
        mark_visit_stale(visit)


def raise_attendance_findings(visit: Visit, signins: list[SignIn] | None = None) -> Reconciliation:
    """Reconcile a stored visit and put its findings among the visit's flags (replacing old ones).

    Its sign-ins captured outside the visit are flagged first (flag_stale_signins). signins: the
    visit's sign-ins as attendance.visit_sign_ins returns them, when the caller has them.
    """
    if signins is None:
        signins = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
    flag_stale_signins(visit, signins)
    attendance = reconcile_attendance(visit, signins=signins)
    kept = [f for f in visit.flags or [] if f not in FINDING_CODES + ANOMALY_CODES]
    anomalies = [code for code in ANOMALY_CODES if attendance.flags.get(code)]
    visit.flags = kept + anomalies + [f["code"] for f in attendance.findings]
    visit.checks = {**(visit.checks or {}), "reconciliation": attendance.as_dict()}
    return attendance


class PushedSignIn:
    """A sign-in of the batch being pushed, flagged from its row in memory (no ORM load)."""

    __slots__ = ("id", "visit_id", "trainee_id", "method", "device_id", "at", "gps", "flags")

    def __init__(self, row: dict[str, Any]) -> None:
        self.id, self.visit_id, self.trainee_id = row["id"], row["visit_id"], row["trainee_id"]
        self.method, self.device_id, self.at = row["method"], row["device_id"], row["at"]
        self.gps, self.flags = row["gps"], list(row["flags"] or [])


class _Reads(NamedTuple):
    """The end of batch's two reads, built once per dialect (an IN of the batch's 100 ids cost
    about as much to build as to run). ORM objects: the flags added to earlier sign-ins and the
    findings raised on visits are saved with the session (and re-sealed by record_seal's flush
    hook)."""

    earlier_signins: Select[Any]
    visits: Select[Any]


@cache
def _reads(dialect: str) -> _Reads:
    return _Reads(
        earlier_signins=(
            select(SignIn).where(any_of(SignIn.visit_id, "visit_ids", dialect),
                                 none_of(SignIn.id, "batch_ids", dialect))
            .order_by(SignIn.at, SignIn.received_at)),
        visits=select(Visit).where(any_of(Visit.id, "visit_ids", dialect)))


def flag_pushed_signins(new_signins: list[tuple[dict[str, Any], uuid.UUID]],
                        context: PushContext) -> None:
    """End of a push batch: flag its sign-ins, then raise findings on the visits concerned.

    new_signins holds (sign-in row as inserted, class id) pairs; visits concerned are those
    the batch's sign-ins name and those submitted in this batch (received at the batch's time).
    """
    if new_signins:
        _flag_batch(new_signins, context.signin_sealer or SigninSealer())
    visit_ids = set(context.touched_visits)
    visit_ids |= {obj.id for obj in [*db.session.new, *db.session.identity_map.values()]
                  if isinstance(obj, Visit) and obj.received_at == context.received_at}
    for visit in stored_visits(context, visit_ids):
        raise_attendance_findings(visit, _submitted_sign_ins(context, visit))


class _Submitted(NamedTuple):
    sign_ins: VisitSignIns
    written: int  # how many of the batch's sign-ins were written when they were read


def remember_sign_ins(context: PushContext, visit: Visit, sign_ins: VisitSignIns) -> None:
    """visit.submit read the visit's sign-ins (this batch's so far included): the end of the
    batch reconciles the visit from them unless a sign-in of a later seq belongs to it."""
    context.submitted_sign_ins[visit.id] = _Submitted(sign_ins, len(context.new_signins))


def _submitted_sign_ins(context: PushContext, visit: Visit) -> list[SignIn] | None:
    """The visit's sign-ins as visit.submit read them, if still all of them; else None.

    All of them when no sign-in written after that read links to the visit or is named by it:
    the batch writes them all (context.new_signins), and their flags, added since, are on the
    same ORM objects (_flag_batch keeps loaded copies current). Else they are read again.
    """
    known = context.submitted_sign_ins.pop(visit.id, None)
    if known is None:
        return None
    later = context.new_signins[known.written:]
    if any(row["visit_id"] == visit.id or row["id"] in known.sign_ins.named
           for row, _ in later):
        return None
    return known.sign_ins.rows


def stored_visits(context: PushContext, visit_ids: set[uuid.UUID]) -> list[Visit]:
    """Return the stored visits among visit_ids; the batch's finishers share one load of each.

    Only for finishers: by then every visit of the batch is added, so "not stored" stays true.
    """
    known = context.stored_visits
    missing = visit_ids - known.keys()
    if missing:
        found = {v.id: v for v in db.session.scalars(_reads(dialect_name()).visits,
                                                     {"visit_ids": list(missing)})}
        known.update({visit_id: found.get(visit_id) for visit_id in missing})
    return [visit for visit_id in visit_ids if (visit := known[visit_id]) is not None]


def _flag_batch(new_signins: list[tuple[dict[str, Any], uuid.UUID]],
                sealer: SigninSealer) -> None:
    """Flag the batch's sign-ins (already written, flags empty) against their visits; a
    flagged row is sealed again by the batch's sealer."""
    new = [PushedSignIn(row) for row, _ in new_signins]
    class_of = {row["id"]: class_id for row, class_id in new_signins}
    by_visit: dict[uuid.UUID, list[Any]] = {}
    for signin in new:
        by_visit.setdefault(signin.visit_id, []).append(signin)
    # Only sign-ins stored by earlier pushes are read back: one query for the whole batch.
    stored = db.session.scalars(_reads(dialect_name()).earlier_signins,
                                {"visit_ids": list(by_visit), "batch_ids": list(class_of)}).all()
    earlier: dict[uuid.UUID, list[SignIn]] = {}
    for signin in stored:
        earlier.setdefault(signin.visit_id, []).append(signin)
    sites: dict[tuple[uuid.UUID, date], list[Site]] = {}

    def sites_for(signin: Any) -> list[Site]:
        # class_sites depends on the class and the sign-in's local day only.
        key = (class_of[signin.id], local_date_of(signin.at))
        if key not in sites:
            sites[key] = class_sites(key[0], signin.at)
        return sites[key]

    rapid = _rapid_settings()
    for visit_id, batch in by_visit.items():
        # Stored sign-ins are ORM objects: the flags added to them are saved with the session
        # (and re-sealed by record_seal's flush hook).
        flag_visit([*earlier.get(visit_id, []), *batch], batch, sites_for, rapid)
    flagged = []
    for signin, (row, _) in zip(new, new_signins, strict=True):
        if signin.flags:
            # The row as now stored, sealed again: its flags are under its record seal.
            row["flags"] = signin.flags
            sealer.seal(row)
            flagged.append({"_id": signin.id, "flags": signin.flags, "seal": row["row_seal"]})
    if flagged:
        table = SignIn.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("_id"))
                           .values(flags=bindparam("flags"), row_seal=bindparam("seal")), flagged)
        for row in flagged:  # an ORM copy already loaded must not keep the old flags and seal:
            # it gets the values just written, as committed state (no reload, nothing to save).
            loaded = db.session.identity_map.get(identity_key(SignIn, row["_id"]))
            if loaded is not None:
                set_committed_value(loaded, "flags", list(row["flags"]))
                set_committed_value(loaded, "row_seal", row["seal"])
