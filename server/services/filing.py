"""Plan filing (R5, R7): base drafts → submits → county approves (seal) or returns → city records.

A version is editable only as a draft; from submission on it never changes. A change after
filing is a new version copied from the latest one, with a reason, a diff against the version
in force, and its own approval. Every transition writes an AuditEvent in the same transaction.
Scope: reading outside one's scope is a 404 (existence is not disclosed); a move one's role
may not make on a record one can see is a 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from server.errors import ApiError, field_error
from server.extensions import db
from server.models import (
    LEVEL_NAMES,
    Enrollment,
    Occupation,
    Plan,
    PlanSession,
    PlanVersion,
    Site,
    Teacher,
    Trainee,
    TrainingBase,
    TrainingClass,
    User,
    utcnow,
)
from server.models.plans import FILED_STATES, IN_FORCE_STATES, VERSION_STATES
from server.services import filed_roster, geo, roster, rules
from server.services.audit import audit
from server.services.base_status import require_in_programme
from server.services.changes import publish_plan_version, record_change
from server.services.idcard import birth_date_of, mask_id_number, normalise_id_number
from server.services.pii import encrypt_id_number, id_number_hash
from server.services.plan_versions import version_in_force
from server.services.scope import base_ids_in_scope, can_see_base, scope_classes
from server.services.transitions import claim_state

SESSION_FIELDS = ("date", "start_time", "end_time", "category", "topic", "teacher_id", "site_id",
                  "online")


# ---------------------------------------------------------------- scope


def get_class(user: User, class_id: uuid.UUID) -> TrainingClass:
    """Return a class in the user's scope, or 404."""
    klass = db.session.get(TrainingClass, class_id)
    if klass is None or not can_see_base(user, klass.base):
        raise ApiError("not_found")
    return klass


# A draft is the base's work in progress; reviewers see what was submitted; inspectors check
# visits against filed plans only (approved by the county or recorded by the city).
VISIBLE_STATUSES = {
    "base_staff": VERSION_STATES,
    "county_admin": ("submitted", "returned", *IN_FORCE_STATES),
    "city_admin": ("submitted", "returned", *IN_FORCE_STATES),
    "inspector": IN_FORCE_STATES,
}


def may_see_status(user: User, version: PlanVersion) -> bool:
    """Whether the user's role may see a version in its state (VISIBLE_STATUSES): the one test
    behind get_version, list_versions and every list of a class's versions."""
    return version.status in VISIBLE_STATUSES.get(user.role, ())


def get_version(user: User, version_id: uuid.UUID) -> PlanVersion:
    """Return a plan version in the user's scope that their role may see, or 404."""
    version = db.session.get(PlanVersion, version_id)
    if (version is None or not may_see_status(user, version)
            or not can_see_base(user, version.plan.training_class.base)):
        raise ApiError("not_found")
    return version


def _own_base(user: User, base: TrainingBase) -> None:
    """Only the base's own staff file its plans; others in scope get a 403, a revoked base a 409
    (base_status.require_in_programme)."""
    if user.role != "base_staff" or user.base_id != base.id:
        raise ApiError("forbidden")
    require_in_programme(base)


def _staff_base(user: User) -> TrainingBase:
    if user.role != "base_staff" or user.base is None:
        raise ApiError("forbidden")
    require_in_programme(user.base)
    return user.base


def _editable(user: User, version_id: uuid.UUID) -> PlanVersion:
    version = get_version(user, version_id)
    _own_base(user, version.plan.training_class.base)
    if version.status != "draft":
        raise ApiError("plan.not_editable")
    return version


# ---------------------------------------------------------------- classes and versions


def list_classes(user: User) -> list[TrainingClass]:
    """Return the classes in the user's scope, newest start first."""
    query = scope_classes(user, select(TrainingClass))
    return list(db.session.scalars(query.order_by(TrainingClass.start_date.desc(),
                                                  TrainingClass.name)))


def list_occupations() -> list[Occupation]:
    """Return the occupation catalogue."""
    return list(db.session.scalars(select(Occupation).order_by(Occupation.code)))


def create_class(user: User, data: dict[str, Any]) -> TrainingClass:
    """Create a class of the caller's base with an empty draft plan (version 1)."""
    base = _staff_base(user)
    occupation = db.session.get(Occupation, data["occupation_id"])
    if occupation is None:
        raise field_error("occupation_id", "field.filing.unknown_occupation")
    head = _base_teacher(base, data.get("head_teacher_id"), "head_teacher_id", optional=True)
    klass = TrainingClass(base_id=base.id, occupation_id=occupation.id, level=data["level"],
                          name=data["name"], start_date=data["start_date"],
                          end_date=data["end_date"], head_teacher_id=head.id if head else None)
    plan = Plan(training_class=klass)
    version = PlanVersion(plan=plan, number=1, status="draft", created_by_id=user.id)
    db.session.add_all([klass, plan, version])
    db.session.flush()
    audit("class.create", "training_class", klass.id, user=user, name=klass.name)
    audit("plan.draft", "plan_version", version.id, user=user, number=1)
    return klass


