"""The SQL statements a block sends, for tests that pin how many queries a request makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from server.extensions import db


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the SQL statements sent while the block runs (whitespace squeezed)."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def reads(seen: list[str], table: str) -> list[str]:
    """The SELECTs among `seen` whose FROM clause starts with `table`."""
    return [s for s in seen if s.startswith("SELECT") and f" FROM {table} " in f"{s} "]
