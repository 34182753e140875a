"""Push over SQL: the ledger store behind sync.apply_push, the handler list, one commit.

A batch runs in one transaction: every ledger row commits together with its effect, or nothing
does. Two modes keep it both safe and fast:
- fast (first try): handlers validate everything before they add anything, so a rejection
  leaves nothing behind and needs no savepoint; the batch's rows are flushed once at the end;
- careful (retry): when the fast try hits a database error (a record id already taken, a
  sign-in naming a trainee that does not exist, or a concurrent push of the same device
  winning the ledger key), the batch is rolled back and run again with a savepoint per
  mutation (on SQLite inside the batch's transaction: server/__init__.py). A conflict inside
  one mutation then rejects that mutation only; a ledger key taken by a concurrent push makes
  the next try a replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import (
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.extensions import db
from server.models import SyncLedger, User, utcnow
from server.services import signins, visits
from server.services.push_context import PushContext, any_of, bulk_insert
from sync.push import Mutation, Outcome, PushResponse, Rejected, apply_push

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
        # (device, seq, mutation_id as the driver gave it) of the rows found, made into
        # mutation_owners' answer only when it is asked for (a replayed batch never asks).
        self._owner_rows: list[tuple[str, int, Any]] = []
        self._owners: dict[str, tuple[str, int]] | None = None
        self._mutation_id_of: Callable[[Any], Any] | None = None
        self._user_id = context.user.id
        # One object entered for every mutation of the fast try (apply_push never nests them).
        self._fast_attempt = _Unadd(db.session())

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
        (or of these, when asked for others), in one query (_ledger_query)."""
        self._seqs = {m.seq for m in self.context.batch} | (seqs or set())
        self._ids = {m.mutation_id for m in self.context.batch} | (ids or set())
        connection = db.session.connection()
        query = _ledger_query(connection.dialect)
        rows = connection.exec_driver_sql(query.sql, query.parameters(
            self.context.user.id, device_id, sorted(self._seqs),
            [self.context.uuid_of(m) for m in self._ids])).all()
        self._last, self._entries, self._owner_rows, self._owners = 0, {}, [], None
        load_result = query.load_result
        for kind, row_device, seq, mutation_id, result in rows:
            if kind == 2:
                self._last = seq
                continue
            if kind == 1:
                self._entries[seq] = load_result(result) if load_result else result
            self._owner_rows.append((row_device, seq, mutation_id))
        self._mutation_id_of = query.load_mutation_id
        self._looked_up = device_id

    def ledger_entries(self, device_id: str, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Return stored results of these seqs (the batch's own: from the batch's ledger query)."""
        wanted = set(seqs)
        if self._looked_up != device_id or not wanted <= self._seqs:
            self._lookup(device_id, wanted)
        found = self._entries
        return {seq: found[seq] for seq in wanted if seq in found}

    def mutation_owners(self, mutation_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Return where each already-recorded mutation_id was recorded (from the same query)."""
        wanted = set(mutation_ids)
        if not wanted:
            return {}
        if self._looked_up is None or not wanted <= self._ids:
            self._lookup(self._looked_up or self.context.device_id, ids=wanted)
        if self._owners is None:
            load = self._mutation_id_of
            self._owners = {str(load(mutation_id) if load else mutation_id): (row_device, seq)
                            for row_device, seq, mutation_id in self._owner_rows}
        return {m: self._owners[m] for m in wanted if m in self._owners}

    def attempt(self) -> AbstractContextManager[None]:
        """Scope one mutation: a savepoint when careful, cheap bookkeeping when fast."""
        return self._careful_attempt() if self.careful else self._fast_attempt

    @contextmanager
    def _careful_attempt(self) -> Iterator[None]:
        try:
            with db.session.begin_nested():
                yield
        except IntegrityError as error:
            raise Rejected("sync.conflict") from error
        except DataError as error:
            # A value the database cannot hold (the schemas should have refused it):
            # this mutation is rejected, the rest of the batch goes on.
            raise Rejected("sync.unstorable") from error

    def record(self, device_id: str, ledger_key: str, mutation: Mutation,
               result: Mapping[str, Any]) -> None:
        """Queue the ledger row; rows are inserted together before the commit (finish)."""
        context = self.context
        self.rows.append({
            "device_id": device_id, "seq": mutation.seq,
            "mutation_id": context.uuid_of(ledger_key),
            "user_id": self._user_id, "type": mutation.type[:32],
            "entity_id": context.uuid_of(mutation.entity_id) if mutation.entity_id else None,
            # The answer's own dict: finish() writes it before the answer gets its words.
            "status": result["status"], "result": result,
            "created_at": context.received_at,
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


class _Unadd:
    """The fast try's attempt(): a rejected mutation leaves nothing in the session.

    Handlers validate before they add (their rows are queued, not added), so this is a check
    that usually finds nothing; it reads the session's pending objects before and after.
    """

    __slots__ = ("session", "before")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.before: set[Any] = set()

    def __enter__(self) -> None:
        new = self.session.new
        self.before = set(new) if new else set()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: Any) -> bool:
        if kind is not None and issubclass(kind, Rejected):
            # Handlers validate before they add; drop anything added anyway.
            for obj in set(self.session.new) - self.before:
                self.session.expunge(obj)
        return False


@dataclass(frozen=True)
class _LedgerQuery:
    """The batch's ledger query compiled for one dialect (see _ledger_query)."""

    sql: str
    positional: bool
    # Each parameter's name and bind processor (or None), in the order the SQL takes them.
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    # Values of parameters the dialect adds itself (SQLite: the subquery's OFFSET 0).
    fixed: dict[str, Any]
    # Result processors of the mutation_id and result columns (None: the driver's value is it).
    load_mutation_id: Callable[[Any], Any] | None
    load_result: Callable[[Any], Any] | None

    def parameters(self, user_id: uuid.UUID, device_id: str, seqs: list[int],
                   mutation_ids: list[uuid.UUID]) -> Any:
        """Return the driver's parameters (seqs ascending; each list one parameter, any_of)."""
        values: dict[str, Any] = {**self.fixed, "user_id": user_id, "device_id": device_id,
                                  "seq_low": seqs[0] if seqs else 0,
                                  "seq_high": seqs[-1] if seqs else 0,
                                  "seqs": seqs, "ids": mutation_ids}
        converted = [(name, process(values[name]) if process else values[name])
                     for name, process in self.binds]
        if self.positional:
            return tuple(value for _, value in converted)
        return dict(converted)


# dialect name -> the compiled ledger query.
_LEDGER_QUERIES: dict[str, _LedgerQuery] = {}


def _ledger_query(dialect: Any) -> _LedgerQuery:
    """Return the ledger query of the dialect, compiled once.

    Three index look-ups (each simple enough for either planner), one statement: the batch's
    seqs of this device with their results (kind 1: replays); its last seq (kind 2); where the
    batch's mutation ids were recorded, unless already among the first (kind 3: reuse). Rows:
    (kind, device_id, seq, mutation_id, result). Built and compiled once and run as the
    driver's SQL: building and compiling it per batch cost more than the query (1.3 of 1.5 ms
    for a replayed batch of 100 on SQLite).
    The lists are one parameter each (any_of: an array on PostgreSQL, whose psycopg parses a
    statement of more than 50 parameters again on every execution; a JSON array on SQLite), so
    one statement serves every batch.
    """
    query = _LEDGER_QUERIES.get(dialect.name)
    if query is not None:
        return query
    table = SyncLedger.__table__
    user = bindparam("user_id", type_=table.c.user_id.type)
    device = bindparam("device_id", type_=table.c.device_id.type)
    listed_seqs = any_of(table.c.seq, "seqs", dialect.name)
    ids = any_of(table.c.mutation_id, "ids", dialect.name)
    # The seqs also as their range: an index condition on (user, device, seq) for any planner,
    # whatever its statistics say (PostgreSQL, before it had analyzed the ledger, read every
    # row of the device and filtered them by the list: 3.6 of the query's 4.0 ms).
    high = bindparam("seq_high", type_=table.c.seq.type)
    seqs = table.c.seq.between(bindparam("seq_low", type_=table.c.seq.type), high) & listed_seqs
    mine = (table.c.user_id == user) & (table.c.device_id == device)
    # The last seq as the top of the device's index range (one entry read), not max() over
    # it: a planner without statistics aggregated every row of the device.
    last = (select(table.c.seq).where(mine).order_by(table.c.seq.desc())
            .limit(literal_column("1")).scalar_subquery())
    none = [cast(null(), column.type) for column in
            (table.c.device_id, table.c.mutation_id, table.c.result)]
    ledger = (table.c.device_id, table.c.seq, table.c.mutation_id)
    compiled = union_all(
        select(literal_column("1"), *ledger, table.c.result).where(mine, seqs),
        select(literal_column("2"), none[0], table.c.seq, none[1], none[2])
        .where(mine, table.c.seq == last),
        # Only a seq beyond the last can be applied and needs its id's owner: a batch that
        # is all replays skips this look-up (one test before it starts; PostgreSQL, without
        # statistics yet, scanned the whole ledger for it).
        select(literal_column("3"), *ledger, none[2])
        .where(ids, ~(mine & seqs), high > func.coalesce(last, 0)),
    ).compile(dialect=dialect)
    names = list(compiled.positiontup or []) if dialect.positional else list(compiled.binds)
    binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                  for name in names)
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items()
             if bind.value is not None}
    query = _LEDGER_QUERIES[dialect.name] = _LedgerQuery(
        str(compiled), dialect.positional, binds, fixed,
        _result_processor(table.c.mutation_id, dialect), _result_processor(table.c.result, dialect))
    return query


