"""Visits (抽查记录) and sign-ins (签到): the sealed evidence a phone pushes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, UUIDMixin, utcnow
from server.models.people import User
from server.models.plans import PlanSession, PlanVersion, TrainingClass


class Visit(UUIDMixin, Model):
    """A spot-check record (抽查记录) as the phone sealed it, with the server's own judgement."""

    __tablename__ = "visit"
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_session.id"),
                                                         default=None)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assignment.id"),
                                                            default=None)
    plan_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_version.id"))
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    client_time: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verdict: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict[str, Any]] = mapped_column()  # exactly what was sealed
    seal: Mapped[str] = mapped_column(String(64))
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"), default=None)
    # A teammate's record of the same check: the first visit stored under the same assignment
    # (services/team_checks.py). None for a check's own record.
    check_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"), default=None,
                                                          index=True)
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    # HMAC over what readers show beyond the payload (services/record_seal.py; `flask verify`).
    row_seal: Mapped[str] = mapped_column(String(64), default="")

    training_class: Mapped[TrainingClass] = relationship()
    session: Mapped[PlanSession | None] = relationship()
    plan_version: Mapped[PlanVersion] = relationship()
    inspector: Mapped[User] = relationship()


class SignIn(UUIDMixin, Model):
    """A trainee's sign-in (签到) during a visit; may arrive before its visit and is linked later.
    """

    __tablename__ = "sign_in"
    visit_id: Mapped[uuid.UUID] = mapped_column(index=True)  # no FK: the visit may arrive later
    trainee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trainee.id"), default=None)
    method: Mapped[str] = mapped_column(String(8))  # badge | self | manual
    badge_token: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime]
    gps: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    signature_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    device_id: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    # HMAC over the sign-in's shown values (services/record_seal.py; `flask verify`).
    row_seal: Mapped[str] = mapped_column(String(64), default="")