def list_versions(user: User, status: str | None = None) -> list[PlanVersion]:
    """Return plan versions in scope, optionally by status, oldest submission first (a queue)."""
    query = scope_classes(user, select(PlanVersion).join(Plan).join(TrainingClass))
    query = query.where(PlanVersion.status.in_(VISIBLE_STATUSES.get(user.role, ())))
    if status:
        query = query.where(PlanVersion.status == status)
    query = query.order_by(PlanVersion.submitted_at, PlanVersion.created_at)
    return list(db.session.scalars(query))


def start_version(user: User, class_id: uuid.UUID, reason: str) -> PlanVersion:
    """Start a new draft copied from the latest version; after approval a reason is required."""
    klass = get_class(user, class_id)
    _own_base(user, klass.base)
    plan = klass.plan
    latest = plan.versions[-1] if plan.versions else None
    if latest is not None and latest.status in ("draft", "submitted"):
        raise ApiError("plan.invalid_transition",
                       "plan.draft_exists" if latest.status == "draft"
                       else "plan.previous_in_review")
    reason = (reason or "").strip()
    if version_in_force(plan) is not None and not reason:
        raise field_error("reason", "field.filing.reason_required", code="plan.reason_required")
    version = PlanVersion(plan=plan, number=(latest.number + 1) if latest else 1, status="draft",
                          reason=reason, created_by_id=user.id)
    db.session.add(version)
    if latest is not None:
        for s in latest.sessions:
            version.sessions.append(PlanSession(
                lineage_id=s.lineage_id, date=s.date, start_time=s.start_time,
                end_time=s.end_time, category=s.category, topic=s.topic,
                teacher_id=s.teacher_id, site_id=s.site_id, online=s.online))
        for e in latest.enrollments:
            version.enrollments.append(Enrollment(trainee_id=e.trainee_id))
    db.session.flush()
    audit("plan.draft", "plan_version", version.id, user=user, number=version.number,
          reason=reason, copied_from=str(latest.id) if latest else None)
    return version


# ---------------------------------------------------------------- sessions


def _base_teacher(base: TrainingBase, teacher_id: uuid.UUID | None, name: str,
                  optional: bool = False) -> Teacher | None:
    if teacher_id is None and optional:
        return None
    teacher = db.session.get(Teacher, teacher_id) if teacher_id else None
    if teacher is None or teacher.base_id != base.id:
        raise field_error(name, "field.filing.teacher_elsewhere")
    return teacher


def _base_site(base: TrainingBase, site_id: uuid.UUID, name: str = "site_id") -> Site:
    site = db.session.get(Site, site_id)
    if site is None or site.base_id != base.id:
        raise field_error(name, "field.filing.site_elsewhere")
    return site


def _session_from(base: TrainingBase, item: dict[str, Any], on: date) -> PlanSession:
    teacher = _base_teacher(base, item["teacher_id"], "teacher_id")
    site = _base_site(base, item["site_id"])
    return PlanSession(
        lineage_id=item.get("lineage_id") or uuid.uuid4(), date=on, start_time=item["start"],
        end_time=item["end"], category=item["category"], topic=item["topic"].strip(),
        teacher_id=teacher.id, site_id=site.id, online=item.get("online", False))


def add_sessions(user: User, version_id: uuid.UUID, item: dict[str, Any]) -> list[PlanSession]:
    """Add a session to a draft, or the same session on `repeat_days` consecutive days."""
    version = _editable(user, version_id)
    base = version.plan.training_class.base
    added = []
    for day in range(item.get("repeat_days", 1)):
        session = _session_from(base, {**item, "lineage_id": None},
                                item["date"] + timedelta(days=day))
        version.sessions.append(session)
        added.append(session)
    db.session.flush()
    audit("plan.sessions_add", "plan_version", version.id, user=user, count=len(added))
    return added


