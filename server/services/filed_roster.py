"""The roster of a plan version (R5, R7): the one place every reader gets it from.

Filed means frozen. When a version is submitted its roster freezes: each trainee's details as that
base entered them (name, gender, the ID number as the trainee row keeps it — encrypted, masked and
its keyed hash —, birth year, education, occupation, certificate, employer, phone) are copied into
the version's enrolments. From then on every reader of that version — the rules, the review pages,
the judge's roster, sign-in names, the phones' pull, badges, self sign-in, the PDF, the
spreadsheets and the archive — reads the frozen copy; a draft (still the base's work) reads the
base's live trainee records. A later edit of the base's entry for a person (a new roster import, a
correction in a draft) changes drafts only; changing a filed roster is a new, reviewed version.

A person on two bases' filed rosters in the same year (compared by the keyed hash of the ID number,
never decrypted) is flagged to the city once, when the second base's version is submitted: the
roster is frozen then, and the city's re-check (复核备案) comes after, so the flag waits for it.
Only the city sees it (scope.sees_cross_base_flags); no base learns of the other base.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import (
    CrossBaseFlag,
    Enrollment,
    Plan,
    PlanVersion,
    Trainee,
    TrainingClass,
    User,
    utcnow,
)
from server.services.plan_versions import current_filed_version_ids
from server.services.scope import sees_cross_base_flags

# What a filed version freezes of each trainee on its roster (the trainee row's own columns).
FROZEN_FIELDS = ("name", "gender", "id_number_enc", "id_number_hash", "id_masked", "birth_date",
                 "education", "occupation_name", "certificate_level", "certificate_date",
                 "employer", "employer_kind", "phone")


@dataclass(frozen=True)
class RosterEntry:
    """A trainee as a version's roster shows them: frozen for a filed version, live for a draft.

    `id` is the trainee's id (the base's entry for the person), so an entry reads like a Trainee.
    """

    id: uuid.UUID
    name: str
    gender: str
    id_number_enc: bytes
    id_number_hash: str
    id_masked: str
    birth_date: date | None
    education: str
    occupation_name: str
    certificate_level: str
    certificate_date: date | None
    employer: str
    employer_kind: str
    phone: str
    frozen: bool

    @property
    def trainee_id(self) -> uuid.UUID:
        """The trainee's id (as an Enrollment names it)."""
        return self.id


def _entry(enrollment: Enrollment, source: Any, frozen: bool) -> RosterEntry:
    values = {key: getattr(source, key) for key in FROZEN_FIELDS}
    for key in FROZEN_FIELDS:
        if values[key] is None and key not in ("birth_date", "certificate_date"):
            values[key] = b"" if key == "id_number_enc" else ""
    # An enrolment not yet flushed knows its trainee by the relationship only.
    trainee_id = enrollment.trainee_id or (source.id if not frozen else None)
    return RosterEntry(id=trainee_id, frozen=frozen, **values)


def freeze_enrollment(enrollment: Enrollment, trainee: Trainee | None = None,
                      now: datetime | None = None) -> None:
    """Copy the trainee's details into the enrolment, once (a frozen copy never changes)."""
    if enrollment.frozen_at is not None:
        return
    trainee = trainee or enrollment.trainee or db.session.get(Trainee, enrollment.trainee_id)
    for key in FROZEN_FIELDS:
        setattr(enrollment, key, getattr(trainee, key))
    enrollment.frozen_at = now or utcnow()


def freeze_roster(version: PlanVersion, now: datetime | None = None) -> None:
    """Freeze a version's roster as the base's records stand now (at submission, R7)."""
    now = now or utcnow()
    for enrollment in version.enrollments:
        freeze_enrollment(enrollment, now=now)


def _frozen(version: PlanVersion) -> bool:
    return version.status != "draft"


