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
from sqlalchemy import cast, func, literal, null, select, union_all
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
        # The batch's ledger query (see last_seq): for which device, and what it found.
        self._looked_up: str | None = None
        self._seqs: set[int] = set()
        self._ids: set[str] = set()
        self._last = 0
        self._entries: dict[int, dict[str, Any]] = {}
        self._owners: dict[str, tuple[str, int]] = {}

    def last_seq(self, device_id: str) -> int:
        """Return the highest recorded seq of the device.

        The one ledger query of the batch: with the last seq come the rows of the batch's seqs
        (its replays) and of its mutation ids (reuse), so ledger_entries and mutation_owners
        answer from them. One round trip instead of three (PostgreSQL, and SQLite's statements).
        """
        self._lookup(device_id)
        return self._last

    def _lookup(self, device_id: str, seqs: set[int] | None = None,
                ids: set[str] | None = None) -> None:
        """Read the device's last seq and the ledger rows of the batch's seqs and mutation ids
        (or of these, when asked for others), in one query."""
        user_id = self.context.user.id
        self._seqs = {m.seq for m in self.context.batch} | (seqs or set())
        self._ids = {m.mutation_id for m in self.context.batch} | (ids or set())
        mine = (SyncLedger.user_id == user_id) & (SyncLedger.device_id == device_id)
        last = select(func.max(SyncLedger.seq)).where(mine).scalar_subquery()
        seqs = SyncLedger.seq.in_(sorted(self._seqs))
        none = [cast(null(), column.type) for column in
                (SyncLedger.device_id, SyncLedger.mutation_id, SyncLedger.result)]
        ledger = (SyncLedger.device_id, SyncLedger.seq, SyncLedger.mutation_id)
        # Three index look-ups (each simple enough for either planner), one statement: the
        # batch's seqs of this device with their results (replays); its last seq; where the
        # batch's mutation ids were recorded, unless already among the first (reuse).
        rows = db.session.execute(union_all(
            select(literal(1), *ledger, SyncLedger.result).where(mine, seqs),
            select(literal(2), none[0], SyncLedger.seq, none[1], none[2])
            .where(mine, SyncLedger.seq == last),
            select(literal(3), *ledger, none[2]).where(
                SyncLedger.mutation_id.in_([self.context.uuid_of(m) for m in self._ids]),
                ~(mine & seqs)),
        )).all()
        self._last, self._entries, self._owners = 0, {}, {}
        for kind, row_device, seq, mutation_id, result in rows:
            if kind == 2:
                self._last = seq
                continue
            if kind == 1:
                self._entries[seq] = result
            self._owners[str(mutation_id)] = (row_device, seq)
        self._looked_up = device_id

    def ledger_entries(self, device_id: str, seqs: Sequence[int]) -> dict[int, LedgerEntry]:
        """Return stored results of these seqs (the batch's own: from the batch's ledger query)."""
        wanted = set(seqs)
        if self._looked_up != device_id or not wanted <= self._seqs:
            self._lookup(device_id, wanted)
        found = self._entries
        return {seq: LedgerEntry(str(found[seq]["mutation_id"]), Result.from_dict(found[seq]))
                for seq in wanted if seq in found}

    def mutation_owners(self, mutation_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Return where each already-recorded mutation_id was recorded (from the same query)."""
        wanted = set(mutation_ids)
        if self._looked_up is None or not wanted <= self._ids:
            self._lookup(self._looked_up or self.context.device_id, ids=wanted)
        return {m: self._owners[m] for m in wanted if m in self._owners}

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