def replace_sessions(user: User, version_id: uuid.UUID, items: list[dict[str, Any]]) -> PlanVersion:
    """Replace a draft's whole session table; a given lineage id keeps a session's identity."""
    version = _editable(user, version_id)
    base = version.plan.training_class.base
    lineages = [i["lineage_id"] for i in items if i.get("lineage_id")]
    if len(lineages) != len(set(lineages)):
        raise field_error("sessions", "field.filing.lineage_repeated")
    # A lineage is a session's identity across its plan's versions (a visit of one version is
    # judged against the same session in force, duplicates are found by it): only the plan's own.
    own = set(db.session.scalars(
        select(PlanSession.lineage_id)
        .join(PlanVersion, PlanVersion.id == PlanSession.plan_version_id)
        .where(PlanVersion.plan_id == version.plan_id)))
    if any(lineage not in own for lineage in lineages):
        raise field_error("sessions", "field.filing.lineage_elsewhere")
    new = [_session_from(base, item, item["date"]) for item in items]
    for old in list(version.sessions):
        db.session.delete(old)
    db.session.flush()
    version.sessions = new
    db.session.flush()
    audit("plan.sessions_replace", "plan_version", version.id, user=user, count=len(new))
    return version


def delete_session(user: User, version_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Remove one session from a draft."""
    version = _editable(user, version_id)
    session = db.session.get(PlanSession, session_id)
    if session is None or session.plan_version_id != version.id:
        raise ApiError("not_found")
    version.sessions.remove(session)
    db.session.delete(session)
    audit("plan.session_delete", "plan_version", version.id, user=user,
          lineage_id=str(session.lineage_id))


def _minutes_per_hour() -> int:
    return current_app.config["CLASS_HOUR_MINUTES"]


def hours_of(version: PlanVersion) -> dict[str, float]:
    """Return total and per-category class hours (学时) of a version, from the session times."""
    return rules.hours_by_category(version.sessions, _minutes_per_hour())


# ---------------------------------------------------------------- roster


@dataclass
class RosterResult:
    """What a roster import did, row by row."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def enrolled(self) -> int:
        return sum(1 for r in self.rows if r["enrolled"])

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.rows if not r["enrolled"])

    def as_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {"enrolled": self.enrolled, "skipped": self.skipped, "rows": self.rows}


# A row with one of these cannot become a trainee record (no usable ID or a missing field).
_BLOCKING = ("R3.id_invalid", "R3.missing_field")


def _facts_from(item: dict[str, Any], entity_id: str | None = None) -> rules.TraineeFacts:
    return rules.TraineeFacts(
        name=item.get("name") or "", id_number=item.get("id_number"),
        education=item.get("education"), certificate_level=item.get("certificate_level"),
        certificate_date=item.get("certificate_date"), employer_kind=item.get("employer_kind"),
        gender=item.get("gender"), occupation=item.get("occupation_name"),
        employer=item.get("employer"), phone=item.get("phone"), entity_id=entity_id)


def _own_trainee(base_id: uuid.UUID, digest: str) -> Trainee | None:
    """Return this base's entry for a person: its own row, or an unowned one only it enrolled."""
    own = db.session.scalar(select(Trainee).where(Trainee.base_id == base_id,
                                                  Trainee.id_number_hash == digest))
    if own is not None:
        return own
    for legacy in db.session.scalars(select(Trainee).where(
            Trainee.base_id.is_(None), Trainee.id_number_hash == digest)):
        bases = set(db.session.scalars(
            select(TrainingClass.base_id).join(Plan, Plan.class_id == TrainingClass.id)
            .join(PlanVersion, PlanVersion.plan_id == Plan.id)
            .join(Enrollment, Enrollment.plan_version_id == PlanVersion.id)
            .where(Enrollment.trainee_id == legacy.id)))
        if bases <= {base_id}:
            legacy.base_id = base_id
            return legacy
    return None


def own_entry(trainee: Trainee, base_id: uuid.UUID) -> Trainee:
    """Return this base's own entry for the person a trainee row names: the row itself when the
    base owns it; an unowned (legacy) row only this base enrolled, claimed; else a copy owned by
    the base (added to the session), as upsert_trainee makes for a roster naming the person.

    Used before a base changes a person's details (R7): a legacy row another base also enrolled
    must not change under that base's rosters.
    """
    if trainee.base_id == base_id:
        return trainee
    own = _own_trainee(base_id, trainee.id_number_hash)
    if own is None:
        # Every column of the entry but its identity, owner and times: a column added later
        # is copied too.
        details = [c.key for c in Trainee.__table__.columns
                   if c.key not in ("id", "base_id", "created_at", "updated_at")]
        own = Trainee(base_id=base_id, **{key: getattr(trainee, key) for key in details})
        db.session.add(own)
    return own


