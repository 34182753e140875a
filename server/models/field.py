"""Draws, assignments, visits, sign-ins, media, reviews and rectifications."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, UUIDMixin, utcnow
from server.models.people import User
from server.models.plans import PlanSession, PlanVersion, TrainingClass

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
    """One class, one drawn session, a team of inspectors. Never visible to base staff beforehand."""

    __tablename__ = "assignment"
    draw_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("draw.id"), default=None, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_session.id"))
    date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    training_class: Mapped[TrainingClass] = relationship()
    session: Mapped[PlanSession] = relationship()
    inspectors: Mapped[list[User]] = relationship(secondary=assignment_inspector)


class Visit(UUIDMixin, Model):
    """A spot-check record (抽查记录) as the phone sealed it, with the server's own judgement."""

    __tablename__ = "visit"
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_session.id"), default=None)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assignment.id"), default=None)
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
    review_status: Mapped[str] = mapped_column(String(16), default="pending")

    training_class: Mapped[TrainingClass] = relationship()
    session: Mapped[PlanSession | None] = relationship()
    plan_version: Mapped[PlanVersion] = relationship()
    inspector: Mapped[User] = relationship()


class SignIn(UUIDMixin, Model):
    """A trainee's sign-in (签到) during a visit; may arrive before its visit and is linked later."""

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


class Media(Model):
    """A stored file, content-addressed by SHA-256 and stored once."""

    __tablename__ = "media"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class Upload(UUIDMixin, Model):
    """A resumable tus upload in progress; the bytes live in a part file until complete."""

    __tablename__ = "upload"
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(32))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class VisitReview(UUIDMixin, Model):
    """A reviewer's decision on a visit: accepted | reinspect | rectification."""

    __tablename__ = "visit_review"
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(1024), default="")
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit] = relationship()
    reviewer: Mapped[User] = relationship()


class Rectification(UUIDMixin, Model):
    """A rectification order (整改) with a sanction from R15, the base's answer and its closure."""

    __tablename__ = "rectification"
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit.id"), index=True)
    base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_base.id"), index=True)
    # criticism (通报批评) | deadline (限期整改) | recovery (追缴) | revocation (取消资格)
    sanction: Mapped[str] = mapped_column(String(16))
    order_text: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | answered | closed
    response_text: Mapped[str] = mapped_column(Text, default="")
    response_media: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closing_comment: Mapped[str] = mapped_column(Text, default="")
    # The reviewer sent the answer back (not enough): the base answers again.
    return_comment: Mapped[str] = mapped_column(Text, default="")
    returned_at: Mapped[datetime | None] = mapped_column(default=None)

    visit: Mapped[Visit] = relationship()
