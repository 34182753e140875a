"""Pull: the changes a reader may see since their cursor, in commit order, paged, deduplicated.

Change sequence numbers are allocated under a row lock held until commit
(services/changes.py), so the committed `last_seq` bounds what is visible: every change at or
below it is committed and readable. A page therefore never skips a change that commits later.

Each entity appears once per pull, with its current state (serialised at read time) and the
op of its latest change (the shapes are in schemas/pull.py). The serialiser of each entity type
is listed by name in SERIALISERS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from schemas.pull import (
    AssignmentDataSchema,
    BaseDataSchema,
    CountyDataSchema,
    PlanVersionDataSchema,
    SiteDataSchema,
    TeacherDataSchema,
    TrainingClassDataSchema,
    VisitReviewDataSchema,
)
from server.errors import ApiError
from server.extensions import db
from server.models import (
    Assignment,
    ChangeLog,
    County,
    PlanVersion,
    Site,
    SyncState,
    Teacher,
    TrainingBase,
    TrainingClass,
    User,
    VisitReview,
)
from server.services.badges import ensure_badge_key_published, serialise_badge_key
from server.services.changes import STATE_ID, ensure_sync_state
from server.services.clock import local_instant, utc_iso, zone_name
from server.services.filed_roster import roster_of
from server.services.push_context import any_of, dialect_name
from server.services.scope import county_filter
from server.services.team_checks import check_visits
from server.services.visits import judging_settings
from sync.cursor import Cursor, CursorError, decode_cursor, encode_cursor, scope_fingerprint

Serialiser = Callable[[uuid.UUID], dict[str, Any] | None]
PULL_ROLES = ("inspector", "county_admin", "city_admin")


# Built once, used by every pull (a schema's construction copies its fields).
_COUNTY = CountyDataSchema()
_BASE = BaseDataSchema()
_SITE = SiteDataSchema()
_TEACHER = TeacherDataSchema()
_TRAINING_CLASS = TrainingClassDataSchema()
_PLAN_VERSION = PlanVersionDataSchema()
_ASSIGNMENT = AssignmentDataSchema()
_VISIT_REVIEW = VisitReviewDataSchema()
_PLAN_VERSION_LOADS = (selectinload(PlanVersion.sessions), selectinload(PlanVersion.enrollments),
                       joinedload(PlanVersion.plan))


def _county(entity_id: uuid.UUID) -> dict[str, Any] | None:
    county = db.session.get(County, entity_id)
    return county and _COUNTY.dump(county)


def _base(entity_id: uuid.UUID) -> dict[str, Any] | None:
    base = db.session.get(TrainingBase, entity_id)
    return base and _BASE.dump(base)


def _site(entity_id: uuid.UUID) -> dict[str, Any] | None:
    site = db.session.get(Site, entity_id)
    return site and _SITE.dump(site)


def _teacher(entity_id: uuid.UUID) -> dict[str, Any] | None:
    teacher = db.session.get(Teacher, entity_id)
    return teacher and _TEACHER.dump(teacher)


def _training_class(entity_id: uuid.UUID) -> dict[str, Any] | None:
    klass = db.session.get(TrainingClass, entity_id)
    return klass and _TRAINING_CLASS.dump(klass)


def _plan_version(entity_id: uuid.UUID) -> dict[str, Any] | None:
    # Already loaded with its sessions, enrolments and plan when a page preloaded it.
    version = db.session.get(PlanVersion, entity_id, options=_PLAN_VERSION_LOADS)
    if version is None:
        return None
    data = _PLAN_VERSION.dump({
        "plan": version.plan, "number": version.number, "status": version.status,
        "sessions": version.sessions, "roster": roster_of(version),
        "judging": judging_settings()})
    windows = {str(s.id): s for s in version.sessions}
    for row in data["sessions"]:
        session = windows[row["id"]]
        row["start_at"] = utc_iso(local_instant(session.date, session.start_time))
        row["end_at"] = utc_iso(local_instant(session.date, session.end_time))
        row["zone"] = zone_name()
    return data


def _assignment(entity_id: uuid.UUID) -> dict[str, Any] | None:
    assignment = db.session.get(Assignment, entity_id)
    return assignment and _ASSIGNMENT.dump(assignment)


def _visit_review(entity_id: uuid.UUID) -> dict[str, Any] | None:
    review = db.session.get(VisitReview, entity_id)
    if review is None:
        return None
    # Every record of the check it decides: a teammate's phone finds its own record here.
    return _VISIT_REVIEW.dump({
        "visit_id": review.visit_id, "decision": review.decision, "comment": review.comment,
        "visit_ids": [v.id for v in check_visits(review.visit)], "at": review.at})


# Entity type -> its serialiser, written out: a new pullable type is added here, by name.
SERIALISERS: dict[str, Serialiser] = {
    "county": _county,
    "base": _base,
    "site": _site,
    "teacher": _teacher,
    "training_class": _training_class,
    "plan_version": _plan_version,
    "assignment": _assignment,
    "visit_review": _visit_review,
    "badge_key": serialise_badge_key,
}


# Entity type -> its model and what its serialiser reads besides the row: a page reads the
# entities of each such type in one query (plus one per collection), not one query per entity
# (the serialisers then find them in the session). A type not listed is read by its serialiser.
PRELOADS: dict[str, tuple[type, tuple]] = {
    "county": (County, ()),
    "base": (TrainingBase, ()),
    "site": (Site, ()),
    "teacher": (Teacher, ()),
    "training_class": (TrainingClass, (joinedload(TrainingClass.occupation),)),
    "plan_version": (PlanVersion, _PLAN_VERSION_LOADS),
    "assignment": (Assignment, (selectinload(Assignment.inspectors),)),
}


def preload(entity_ids: dict[str, list[uuid.UUID]]) -> list[Any]:
    """Read the entities of a page by type (PRELOADS); return them (the caller keeps them alive:
    the session's identity map holds only rows somebody references)."""
    loaded: list[Any] = []
    dialect = dialect_name() if entity_ids else ""
    for entity_type, ids in entity_ids.items():
        loaded.extend(db.session.scalars(_preload_statement(entity_type, dialect), {"ids": ids}))
    return loaded


@cache
def _preload_statement(entity_type: str, dialect: str) -> Select:
    """The preload of one type (PRELOADS), built once per type and dialect; parameter: ids.

    Building it (an IN of the page's ids, its loader options) cost about as much as running it.
    """
    model, options = PRELOADS[entity_type]
    return select(model).where(any_of(model.id, "ids", dialect)).options(*options)


def scope_of(user: User) -> str:
    """Fingerprint what decides the user's pull audience; a change of it resets cursors."""
    return scope_fingerprint([user.id, user.role, county_filter(user), user.base_id])


def _page_statement(county_scoped: bool) -> Select:
    """The page query: each entity's latest change after a seq, in the reader's audience.

    Parameters: after, high (the committed high-water mark), user_id, county (when
    county_scoped), limit. Rows: (entity_type, entity_id, seq, op), by seq. The audience: the
    changes for everyone (no user) of every county, or of the reader's county when scoped, and
    the changes for the reader alone.
    """
    shared = ChangeLog.user_id.is_(None)
    if county_scoped:
        shared = and_(shared, or_(ChangeLog.county_id.is_(None),
                                  ChangeLog.county_id == bindparam("county")))
    latest = (
        select(ChangeLog.entity_type, ChangeLog.entity_id, func.max(ChangeLog.seq).label("seq"))
        .where(ChangeLog.seq > bindparam("after"), ChangeLog.seq <= bindparam("high"),
               or_(shared, ChangeLog.user_id == bindparam("user_id")))
        .group_by(ChangeLog.entity_type, ChangeLog.entity_id)
        .subquery()
    )
    return (select(latest.c.entity_type, latest.c.entity_id, latest.c.seq, ChangeLog.op)
            .join(ChangeLog, ChangeLog.seq == latest.c.seq)
            .order_by(latest.c.seq).limit(bindparam("limit")))


# Built once (building them cost as much as running them on a small page), by whether the
# reader is limited to a county.
_PAGES = {scoped: _page_statement(scoped) for scoped in (False, True)}


def read_cursor(text: str | None, epoch: str, scope: str) -> int:
    """Return the seq a cursor stands at (0 without one); reset when epoch or scope changed."""
    if not text:
        return 0
    try:
        cursor = decode_cursor(text)
    except CursorError as error:
        raise ApiError("sync.bad_cursor") from error
    if not cursor.is_current(epoch, scope):
        raise ApiError("sync.reset", details={"epoch": epoch})
    return cursor.seq


# The epoch and the committed high-water mark, read by every pull (built once).
_STATE = select(SyncState.epoch, SyncState.last_seq).where(SyncState.id == STATE_ID)


def pull(user: User, cursor_text: str | None, limit: int) -> dict[str, Any]:
    """Return one page of changes for the user after the cursor, and the cursor to go on from.

    Returns {changes, cursor, has_more, judging}: `judging` is the server's judging settings as
    they are now (visits.judging_settings), on every page, the no-op one included, so a phone
    judges by the settings the server will judge its next push by, also after a configuration
    change that republished nothing (a plan version's own `judging` is as it was when the
    version was pulled).
    """
    if user.role not in PULL_ROLES:
        raise ApiError("forbidden")
    # Phones verify badges offline with the bureau's public key: make sure it is in the log
    # (publishing it commits, and makes the state row on a fresh database).
    ensure_badge_key_published()
    state = db.session.execute(_STATE).first()
    if state is None:
        ensure_sync_state()
        db.session.commit()  # the epoch must outlive this request, or every cursor resets
        state = db.session.execute(_STATE).one()
    epoch, scope = state.epoch, scope_of(user)
    after = read_cursor(cursor_text, epoch, scope)
    # The committed high-water mark, read in this request before the changes are: every seq at
    # or below a committed last_seq is committed (seqs are taken under the counter's row lock,
    # in the transaction that writes their change), so the state row this request read
    # serves; no second query.
    high = state.last_seq or 0
    if after > high:
        raise ApiError("sync.reset", details={"epoch": epoch})
    if after == high:
        # Nothing committed since the cursor: the answer needs no query (the most common pull).
        return {"changes": [], "cursor": encode_cursor(Cursor(epoch, high, scope)),
                "has_more": False, "judging": judging_settings()}
    county = county_filter(user)
    rows = db.session.execute(_PAGES[county is not None], {
        "after": after, "high": high, "user_id": user.id, "county": county, "limit": limit + 1,
    }).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    wanted: dict[str, list[uuid.UUID]] = {}
    for entity_type, entity_id, _seq, op in rows:
        if op != "delete" and entity_type in PRELOADS:
            wanted.setdefault(entity_type, []).append(entity_id)
    loaded = preload(wanted)  # noqa: F841 (kept alive until the page is serialised)
    changes = []
    for entity_type, entity_id, _seq, op in rows:
        serialiser = SERIALISERS.get(entity_type)
        if serialiser is None:
            continue  # a type this server version cannot serialise is not sent half-made
        data = serialiser(entity_id) if op != "delete" else None
        if data is None:
            changes.append({"type": entity_type, "id": str(entity_id), "op": "delete",
                            "data": None})
        else:
            changes.append({"type": entity_type, "id": str(entity_id), "op": "put", "data": data})
    next_seq = rows[-1].seq if has_more else high
    return {"changes": changes, "cursor": encode_cursor(Cursor(epoch, next_seq, scope)),
            "has_more": has_more, "judging": judging_settings()}