def upsert_trainee(item: dict[str, Any], base_id: uuid.UUID) -> Trainee:
    """Find the base's own entry for a person by the keyed hash of the ID number, or create one.

    A base's entry is its own (R7): another base naming the same person gets a row of its own
    and neither changes nor learns this one (a person on two bases' rosters is the city's
    business). A base's later roster brings its own entry up to date.
    """
    number = normalise_id_number(item["id_number"])
    digest = id_number_hash(number)
    trainee = _own_trainee(base_id, digest)
    if trainee is None:
        trainee = Trainee(id_number_enc=encrypt_id_number(number), id_number_hash=digest,
                          base_id=base_id,
                          id_masked=mask_id_number(number), birth_date=birth_date_of(number))
        db.session.add(trainee)
    values = {
        "name": item["name"].strip(),
        "gender": item.get("gender") or ("男" if int(number[16]) % 2 else "女"),
        "education": item["education"], "occupation_name": item.get("occupation_name") or "",
        "certificate_level": item["certificate_level"], "employer": item.get("employer") or "",
        "employer_kind": item["employer_kind"], "phone": item.get("phone") or "",
    }
    for key, value in values.items():
        # A spreadsheet cell can be longer than the column; the row's violations keep the text.
        setattr(trainee, key, value[: Trainee.__table__.c[key].type.length])
    trainee.certificate_date = item["certificate_date"]
    return trainee


def _row_view(item: dict[str, Any], row: int | None, trainee: Trainee | None,
              violations: list[dict[str, Any]]) -> dict[str, Any]:
    number = normalise_id_number(str(item.get("id_number") or ""))
    return {
        "row": row, "trainee_id": trainee.id if trainee else None, "name": item.get("name") or "",
        "id_masked": trainee.id_masked if trainee else mask_id_number(number),
        "gender": item.get("gender") or (trainee.gender if trainee else ""),
        "education": item.get("education") or "",
        "certificate_level": item.get("certificate_level") or "",
        "certificate_date": item.get("certificate_date") if isinstance(item.get("certificate_date"),
                                                                       date) else None,
        "employer": item.get("employer") or "", "employer_kind": item.get("employer_kind") or "",
        "enrolled": trainee is not None, "violations": violations,
    }


def replace_roster(user: User, version_id: uuid.UUID, items: list[dict[str, Any]]) -> RosterResult:
    """Replace a draft's roster from a JSON list; every row is checked (R3) and reported."""
    version = _editable(user, version_id)
    start = version.plan.training_class.start_date
    entries, first_row = [], {}
    for row, item in enumerate(items, start=1):
        found = [v.to_dict() for v in rules.check_trainee(_facts_from(item), start, row=row)]
        number = normalise_id_number(item["id_number"])
        if number in first_row:
            found.append(_duplicate(row, first_row[number]))
        first_row.setdefault(number, row)
        entries.append((row, item, found))
    return _enrol(user, version, entries, "json")


def import_roster_xlsx(user: User, version_id: uuid.UUID, stream: IO[bytes]) -> RosterResult:
    """Replace a draft's roster from the template spreadsheet; each row is checked and reported."""
    version = _editable(user, version_id)
    try:
        rows = roster.read_roster(stream)
    except roster.RosterReadError as error:
        raise ApiError(error.code, errors={"file": [str(error)]}) from error
    checked = roster.check_roster(rows, version.plan.training_class.start_date)
    entries = [(r.row, _item_from_row(r), c["details"]) for r, c in zip(rows, checked, strict=True)]
    return _enrol(user, version, entries, "xlsx")


def editable_version(user: User, version_id: uuid.UUID) -> PlanVersion:
    """Return a draft of the user's own base (what a roster change may touch); refuse otherwise."""
    return _editable(user, version_id)


def item_from_row(row: roster.RosterRow) -> dict[str, Any]:
    """Return a roster row as a trainee item (what upsert_trainee takes)."""
    return _item_from_row(row)


def enrol_rows(user: User, version: PlanVersion,
               entries: list[tuple[int, dict[str, Any], list[dict[str, Any]]]],
               source: str) -> RosterResult:
    """Replace a draft's roster with these checked rows, reporting each (see _enrol)."""
    return _enrol(user, version, entries, source)


def _item_from_row(row: roster.RosterRow) -> dict[str, Any]:
    return {"name": row.name, "id_number": row.id_number, "gender": row.gender,
            "education": row.education, "occupation_name": row.occupation,
            "certificate_level": row.certificate_level, "certificate_date": row.certificate_date,
            "employer": row.employer, "employer_kind": row.employer_kind, "phone": row.phone}


