"""Push over SQL: the ledger store behind sync.apply_push, the handler list, one commit.

A batch runs in one transaction: every ledger row commits together with its effect, or nothing
does. Two modes keep it both safe and fast:
- fast (first try): handlers validate everything before they add anything, so a rejection
  leaves nothing behind and needs no savepoint; the batch's rows are flushed once at the end;
- careful (retry): when the fast try hits a database error (a record id already taken, or a
  concurrent push of the same device winning the ledger key), the batch is rolled back and
  run again with a savepoint per mutation. A conflict inside one mutation then rejects that
  mutation only; a ledger key taken by a concurrent push makes the next try a replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from server.errors import ApiError
from server.extensions import db
from server.models import SyncLedger, User, utcnow
from server.services import signins, visits
from server.services.push_context import PushContext, bulk_insert
from sync.push import LedgerEntry, Mutation, Outcome, PushResponse, Rejected, Result, apply_push

ATTEMPTS = 4


ContextHandler = Callable[[PushContext, Mutation], Outcome]
# Mutation type -> its handler. A new type is added here, by name: nothing registers itself.
HANDLERS: dict[str, ContextHandler] = {
    "signin.create": signins.create_signin,
    "visit.submit": visits.submit_visit,
}
# End-of-batch steps, run in this order after every mutation of the batch is applied and its
# queued rows are written, before the ledger rows and the one commit:
# 1. flag the batch's sign-ins (代签 and the like) and raise attendance findings on their visits;
# 2. judge attendance again for visits whose sign-ins came in this batch (late sign-ins).
# Both read the same stored visits once (PushContext.stored_visits); neither depends on the
# other's writes, and the order is fixed here so it never depends on which module loaded first.
FINISHERS: tuple[Callable[[PushContext], None], ...] = (
    signins.flag_new_signins,
    visits.rejudge_touched_visits,
)


class SqlStore:
    """The ledger in SQL (sync.push.Store)."""

    def __init__(self, context: PushContext, careful: bool) -> None:
        self.context = context
        self.careful = careful
        self.rows: list[dict[str, Any]] = []

    def last_seq(self, device_id: str) -> int:
        """Return the highest recorded seq of the device."""
        return db.session.scalar(
            select(func.max(SyncLedger.seq))
            .where(SyncLedger.user_id == self.context.user.id, SyncLedger.device_id == device_id)
        ) or 0

    def ledger_entries(self, device_id: str, seqs: Sequence[int]) -> dict[int, LedgerEntry]:
        """Return stored results of these seqs."""
        if not seqs:
            return {}
        rows = db.session.execute(
            select(SyncLedger.seq, SyncLedger.result)
            .where(SyncLedger.user_id == self.context.user.id, SyncLedger.device_id == device_id,
                   SyncLedger.seq.in_(sorted(set(seqs))))
        ).all()
        return {seq: LedgerEntry(str(result["mutation_id"]), Result.from_dict(result))
                for seq, result in rows}

    def mutation_owners(self, mutation_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Return where each already-recorded mutation_id was recorded."""
        ids = [self.context.uuid_of(m) for m in set(mutation_ids)]
        if not ids:
            return {}
        rows = db.session.execute(
            select(SyncLedger.mutation_id, SyncLedger.device_id, SyncLedger.seq)
            .where(SyncLedger.mutation_id.in_(ids))
        ).all()
        return {str(mid): (device, seq) for mid, device, seq in rows}

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Scope one mutation: a savepoint when careful, cheap bookkeeping when fast."""
        if self.careful:
            try:
                with db.session.begin_nested():
                    yield
            except IntegrityError as error:
                raise Rejected("sync.conflict") from error
            except DataError as error:
                # A value the database cannot hold (the schemas should have refused it):
                # this mutation is rejected, the rest of the batch goes on.
                raise Rejected("sync.unstorable") from error
            return
        before = set(db.session.new)
        try:
            yield
        except Rejected:
            # Handlers validate before they add; drop anything added anyway.
            for obj in set(db.session.new) - before:
                db.session.expunge(obj)
            raise

    def record(self, device_id: str, ledger_key: str, mutation: Mutation, result: Result) -> None:
        """Queue the ledger row; rows are inserted together before the commit."""
        self.rows.append({
            "device_id": device_id, "seq": mutation.seq,
            "mutation_id": self.context.uuid_of(ledger_key),
            "user_id": self.context.user.id, "type": mutation.type[:32],
            "entity_id": self.context.uuid_of(mutation.entity_id) if mutation.entity_id else None,
            "status": result.status, "result": result.to_dict(),
            "created_at": self.context.received_at,
        })

    def finish(self) -> None:
        """Run the batch finishers and write the ledger rows (in the same transaction)."""
        self.context.write_inserts()
        # The batch's new visits are written once, with what the finishers add to them (one
        # INSERT, not an INSERT then an UPDATE); the finishers read only rows already written.
        with db.session.no_autoflush:
            for finisher in FINISHERS:
                finisher(self.context)
        if self.rows:
            bulk_insert(SyncLedger.__table__, self.rows)
        db.session.flush()


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError | DataError):
        return True
    # SQLite: a second writer that cannot take the lock (busy_timeout ran out or a stale snapshot).
    return isinstance(error, OperationalError) and "locked" in str(error.orig).lower()


def to_mutation(data: Mapping[str, Any], uuids: dict[str, uuid.UUID] | None = None) -> Mutation:
    """Turn a loaded MutationSchema dict into a sync Mutation (noting its parsed ids in uuids)."""
    base = data.get("base") or {}
    mutation_id = str(data["mutation_id"])
    entity_id = str(data["entity_id"]) if data.get("entity_id") else None
    if uuids is not None:
        for text, value in ((mutation_id, data["mutation_id"]), (entity_id, data.get("entity_id"))):
            if isinstance(value, uuid.UUID):
                uuids[text] = value
    return Mutation(
        mutation_id=mutation_id, seq=int(data["seq"]), type=data["type"],
        entity_id=entity_id,
        client_time=data.get("client_time"),
        base={k: (str(v) if v is not None else None) for k, v in base.items()},
        payload=data["payload"],
    )


def push(
    user: User,
    device_id: str,
    mutations: Sequence[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    commit: bool = True,
) -> PushResponse:
    """Apply one device's batch exactly once per seq, in one transaction; return the results."""
    uuids: dict[str, uuid.UUID] = {}
    batch = [to_mutation(m, uuids) for m in mutations]
    last_error: Exception | None = None
    for attempt in range(ATTEMPTS):
        context = PushContext(user=user, device_id=device_id, received_at=now or utcnow(),
                              careful=attempt > 0, batch=batch, uuids=uuids)
        store = SqlStore(context, careful=attempt > 0)
        handlers = {name: _bind(handler, context) for name, handler in HANDLERS.items()}
        try:
            response = apply_push(store, device_id, batch, handlers)
            store.finish()
            if commit:
                db.session.commit()
            return response
        except (IntegrityError, DataError, OperationalError) as error:
            db.session.rollback()
            if not _is_retryable(error):
                raise
            last_error = error
    current_app.logger.warning("push from %s gave up after %d tries: %s", device_id, ATTEMPTS,
                               last_error)
    raise ApiError("sync.busy")


def _bind(handler: ContextHandler, context: PushContext) -> Callable[[Mutation], Outcome]:
    return lambda mutation: handler(context, mutation)
