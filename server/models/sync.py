"""The sync ledger, the commit-ordered change log and the server epoch (DESIGN §4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Model, utcnow


class SyncLedger(Model):
    """One row per (user, device, seq): the mutation's result, committed with its effect.

    A device's seq space belongs to the user who pushes with it: another user presenting the
    same device id has a seq space of its own and cannot consume this one's (DESIGN §4).
    """

    __tablename__ = "sync_ledger"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mutation_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLog(Model):
    """A change visible to pull. `seq` is allocated under a row lock held to commit: commit order.
    """

    __tablename__ = "change_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(String(8))  # put | delete
    # Audience: a county (None = every county), or one user only (assignments, reviews).
    county_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncState(Model):
    """Server-wide sync state: the epoch (a new one invalidates every cursor) and the counter."""

    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[str] = mapped_column(String(36))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