def _enrol(user: User, version: PlanVersion,
           entries: list[tuple[int, dict[str, Any], list[dict[str, Any]]]],
           source: str) -> RosterResult:
    """Enrol every usable row (the first of duplicates), replacing the roster; report all rows."""
    result, enrolled, seen = RosterResult(), [], set()
    for row, item, found in entries:
        trainee = None
        if not any(v["code"] in _BLOCKING for v in found):
            digest = id_number_hash(item["id_number"])
            if digest not in seen:
                seen.add(digest)
                trainee = upsert_trainee(item, version.plan.training_class.base_id)
                enrolled.append(trainee)
        result.rows.append(_row_view(item, row, trainee, found))
    for old in list(version.enrollments):
        db.session.delete(old)
    db.session.flush()
    version.enrollments = [Enrollment(trainee=t) for t in enrolled]
    db.session.flush()
    # Overlapping classes elsewhere are a plan-wide rule: add those duplicates to their rows.
    by_trainee = _plan_violations_by_trainee(version)
    for entry in result.rows:
        if entry["trainee_id"] is not None:
            entry["violations"] += [v for v in by_trainee.get(str(entry["trainee_id"]), [])
                                    if v["code"] == "R3.duplicate"
                                    and not any(o["code"] == "R3.duplicate"
                                                for o in entry["violations"])]
    audit("plan.roster_import", "plan_version", version.id, user=user, source=source,
          enrolled=result.enrolled, skipped=result.skipped)
    return result


def _duplicate(row: int, first_row: int) -> dict[str, Any]:
    return rules.violation("R3.duplicate", "R3.duplicate.rows", row=row, field="id_number",
                           rows=str(first_row)).to_dict()


def roster_rows(version: PlanVersion) -> list[dict[str, Any]]:
    """Return a version's roster, masked, each trainee with the violations that concern them."""
    by_trainee = _plan_violations_by_trainee(version)
    rows = []
    for t in filed_roster.roster_by_name(version):
        rows.append({
            "row": None, "trainee_id": t.id, "name": t.name, "id_masked": t.id_masked,
            "gender": t.gender, "education": t.education, "certificate_level": t.certificate_level,
            "certificate_date": t.certificate_date, "employer": t.employer,
            "employer_kind": t.employer_kind, "enrolled": True,
            "violations": by_trainee.get(str(t.id), []),
        })
    return rows


# ---------------------------------------------------------------- rules


def check_version(version: PlanVersion) -> list[dict[str, Any]]:
    """Run the notice's rules on a version (R1, R3, R4, R6) and the filing's own needs."""
    found = [v.to_dict() for v in
             rules.check_plan_version(version, _minutes_per_hour())]
    # Say whom a violation concerns: a message alone does not name the trainee or teacher.
    names = {str(e.id): e.name for e in filed_roster.roster_of(version)}
    names.update({str(s.teacher_id): s.teacher.name for s in version.sessions})
    for v in found:
        v["subject"] = names.get(v.get("entity_id") or "")
    if not version.enrollments:
        found.append({**rules.violation("R5.roster_empty", field="roster").to_dict(),
                      "subject": None})
    return found


def _plan_violations_by_trainee(version: PlanVersion) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for v in check_version(version):
        if v.get("entity_id") and v["code"].startswith("R3."):
            grouped.setdefault(v["entity_id"], []).append(v)
    return grouped


# ---------------------------------------------------------------- diff


def _session_brief(s: PlanSession) -> dict[str, Any]:
    return {"lineage_id": str(s.lineage_id), "date": s.date.isoformat(),
            "start": s.start_time.strftime("%H:%M"), "end": s.end_time.strftime("%H:%M"),
            "category": s.category, "topic": s.topic, "teacher": s.teacher.name,
            "teacher_id": str(s.teacher_id), "site": s.site.name, "online": s.online}


