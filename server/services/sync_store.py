"""Push over SQL: the ledger store behind sync.apply_push, the handler registry, one commit.

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

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from server.errors import ApiError
from server.extensions import db
from server.models import SyncLedger, User, utcnow
from sync.push import LedgerEntry, Mutation, Outcome, PushResponse, Rejected, Result, apply_push

ATTEMPTS = 4


@dataclass
class PushContext:
    """What a handler may know about the push it is part of."""

    user: User
    device_id: str
    received_at: datetime
    # Visits whose sign-ins arrived in this batch: their attendance is judged again at the end.
    touched_visits: set[uuid.UUID] = field(default_factory=set)
    # Look-ups repeated within a batch (e.g. the same trainees); the ORM's identity map is weak.
    cache: dict[Any, Any] = field(default_factory=dict)
    careful: bool = False
    # The whole batch, so a handler can look up what all of its mutations need in one query.
    batch: Sequence[Mutation] = ()
    # Rows of plain inserts, written together (one executemany per table) before they are read.
    inserts: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    # The batch's ids as the schema parsed them, so each id string is parsed once per batch.
    uuids: dict[str, uuid.UUID] = field(default_factory=dict)

    def uuid_of(self, value: str) -> uuid.UUID:
        """Return the UUID of an id string (already parsed when it came with the batch)."""
        known = self.uuids.get(value)
        return known if known is not None else uuid.UUID(value)

    def insert(self, model: Any, row: dict[str, Any]) -> None:
        """Insert a row: at once inside the careful retry's savepoint, else with the batch."""
        if self.careful:
            db.session.execute(insert(model.__table__), [row])
        else:
            self.inserts.setdefault(model, []).append(row)

    def write_inserts(self) -> None:
        """Write the queued rows; call before reading what this batch may have written."""
        for model, rows in self.inserts.items():
            if rows:
                db.session.execute(insert(model.__table__), rows)
        self.inserts.clear()


ContextHandler = Callable[[PushContext, Mutation], Outcome]
# Mutation type -> handler. Other modules may register more types here.
HANDLERS: dict[str, ContextHandler] = {}
# Run at the end of a batch, before the commit (e.g. re-judging visits whose sign-ins came late).
FINISHERS: list[Callable[[PushContext], None]] = []


def register_handler(mutation_type: str, handler: ContextHandler) -> None:
    """Make a mutation type pushable."""
    HANDLERS[mutation_type] = handler


class SqlStore:
    """The ledger in SQL (sync.push.Store)."""

    def __init__(self, context: PushContext, careful: bool) -> None:
        self.context = context
        self.careful = careful
        self.rows: list[dict[str, Any]] = []
        self.hang_after = int(current_app.config.get("SYNC_TEST_HANG_AFTER") or 0)

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
            "device_id": device_id, "seq": mutation.seq, "mutation_id": self.context.uuid_of(ledger_key),
            "user_id": self.context.user.id, "type": mutation.type[:32],
            "entity_id": self.context.uuid_of(mutation.entity_id) if mutation.entity_id else None,
            "status": result.status, "result": result.to_dict(),
            "created_at": self.context.received_at,
        })
        if self.hang_after and len(self.rows) >= self.hang_after:
            self._hang()

    def finish(self) -> None:
        """Run the batch finishers and write the ledger rows (in the same transaction)."""
        self.context.write_inserts()
        for finisher in FINISHERS:
            finisher(self.context)
        if self.rows:
            db.session.execute(insert(SyncLedger.__table__), self.rows)
        db.session.flush()

    def _hang(self) -> None:
        # Test hook only (SYNC_TEST_HANG_AFTER): stop mid-batch with the writes flushed but not
        # committed, tell the test where we are, and wait to be killed.
        self.finish()
        marker = current_app.config.get("SYNC_TEST_HANG_MARKER")
        if marker:
            Path(marker).write_text("hanging\n")
        threading.Event().wait()


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
    _load_handlers()
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
    current_app.logger.warning("push from %s gave up after %d tries: %s", device_id, ATTEMPTS, last_error)
    raise ApiError("sync.busy")


def _bind(handler: ContextHandler, context: PushContext) -> Callable[[Mutation], Outcome]:
    return lambda mutation: handler(context, mutation)


def _load_handlers() -> None:
    # Imported here, not at the top: the handler modules import this one to register.
    import server.services.signins  # noqa: F401
    import server.services.visits  # noqa: F401