def _result_processor(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


# PostgreSQL's answers to a transaction that lost to another (SQLSTATE): deadlock_detected,
# serialization_failure. Tried again, the batch runs after the winner's commit.
_LOST_TO_ANOTHER = frozenset({"40P01", "40001"})


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError | DataError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if getattr(error.orig, "sqlstate", None) in _LOST_TO_ANOTHER:
        return True
    # SQLite: a second writer that cannot take the lock (busy_timeout ran out or a stale
    # snapshot): "database is locked", "database table is locked". (A PostgreSQL deadlock's
    # "blocked by" matched a bare "locked" by chance before its SQLSTATE was read above.)
    return "is locked" in str(error.orig).lower()


def to_mutation(data: Mapping[str, Any], uuids: dict[str, uuid.UUID] | None = None,
                texts: dict[Any, str] | None = None) -> Mutation:
    """Turn a loaded MutationSchema dict into a sync Mutation (noting its parsed ids in uuids).

    texts: the batch's base values already written as text (value -> str), shared by the
    batch's calls: its mutations usually name one plan version.
    """
    raw_id, raw_entity = data["mutation_id"], data.get("entity_id")
    mutation_id = str(raw_id)
    entity_id = str(raw_entity) if raw_entity else None
    if uuids is not None:
        if isinstance(raw_id, uuid.UUID):
            uuids[mutation_id] = raw_id
        if isinstance(raw_entity, uuid.UUID):
            uuids[str(entity_id)] = raw_entity
    base = data.get("base")
    return Mutation(mutation_id, int(data["seq"]), data["type"], entity_id,
                    data.get("client_time"), _base_texts(base, texts) if base else {},
                    data["payload"])


def _base_texts(base: Mapping[str, Any], texts: dict[Any, str] | None) -> dict[str, str | None]:
    written: dict[str, str | None] = {}
    for key, value in base.items():
        if value is None:
            written[key] = None
        elif texts is None:
            written[key] = str(value)
        else:
            text = texts.get(value)
            if text is None:
                text = texts[value] = str(value)
            written[key] = text
    return written


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
    texts: dict[Any, str] = {}
    batch = [to_mutation(m, uuids, texts) for m in mutations]
    last_error: Exception | None = None
    for attempt in range(ATTEMPTS):
        context = PushContext(user=user, device_id=device_id, received_at=now or utcnow(),
                              careful=attempt > 0, batch=batch, uuids=uuids)
        store = SqlStore(context, careful=attempt > 0)
        handlers = {name: _bind(handler, context) for name, handler in HANDLERS.items()}
        try:
            response = apply_push(store, device_id, batch, handlers, seq_space=str(user.id))
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
    # partial, not a lambda: no Python frame of its own per mutation.
    return partial(handler, context)