def compute_diff(old: PlanVersion | None, new: PlanVersion) -> dict[str, Any]:
    """Compare a version with the one in force before it: sessions by lineage, roster, teachers."""
    if old is None:
        return {}
    before = {s.lineage_id: s for s in old.sessions}
    after = {s.lineage_id: s for s in new.sessions}
    changed, replaced = [], []
    for lineage in sorted(before.keys() & after.keys(), key=lambda k: (after[k].date, str(k))):
        a, b = before[lineage], after[lineage]
        fields = [f for f in SESSION_FIELDS if getattr(a, f) != getattr(b, f)]
        if fields:
            changed.append({"lineage_id": str(lineage), "fields": fields,
                            "before": _session_brief(a), "after": _session_brief(b)})
        if a.teacher_id != b.teacher_id:
            replaced.append({"lineage_id": str(lineage), "date": b.date.isoformat(),
                             "from": a.teacher.name, "to": b.teacher.name})
    old_people = {e.id: e for e in filed_roster.roster_of(old)}
    new_people = {e.id: e for e in filed_roster.roster_of(new)}
    old_teachers = {s.teacher_id: s.teacher.name for s in old.sessions}
    new_teachers = {s.teacher_id: s.teacher.name for s in new.sessions}

    def people(ids: set, source: dict) -> list[dict[str, str]]:
        return sorted(({"name": source[i].name, "id_masked": source[i].id_masked} for i in ids),
                      key=lambda p: p["name"])

    return {
        "against": {"id": str(old.id), "number": old.number},
        "sessions": {
            "added": [_session_brief(after[k]) for k in after.keys() - before.keys()],
            "removed": [_session_brief(before[k]) for k in before.keys() - after.keys()],
            "changed": changed,
        },
        "roster": {"added": people(new_people.keys() - old_people.keys(), new_people),
                   "removed": people(old_people.keys() - new_people.keys(), old_people)},
        "teachers": {
            "added": sorted(new_teachers[t] for t in new_teachers.keys() - old_teachers.keys()),
            "removed": sorted(old_teachers[t] for t in old_teachers.keys() - new_teachers.keys()),
            "replaced": replaced,
        },
    }


def diff_of(version: PlanVersion) -> dict[str, Any]:
    """Return the stored diff of a filed version, or the live one of a draft."""
    if version.status != "draft":
        return version.diff or {}
    return compute_diff(version_in_force(version.plan, before=version.number), version)


# ---------------------------------------------------------------- transitions


def _move(version: PlanVersion, allowed: tuple[str, ...], to: str) -> None:
    if version.status not in allowed:
        raise ApiError("plan.invalid_transition",
                       details={"status": version.status, "to": to})
    # Atomic: of two concurrent moves (approve and return, or two submits) exactly one wins.
    claim_state(version, "status", allowed, to, "plan.invalid_transition")


def submit(user: User, version_id: uuid.UUID, now: datetime | None = None) -> PlanVersion:
    """Submit a draft to the county: the rules run first and any violation stops it (422)."""
    version = get_version(user, version_id)
    _own_base(user, version.plan.training_class.base)
    if version.status != "draft":
        raise ApiError("plan.invalid_transition",
                       details={"status": version.status, "to": "submitted"})
    previous = version_in_force(version.plan, before=version.number)
    if previous is not None and not version.reason.strip():
        raise field_error("reason", "field.filing.reason_required", code="plan.reason_required")
    violations = check_version(version)
    if violations:
        raise ApiError("plan.has_violations", errors=violations)
    version.diff = compute_diff(previous, version)
    _move(version, ("draft",), "submitted")
    version.submitted_at = now or utcnow()
    # Filed means frozen (R7): the roster is copied as the base's records stand now; a person
    # another base filed the same year is flagged to the city (never to either base).
    filed_roster.freeze_roster(version, version.submitted_at)
    db.session.flush()
    flags = filed_roster.raise_cross_base_flags(version)
    audit("plan.submit", "plan_version", version.id, user=user, number=version.number,
          roster=len(version.enrollments))
    for flag in flags:
        audit("trainee.cross_base", "cross_base_flag", flag.id, user=user, year=flag.year,
              plan_version_id=str(version.id))
    return version


def _county_reviewer(user: User, version: PlanVersion) -> None:
    # The county that the base belongs to seals; a base never approves its own plan.
    if user.role != "county_admin" or user.county_id != version.plan.training_class.base.county_id:
        raise ApiError("forbidden")


def approve(user: User, version_id: uuid.UUID, comment: str = "",
            now: datetime | None = None) -> PlanVersion:
    """County approval (审查盖章): record who and when, and publish to inspectors' phones."""
    version = get_version(user, version_id)
    _county_reviewer(user, version)
    _move(version, ("submitted",), "approved")
    version.approved_at = now or utcnow()
    version.approved_by_id = user.id
    version.review_comment = comment.strip()
    db.session.flush()
    publish_plan_version(version)
    audit("plan.approve", "plan_version", version.id, user=user, number=version.number,
          comment=version.review_comment)
    return version


def return_version(user: User, version_id: uuid.UUID, comment: str) -> PlanVersion:
    """County returns a submitted version with a comment; the base files a corrected version."""
    version = get_version(user, version_id)
    _county_reviewer(user, version)
    if not comment.strip():
        raise field_error("comment", "field.return_reason_required")
    _move(version, ("submitted",), "returned")
    version.review_comment = comment.strip()
    audit("plan.return", "plan_version", version.id, user=user, number=version.number,
          comment=version.review_comment)
    return version


