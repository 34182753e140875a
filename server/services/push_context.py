"""What a push handler and an end-of-batch step know about the batch they are part of.

Typed fields, one per thing the batch shares (no string-keyed cache): who pushes, from which
device, when; the rows queued for one insert per table; and the look-ups the handlers and the
end-of-batch steps (listed in services/sync_store.py) make once per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    all_,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator, TypeEngine

from server.extensions import db
from server.models import User, Visit
from server.models.base import UTCDateTime
from server.services.record_seal import SigninSealer
from sync.push import Mutation


@dataclass
class PushContext:
    """One batch of one device, as the handlers and end-of-batch steps see it."""

    user: User
    device_id: str
    received_at: datetime
    # The careful retry (a savepoint per mutation) rather than the fast first try.
    careful: bool = False
    # The whole batch, so a handler can look up what all of its mutations need in one query.
    batch: Sequence[Mutation] = ()
    # Rows of plain inserts, written together (one executemany per table) before they are read.
    inserts: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    # The batch's ids as the schema parsed them, so each id string is parsed once per batch.
    uuids: dict[str, uuid.UUID] = field(default_factory=dict)
    # Visits whose sign-ins arrived in this batch: their attendance is judged again at the end.
    touched_visits: set[uuid.UUID] = field(default_factory=set)
    # This batch's sign-ins as inserted, with their class: flagged at the end of the batch.
    new_signins: list[tuple[dict[str, Any], uuid.UUID]] = field(default_factory=list)
    # (class id, visit id) -> may this user add a sign-in there (signin.create's scope check).
    signin_scope: dict[tuple[uuid.UUID, uuid.UUID], bool] = field(default_factory=dict)
    # trainee id -> exists; filled for the whole batch at the first sign-in.
    trainee_known: dict[uuid.UUID, bool] = field(default_factory=dict)
    trainees_prefetched: bool = False
    # signature hash -> (uploader, uploader's county) of the stored ones the batch's sign-ins
    # name; filled for the whole batch at the first sign-in with a signature.
    signature_owners: dict[str, tuple[uuid.UUID, uuid.UUID | None]] = field(default_factory=dict)
    signatures_prefetched: bool = False
    # Seals the batch's sign-in rows (made at the first one: the seal key read once per batch).
    signin_sealer: SigninSealer | None = None
    # visit id -> the stored visit (None: not stored), loaded once for the end-of-batch steps.
    stored_visits: dict[uuid.UUID, Visit | None] = field(default_factory=dict)
    # visit id -> its sign-ins as visit.submit read them in this batch, and how many of the
    # batch's sign-ins were written then (signin_flags.remember_sign_ins; the reconciliation).
    submitted_sign_ins: dict[uuid.UUID, Any] = field(default_factory=dict)

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
                bulk_insert(model.__table__, rows)
        self.inserts.clear()


def any_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN` the list given as parameter `name`, written for the dialect.

    The list is one parameter on both, so the statement is the same for every list and its
    compiled form is reused: PostgreSQL, column = ANY(:name), the list sent as one array (an IN
    of 100 ids as 100 parameters took 1.3-1.5 ms of wall time there, the array 0.5-0.7 ms);
    SQLite, column IN (SELECT value FROM json_each(:name)), the list sent as one JSON array
    of the values as the column stores them (an expanding IN was written out again for every
    list: 100 hashes 117 -> 52 µs). Either way the column's index is used. An empty list
    matches nothing on both.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(_json_list(column, name))


def none_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column NOT IN` the list given as parameter `name` (see any_of); for non-null columns."""
    if dialect == "postgresql":
        return column != all_(bindparam(name, type_=ARRAY(column.type)))
    return column.not_in(_json_list(column, name))


def _json_list(column: Any, name: str) -> Any:
    """SELECT value FROM json_each(:name): the list parameter's values, one row each (SQLite)."""
    values = func.json_each(bindparam(name, type_=JsonList(column.type)))
    return select(literal_column("value")).select_from(values).scalar_subquery()