def roster_of(version: PlanVersion | None) -> list[RosterEntry]:
    """Return a version's roster in enrolment order: the frozen copy once filed, else live."""
    if version is None:
        return []
    filed = _frozen(version)
    # A filed enrolment without a copy (written around the services) shows the live record.
    return [_entry(e, e, True) if filed and e.frozen_at is not None
            else _entry(e, e.trainee, False) for e in version.enrollments]


def roster_by_name(version: PlanVersion | None) -> list[RosterEntry]:
    """Return a version's roster ordered by name (then id), for pages, documents and phones."""
    return sorted(roster_of(version), key=lambda e: (e.name, str(e.id)))


def roster_ids(plan_version_id: uuid.UUID) -> list[str]:
    """Return the trainee ids on a plan version's roster (what the judge counts against)."""
    return [str(t) for t in db.session.scalars(
        select(Enrollment.trainee_id).where(Enrollment.plan_version_id == plan_version_id))]


def version_roster_ids(version: PlanVersion) -> list[str]:
    """Return the trainee ids on a version's roster (as roster_ids) from its enrolments as the
    session has them: one load per version per session, shared with roster_of, which reads the
    same collection (a push judges a visit's attendance, then reconciles it by name)."""
    return [str(e.trainee_id) for e in version.enrollments]


def person_on(version: PlanVersion | None, trainee_id: uuid.UUID | None) -> RosterEntry | None:
    """Return a trainee as the version's roster shows them; one not on it as their record does
    (a sign-in of someone unknown to the roster still shows who it named).
    """
    if trainee_id is None:
        return None
    for entry in roster_of(version):
        if entry.id == trainee_id:
            return entry
    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None:
        return None
    return RosterEntry(id=trainee.id, frozen=False,
                       **{key: getattr(trainee, key) for key in FROZEN_FIELDS})