def record(user: User, version_id: uuid.UUID, comment: str = "",
           now: datetime | None = None) -> PlanVersion:
    """City re-check and record (复核备案) of an approved version."""
    version = get_version(user, version_id)
    if user.role != "city_admin":
        raise ApiError("forbidden")
    _move(version, ("approved",), "recorded")
    version.recorded_at = now or utcnow()
    version.recorded_by_id = user.id
    if comment.strip():
        version.review_comment = comment.strip()
    audit("plan.record", "plan_version", version.id, user=user, number=version.number,
          comment=comment.strip())
    return version


# ---------------------------------------------------------------- views


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.id, "name": obj.name} if obj is not None else None


def version_summary(version: PlanVersion) -> dict[str, Any]:
    """Return the short form of a version, for lists and queues."""
    klass = version.plan.training_class
    return {
        "id": version.id, "number": version.number, "status": version.status,
        "class_id": klass.id, "class_name": klass.name, "base": _ref(klass.base),
        "county": _ref(klass.base.county), "reason": version.reason,
        "review_comment": version.review_comment, "created_at": version.created_at,
        "submitted_at": version.submitted_at, "approved_at": version.approved_at,
        "recorded_at": version.recorded_at,
    }


def class_view(klass: TrainingClass, user: User) -> dict[str, Any]:
    """Return a class with the versions the user's role may see (may_see_status: a base's
    draft and its reason are its own until submitted) and the one in force."""
    plan = klass.plan
    current = version_in_force(plan) if plan else None
    versions = [v for v in (plan.versions if plan else []) if may_see_status(user, v)]
    return {
        "id": klass.id, "name": klass.name, "base": _ref(klass.base),
        "county": _ref(klass.base.county),
        "occupation": {"id": klass.occupation.id, "code": klass.occupation.code,
                       "name": klass.occupation.name},
        "level": klass.level, "level_name": LEVEL_NAMES.get(klass.level, ""),
        "start_date": klass.start_date, "end_date": klass.end_date,
        "head_teacher": _ref(klass.head_teacher),
        "versions": [version_summary(v) for v in versions],
        "in_force": version_summary(current) if current else None,
    }


def session_view(s: PlanSession) -> dict[str, Any]:
    """Return a session for the wire."""
    return {"id": s.id, "lineage_id": s.lineage_id, "date": s.date, "start": s.start_time,
            "end": s.end_time, "category": s.category, "topic": s.topic,
            "teacher": _ref(s.teacher), "site": _ref(s.site), "online": s.online,
            "hours": rules.session_class_hours(s, _minutes_per_hour())}


def version_view(version: PlanVersion, user: User | None = None) -> dict[str, Any]:
    """Return a version in full: sessions, masked roster, hours, live violations, diff, and for
    the city the people on its roster whom another base filed the same year (R7)."""
    users = {u.id: u.display_name or u.username for u in db.session.scalars(
        select(User).where(User.id.in_([i for i in (version.approved_by_id,
                                                     version.recorded_by_id) if i])))}
    return {
        **version_summary(version),
        "editable": version.status == "draft",
        "sessions": [session_view(s) for s in version.sessions],
        "roster": roster_rows(version),
        "hours": hours_of(version),
        "violations": check_version(version),
        "diff": diff_of(version),
        "approved_by": users.get(version.approved_by_id),
        "recorded_by": users.get(version.recorded_by_id),
        "cross_base_flags": filed_roster.cross_base_flags(user, version) if user else [],
    }


# ---------------------------------------------------------------- sites and teachers


def list_sites(user: User) -> list[Site]:
    """Return the sites of the bases in scope."""
    query = select(Site).order_by(Site.name)
    bases = base_ids_in_scope(user)
    if bases is not None:
        query = query.where(Site.base_id.in_(bases))
    return list(db.session.scalars(query))


def _apply_point(site: Site, data: dict[str, Any]) -> None:
    point = geo.convert_entered(data["lat"], data["lon"], data.get("datum", "wgs84"))
    site.lat, site.lon = point.lat, point.lon
    site.entered_datum = point.entered_datum
    site.entered_lat, site.entered_lon = point.entered_lat, point.entered_lon


def create_site(user: User, data: dict[str, Any]) -> Site:
    """Add a site to the caller's base; the coordinates are stored in WGS-84."""
    base = _staff_base(user)
    site = Site(base_id=base.id, name=data["name"], address=data["address"],
                radius_m=data.get("radius_m", 150.0), lat=0.0, lon=0.0)
    _apply_point(site, data)
    db.session.add(site)
    db.session.flush()
    audit("site.create", "site", site.id, user=user, datum=site.entered_datum)
    return site


