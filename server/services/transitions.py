"""Atomic state changes: one conditional UPDATE per decision, so two concurrent ones never both win.

A decision reads a record, checks its state and moves it on. Read-check-write in Python lets two
reviewers (or a reviewer and a base) both see the old state and both "win". Here the move is
`UPDATE ... SET state = :to WHERE id = :id AND state IN (:allowed)`: the database lets exactly one
of two concurrent moves match (PostgreSQL re-checks the WHERE after the first commits; SQLite has
one writer at a time); the other matches no row and gets 409 with the caller's catalogue code.
A decision that creates rows rather than moving a state (a draw) takes a row lock first
(`lock_row`) and checks, inside it, what the other decision may have written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from server.errors import ApiError
from server.extensions import db


def claim_state(obj: Any, attr: str, allowed: Iterable[str], to: str, code: str,
                message: str | None = None) -> None:
    """Move obj.<attr> from one of `allowed` to `to` atomically, or raise ApiError(code) (409)."""
    model = type(obj)
    allowed = tuple(allowed)
    result = db.session.execute(
        update(model).where(model.id == obj.id,
                            getattr(model, attr).in_(allowed)).values({attr: to})
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(obj, [attr])
        raise ApiError(code, message, status=409, details={attr: getattr(obj, attr), "to": to})
    set_committed_value(obj, attr, to)


def lock_row(model: Any, row_id: Any) -> None:
    """Hold a row's lock until the transaction ends, so decisions about it run one at a time.

    PostgreSQL: `SELECT ... FOR UPDATE` (a second locker waits for the first to commit, then
    reads what it wrote). SQLite has one writer at a time but reads before its first write
    without any lock, so a read-check-write could act on what another writer is changing: a
    no-op UPDATE of the row takes the write lock first (waiting up to busy_timeout), and what the
    caller reads next is current. Call it before reading what the decision depends on.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update())
    else:
        db.session.execute(update(model).where(model.id == row_id).values(id=model.id)
                           .execution_options(synchronize_session=False))


def lock_rows(model: Any, row_ids: Collection[Any]) -> None:
    """Hold several rows' locks until the transaction ends, taken in id order.

    One order for every locker, so two transactions each needing some of the same rows wait
    for each other rather than deadlock. PostgreSQL: `SELECT ... ORDER BY id FOR NO KEY
    UPDATE` (the lock an UPDATE of the row takes: lockers wait for each other, while an
    insert that only references the row, a foreign key's KEY SHARE, does not wait). SQLite: a
    no-op UPDATE, as lock_row.
    """
    if not row_ids:
        return
    ids = sorted(set(row_ids))
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id)
                           .with_for_update(key_share=True))
    else:
        db.session.execute(update(model).where(model.id.in_(ids)).values(id=model.id)
                           .execution_options(synchronize_session=False))
