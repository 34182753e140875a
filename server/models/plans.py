"""Training classes and their filed teaching plans: immutable versions, sessions, rosters."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, TimestampMixin, UUIDMixin, utcnow
from server.models.org import Occupation, Site, TrainingBase
from server.models.people import Teacher, Trainee

LEVEL_NAMES = {2: "技师", 1: "高级技师"}
CATEGORIES = ("politics", "theory", "practical")  # 思政 / 理论 / 实操 (R6)
# Version states (R5): draft → submitted → approved (county, sealed) → recorded (city 备案);
# submitted → returned (with a comment) → a new draft version.
VERSION_STATES = ("draft", "submitted", "returned", "approved", "recorded")
# The states every reader uses (services/plan_versions.py holds the rules built on them):
# in force = reviewed and sealed by the county (and perhaps recorded by the city): teaching must
# follow it (R7); filed = out of the base's hands, under review or in force (R5, R1 quotas).
IN_FORCE_STATES = ("approved", "recorded")
FILED_STATES = ("submitted", *IN_FORCE_STATES)


class TrainingClass(UUIDMixin, TimestampMixin, Model):
    """A class (班次) of one occupation and level at one base."""

    __tablename__ = "training_class"
    base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_base.id"), index=True)
    occupation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("occupation.id"))
    level: Mapped[int]  # 2 = 技师, 1 = 高级技师
    name: Mapped[str] = mapped_column(String(128))
    start_date: Mapped[date]
    end_date: Mapped[date]
    head_teacher_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teacher.id"),
                                                              default=None)

    base: Mapped[TrainingBase] = relationship()
    occupation: Mapped[Occupation] = relationship()
    head_teacher: Mapped[Teacher | None] = relationship()
    plan: Mapped[Plan | None] = relationship(back_populates="training_class", uselist=False)


class Plan(UUIDMixin, Model):
    """The teaching plan (教学计划) of a class: a chain of immutable versions."""

    __tablename__ = "plan"
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), unique=True)

    training_class: Mapped[TrainingClass] = relationship(back_populates="plan")
    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.number"
    )


class PlanVersion(UUIDMixin, Model):
    """One version of a plan. Once submitted it never changes (R7); a change is a new version."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    reason: Mapped[str] = mapped_column(String(512), default="")
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    review_comment: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"),
                                                             default=None)
    recorded_at: Mapped[datetime | None] = mapped_column(default=None)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"),
                                                             default=None)

    plan: Mapped[Plan] = relationship(back_populates="versions")
    sessions: Mapped[list[PlanSession]] = relationship(
        back_populates="plan_version", order_by="(PlanSession.date, PlanSession.start_time)"
    )
    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="plan_version")

    @property
    def is_filed(self) -> bool:
        """A version leaves the base's hands at submission and never changes again."""
        return self.status != "draft"


class PlanSession(UUIDMixin, Model):
    """A session (课次): local date and wall times in Asia/Shanghai, category, topic, teacher, site.
    """

    __tablename__ = "plan_session"
    plan_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_version.id"), index=True)
    # The same session across versions keeps its lineage id, so a visit can be matched to it.
    lineage_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, index=True)
    date: Mapped[date]
    start_time: Mapped[time]
    end_time: Mapped[time]
    category: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(256))
    teacher_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teacher.id"))
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site.id"))
    online: Mapped[bool] = mapped_column(default=False)

    plan_version: Mapped[PlanVersion] = relationship(back_populates="sessions")
    teacher: Mapped[Teacher] = relationship()
    site: Mapped[Site] = relationship()


class Enrollment(UUIDMixin, Model):
    """A trainee on the roster of one plan version, and, once the version is filed, the trainee's
    details as the base entered them then (R7; services/filed_roster.py reads and writes them).

    A draft's roster is the base's live trainee records; from submission on the version shows the
    frozen copy below, so a later edit of the base's record (a new roster, a correction) never
    changes what a filed version says. The ID number stays protected as the trainee row keeps it:
    encrypted, masked, and its keyed hash for comparing people (never decrypted to compare).
    """

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("plan_version_id", "trainee_id"),)
    plan_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_version.id"), index=True)
    trainee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trainee.id"), index=True)
    # The frozen copy (None while the version is a draft).
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)
    name: Mapped[str | None] = mapped_column(String(64), default=None)
    gender: Mapped[str | None] = mapped_column(String(4), default=None)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    id_masked: Mapped[str | None] = mapped_column(String(18), default=None)
    birth_date: Mapped[date | None] = mapped_column(default=None)
    education: Mapped[str | None] = mapped_column(String(16), default=None)
    occupation_name: Mapped[str | None] = mapped_column(String(64), default=None)
    certificate_level: Mapped[str | None] = mapped_column(String(8), default=None)
    certificate_date: Mapped[date | None] = mapped_column(default=None)
    employer: Mapped[str | None] = mapped_column(String(128), default=None)
    employer_kind: Mapped[str | None] = mapped_column(String(8), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)

    plan_version: Mapped[PlanVersion] = relationship(back_populates="enrollments")
    trainee: Mapped[Trainee] = relationship()


class CrossBaseFlag(UUIDMixin, Model):
    """A person (by the keyed hash of the ID number) on two or more bases' filed rosters in one
    year: raised once, when the second base files its roster, and shown to the city only (R7;
    services/filed_roster.py). Which bases and classes are concerned is read from the filed rosters.
    """

    __tablename__ = "cross_base_flag"
    __table_args__ = (UniqueConstraint("year", "id_number_hash"),)
    year: Mapped[int]
    id_number_hash: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The submission that raised it.
    raised_by_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_version.id"))