# What a filed plan version freezes of the teachers and sites its sessions name (R7): a
# teacher's name, qualification and certificate; a site's address, coordinates and radius.
# A teacher's phone and a site's display name are contact details, not filed facts.
FROZEN_TEACHER_FIELDS = ("name", "professional_title", "skill_qualification", "certificate_no")
FROZEN_SITE_FIELDS = ("address", "lat", "lon", "datum", "radius_m")


def _refuse_if_filed(column: Any, entity_id: uuid.UUID, changed: set[str],
                     frozen: tuple[str, ...]) -> None:
    """Refuse to change a filed fact: a teacher or site a submitted (or later) version names.

    R7: the version's sessions were reviewed with these facts, and visits are judged against
    them; a change is a new, reviewed version naming a new teacher or site.
    """
    if not changed & set(frozen):
        return
    filed = db.session.scalar(
        select(PlanSession.id).join(PlanVersion, PlanSession.plan_version_id == PlanVersion.id)
        .where(column == entity_id, PlanVersion.status.in_(FILED_STATES)).limit(1))
    if filed is not None:
        raise ApiError("plan.filed_fact")


def update_site(user: User, site_id: uuid.UUID, data: dict[str, Any]) -> Site:
    """Change a site of the caller's base (not one a filed version names); phones get it."""
    site = db.session.get(Site, site_id)
    if site is None or not can_see_base(user, site.base):
        raise ApiError("not_found")
    _own_base(user, site.base)
    _refuse_if_filed(PlanSession.site_id, site.id, set(data), FROZEN_SITE_FIELDS)
    for key in ("name", "address", "radius_m"):
        if key in data:
            setattr(site, key, data[key])
    if "lat" in data:
        _apply_point(site, data)
    db.session.flush()
    # A corrected position must reach the phones, or every place check there would fail.
    record_change("site", site.id, county_id=site.base.county_id)
    audit("site.update", "site", site.id, user=user, fields=sorted(data))
    return site


def site_view(site: Site) -> dict[str, Any]:
    """Return a site, saying which datum its coordinates were converted from."""
    converted = site.entered_datum if site.entered_datum != "wgs84" else None
    shift = 0.0
    if converted and site.entered_lat is not None and site.entered_lon is not None:
        shift = round(geo.distance_m((site.entered_lat, site.entered_lon), (site.lat, site.lon)), 1)
    return {"id": site.id, "base": _ref(site.base), "name": site.name, "address": site.address,
            "lat": site.lat, "lon": site.lon, "radius_m": site.radius_m,
            "entered_datum": site.entered_datum, "entered_lat": site.entered_lat,
            "entered_lon": site.entered_lon, "converted_from": converted, "shift_m": shift}


def list_teachers(user: User) -> list[Teacher]:
    """Return the teachers of the bases in scope."""
    query = select(Teacher).order_by(Teacher.name)
    bases = base_ids_in_scope(user)
    if bases is not None:
        query = query.where(Teacher.base_id.in_(bases))
    return list(db.session.scalars(query))


def create_teacher(user: User, data: dict[str, Any]) -> Teacher:
    """Add a teacher to the caller's base."""
    base = _staff_base(user)
    teacher = Teacher(base_id=base.id, **data)
    db.session.add(teacher)
    db.session.flush()
    audit("teacher.create", "teacher", teacher.id, user=user)
    return teacher


def update_teacher(user: User, teacher_id: uuid.UUID, data: dict[str, Any]) -> Teacher:
    """Change a teacher of the caller's base (only the phone once a filed version names them)."""
    teacher = db.session.get(Teacher, teacher_id)
    if teacher is None or not can_see_base(user, teacher.base):
        raise ApiError("not_found")
    _own_base(user, teacher.base)
    _refuse_if_filed(PlanSession.teacher_id, teacher.id, set(data), FROZEN_TEACHER_FIELDS)
    for key, value in data.items():
        setattr(teacher, key, value)
    audit("teacher.update", "teacher", teacher.id, user=user, fields=sorted(data))
    return teacher


def teacher_view(teacher: Teacher) -> dict[str, Any]:
    """Return a teacher with what R4 lets them teach."""
    return {"id": teacher.id, "base": _ref(teacher.base), "name": teacher.name,
            "professional_title": teacher.professional_title,
            "skill_qualification": teacher.skill_qualification,
            "certificate_no": teacher.certificate_no, "phone": teacher.phone,
            "theory_qualified": teacher.professional_title in rules.SENIOR_TITLES,
            "practical_qualified": teacher.skill_qualification in rules.PRACTICAL_QUALIFICATIONS}