def names_on(version: PlanVersion | None, trainee_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return the names of these trainees as the version's roster shows them."""
    found = {}
    for trainee_id in trainee_ids:
        person = person_on(version, trainee_id)
        if person is not None:
            found[trainee_id] = person.name
    return found


def purge_frozen(trainee_id: uuid.UUID, replacement: dict[str, Any]) -> None:
    """Erase personal data from every frozen copy of a trainee (retention, R12)."""
    for enrollment in db.session.scalars(select(Enrollment).where(
            Enrollment.trainee_id == trainee_id, Enrollment.frozen_at.is_not(None))):
        for key, value in replacement.items():
            setattr(enrollment, key, value)


# ---------------------------------------------------------------- cross-base people


def _filed_rosters_of_year(year: int):
    """Select (enrolment, class) of every plan's newest filed version with classes in the year."""
    return (select(Enrollment, TrainingClass)
            .join(PlanVersion, PlanVersion.id == Enrollment.plan_version_id)
            .join(Plan, Plan.id == PlanVersion.plan_id)
            .join(TrainingClass, TrainingClass.id == Plan.class_id)
            .where(PlanVersion.id.in_(current_filed_version_ids()),
                   TrainingClass.start_date >= date(year, 1, 1),
                   TrainingClass.start_date <= date(year, 12, 31)))


def raise_cross_base_flags(version: PlanVersion) -> list[CrossBaseFlag]:
    """Flag each person on this (just submitted) roster who is on another base's filed roster the
    same year; idempotent: a person is flagged once a year however many bases file them.

    Return the flags this call raised (none when all were raised before).
    """
    klass = version.plan.training_class
    year = klass.start_date.year
    hashes = {e.id_number_hash for e in version.enrollments if e.id_number_hash}
    if not hashes:
        return []
    others = db.session.execute(_filed_rosters_of_year(year).where(
        TrainingClass.base_id != klass.base_id,
        Enrollment.id_number_hash.in_(sorted(hashes)))).all()
    shared = {enrollment.id_number_hash for enrollment, _ in others}
    known = set(db.session.scalars(select(CrossBaseFlag.id_number_hash).where(
        CrossBaseFlag.year == year, CrossBaseFlag.id_number_hash.in_(sorted(shared)))))
    raised = []
    for digest in sorted(shared - known):
        flag = CrossBaseFlag(year=year, id_number_hash=digest, raised_by_version_id=version.id)
        try:
            # Two bases submitting at once: the unique (year, person) lets one flag stand.
            with db.session.begin_nested():
                db.session.add(flag)
        except IntegrityError:
            continue
        raised.append(flag)
    return raised


def cross_base_flags(user: User, version: PlanVersion) -> list[dict[str, Any]]:
    """The city's view of the people on this version's roster who are on another base's filed
    roster the same year: each with every filed roster that names them (base, county, class,
    version, the name as that base entered it). Empty for anyone but the city.
    """
    if not sees_cross_base_flags(user) or not _frozen(version):
        return []
    year = version.plan.training_class.start_date.year
    mine = {e.id_number_hash: e for e in roster_of(version)}
    flags = list(db.session.scalars(select(CrossBaseFlag).where(
        CrossBaseFlag.year == year, CrossBaseFlag.id_number_hash.in_(sorted(mine)))
        .order_by(CrossBaseFlag.raised_at)))
    if not flags:
        return []
    rows = db.session.execute(_filed_rosters_of_year(year).where(
        Enrollment.id_number_hash.in_([f.id_number_hash for f in flags]))
        .order_by(TrainingClass.start_date, TrainingClass.name)).all()
    result = []
    for flag in flags:
        person = mine[flag.id_number_hash]
        result.append({
            "code": "trainee.cross_base", "year": year, "raised_at": flag.raised_at,
            "name": person.name, "id_masked": person.id_masked,
            "rosters": [{"base": klass.base.name, "county": klass.base.county.name,
                         "class_id": klass.id, "class_name": klass.name,
                         "version_id": enrollment.plan_version_id,
                         "version": enrollment.plan_version.number,
                         "status": enrollment.plan_version.status, "name": enrollment.name}
                        for enrollment, klass in rows
                        if enrollment.id_number_hash == flag.id_number_hash],
        })
    return result


def flagged_version_ids(user: User, version_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of these versions, those whose roster names a flagged person (the city's queue marks them).
    """
    if not sees_cross_base_flags(user) or not version_ids:
        return set()
    rows = db.session.execute(
        select(Enrollment.plan_version_id, Enrollment.id_number_hash, TrainingClass.start_date)
        .join(PlanVersion, PlanVersion.id == Enrollment.plan_version_id)
        .join(Plan, Plan.id == PlanVersion.plan_id)
        .join(TrainingClass, TrainingClass.id == Plan.class_id)
        .join(CrossBaseFlag, CrossBaseFlag.id_number_hash == Enrollment.id_number_hash)
        .where(Enrollment.plan_version_id.in_(version_ids))).all()
    flagged = {(f.year, f.id_number_hash) for f in db.session.scalars(
        select(CrossBaseFlag).where(CrossBaseFlag.id_number_hash.in_({r[1] for r in rows})))}
    return {version_id for version_id, digest, start in rows if (start.year, digest) in flagged}


# ---------------------------------------------------------------- the safety net


def _freeze_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """An enrolment written into a version that is already filed (a fixture, the demo, an import
    of old data) is frozen as it is written: no filed roster reads the live records.
    """
    with session.no_autoflush:
        for obj in list(session.new):
            if isinstance(obj, Enrollment) and obj.frozen_at is None:
                version = obj.plan_version or session.get(PlanVersion, obj.plan_version_id)
                if version is not None and _frozen(version):
                    freeze_enrollment(obj)


def install() -> None:
    """Freeze enrolments written into filed versions on every ORM flush (called by create_app)."""
    if not event.contains(Session, "before_flush", _freeze_before_flush):
        event.listen(Session, "before_flush", _freeze_before_flush)
