"""The change log behind pull: every change gets a sequence number in commit order.

The counter row is updated (and so locked) in the writer's transaction and the lock is held
until commit, so a later seq can never commit before an earlier one: a client paging through
pull never skips a change committed late. Writers of pull-visible changes serialise on this
row; they are few (plan filings, assignments, reviews), while evidence pushes write none.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from server.extensions import db
from server.models import ChangeLog, SyncState

STATE_ID = 1


def ensure_sync_state() -> SyncState:
    """Return the sync state row, creating it with a fresh epoch on first use."""
    state = db.session.get(SyncState, STATE_ID)
    if state is None:
        state = SyncState(id=STATE_ID, epoch=str(uuid.uuid4()), last_seq=0)
        db.session.add(state)
        db.session.flush()
    return state


def allocate_seq() -> int:
    """Take the next change sequence number, locking the counter until this transaction ends."""
    ensure_sync_state()
    return db.session.execute(
        update(SyncState)
        .where(SyncState.id == STATE_ID)
        .values(last_seq=SyncState.last_seq + 1)
        .returning(SyncState.last_seq)
    ).scalar_one()


def record_change(
    entity_type: str,
    entity_id: uuid.UUID,
    op: str = "put",
    *,
    county_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> ChangeLog:
    """Log that an entity changed, for the audience given (a county, everyone, or one user)."""
    change = ChangeLog(
        seq=allocate_seq(), entity_type=entity_type, entity_id=entity_id, op=op,
        county_id=county_id, user_id=user_id,
    )
    db.session.add(change)
    return change


def new_epoch() -> str:
    """Start a new epoch: every cursor handed out before is answered with a reset."""
    state = ensure_sync_state()
    state.epoch = str(uuid.uuid4())
    return state.epoch


def current_epoch() -> str:
    """Return the current epoch."""
    return ensure_sync_state().epoch


def latest_seq() -> int:
    """Return the highest committed change sequence number."""
    return db.session.execute(
        select(SyncState.last_seq).where(SyncState.id == STATE_ID)).scalar() or 0


def publish_plan_version(version) -> None:
    """Make a filed plan version, and what it refers to, visible to pull in its county.

    Called when a county approves a version (and by the demo loader). Pull serialises each
    entity's current state, so publishing the same entity twice is harmless.
    """
    training_class = version.plan.training_class
    base = training_class.base
    county_id = base.county_id
    record_change("county", county_id, county_id=county_id)
    record_change("base", base.id, county_id=county_id)
    for site_id in sorted({s.site_id for s in version.sessions}):
        record_change("site", site_id, county_id=county_id)
    for teacher_id in sorted({s.teacher_id for s in version.sessions}):
        record_change("teacher", teacher_id, county_id=county_id)
    record_change("training_class", training_class.id, county_id=county_id)
    record_change("plan_version", version.id, county_id=county_id)


def publish_assignment(assignment, op: str = "put") -> None:
    """Make an assignment visible to pull for each inspector of its team, and to nobody else."""
    for inspector in assignment.inspectors:
        record_change("assignment", assignment.id, op, user_id=inspector.id)


def publish_visit_review(review, members: list[uuid.UUID] | None = None) -> None:
    """Send a reviewer's decision to every member of the check it decides (R10 teams; the
    decisions pass `team_checks.check_members`), by default to the visit's own inspector."""
    for user_id in members or [review.visit.inspector_id]:
        record_change("visit_review", review.id, user_id=user_id)
