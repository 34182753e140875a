"""Draws (抽查抽签) and the assignments they make: one class, one session, a team (R10)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, UUIDMixin, utcnow
from server.models.people import User
from server.models.plans import PlanSession, TrainingClass

assignment_inspector = Table(
    "assignment_inspector",
    Model.metadata,
    Column("assignment_id", ForeignKey("assignment.id"), primary_key=True),
    Column("user_id", ForeignKey("app_user.id"), primary_key=True),
)


class Draw(UUIDMixin, Model):
    """An auditable random draw (抽查抽签): the seed's hash is published first, the seed later."""

    __tablename__ = "draw"
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("county.id"), index=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    seed_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(128))  # revealed only after period_to
    class_list: Mapped[list[Any]] = mapped_column(default=list)
    inspector_list: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class Assignment(UUIDMixin, Model):
    """One class, one drawn session, a team of inspectors. Never visible to base staff beforehand.
    """

    __tablename__ = "assignment"
    draw_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("draw.id"), default=None,
                                                      index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_session.id"))
    date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    training_class: Mapped[TrainingClass] = relationship()
    session: Mapped[PlanSession] = relationship()
    inspectors: Mapped[list[User]] = relationship(secondary=assignment_inspector)