class JsonList(TypeDecorator):
    """A list bound as one JSON array, each item first written as `item_type` stores it (a UUID
    as SQLite's 32 hex digits, a datetime as its text): what json_each hands back then compares
    equal to the stored values. For lists of ids, hashes and numbers."""

    impl = String
    cache_ok = True

    def __init__(self, item_type: TypeEngine[Any]) -> None:
        super().__init__()
        self.item_type = item_type

    def process_bind_param(self, value: Any, dialect: Any) -> str:
        process = self.item_type.dialect_impl(dialect).bind_processor(dialect)
        items = list(value) if process is None else [process(item) for item in value]
        return orjson.dumps(items).decode()


def dialect_name() -> str:
    """The name of the session's database dialect ("postgresql", "sqlite")."""
    return db.session.get_bind().dialect.name


# (table, dialect, column names) -> (SQL, positional?, [(name, bind processor or None)])
_BULK: dict[tuple[Any, str, tuple[str, ...]], tuple[str, bool, list[tuple[str, Any]]]] = {}


def bulk_insert(table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows that name every column of the table, in one statement, in this transaction.

    The statement is compiled once per table, dialect and column set, and each value goes
    through its column type's own bind processor, as `session.execute(insert(table), rows)`
    would convert it, without that path's per-row bookkeeping (about a third of a batch's
    insert time). Rows that leave a column out (a default to apply) take that path.
    SQLite gets one executemany (its C loop over one prepared statement); PostgreSQL one
    COPY (psycopg's executemany is a pipeline of one INSERT per row: 100 sign-ins 3.7-4.9 ->
    2.1-3.3 ms; a multi-row INSERT ... VALUES was slower still).
    """
    connection = db.session.connection()
    dialect = connection.dialect
    names = tuple(rows[0])
    if set(names) != set(table.c.keys()) or any(tuple(row) != names for row in rows):
        db.session.execute(insert(table), rows)
        return
    key = (table, dialect.name, names)
    prepared = _BULK.get(key)
    if prepared is None:
        compiled = insert(table).values({n: bindparam(n) for n in names}).compile(dialect=dialect)
        order = list(compiled.positiontup or names) if dialect.positional else list(names)
        processors = [(n, _processor(table.c[n], dialect)) for n in order]
        prepared = _BULK[key] = (str(compiled), dialect.positional, processors)
    sql, positional, processors = prepared
    # Column by column: each value through its column's processor, a value shared by the whole
    # batch (who pushed, when) converted once.
    columns = []
    for name, process in processors:
        values = [row[name] for row in rows]
        if process is not None:
            first = values[0]
            if len(set(map(id, values))) == 1:
                values = [process(first)] * len(values)
            else:
                values = list(map(process, values))
        columns.append(values)
    if dialect.name == "postgresql":
        _copy(connection, table, [name for name, _ in processors], columns)
        return
    if positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        names = [name for name, _ in processors]
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    connection.exec_driver_sql(sql, params)


def _processor(column: Any, dialect: Any) -> Any:
    """The column type's bind processor (None: values go as they are), or a faster equivalent.

    A UTCDateTime on SQLite: its processor (astimezone, replace, then the dialect's
    %-format of seven fields) took 2 µs per value; a datetime already in UTC gives the same
    text through isoformat (0.3 µs), anything else still goes through the type's own
    processor. Used only when the two agree on probe values (a change of the dialect's
    storage format falls back to the type's own processor).
    """
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or not isinstance(column.type, UTCDateTime):
        return process

    def utc_text(value: Any, process: Any = process) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return process(value)

    probes = (datetime(2026, 3, 2, 1, 0, 5, 120000, tzinfo=UTC),
              datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    return utc_text if all(utc_text(p) == process(p) for p in probes) else process


def _copy(connection: Any, table: Table, names: list[str], columns: list[list[Any]]) -> None:
    """COPY the rows (the columns' converted values) into table, in this transaction.

    An error of the driver is raised as SQLAlchemy raises it for a statement (IntegrityError,
    DataError, OperationalError...), so the push's careful retry sees what an INSERT gives.
    """
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(table)} ({', '.join(map(quote.quote, names))}) "
                 "FROM STDIN")
    try:
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy(statement) as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from error
