"""Assessment results (考核评定, R11): who passed, at which level, with which certificate."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, UUIDMixin, utcnow
from server.models.people import Trainee
from server.models.plans import TrainingClass


class AssessmentResult(UUIDMixin, Model):
    """One trainee's result in the city's assessment of one class; recorded once, then updated."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("class_id", "trainee_id"),)
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_class.id"), index=True)
    trainee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trainee.id"), index=True)
    level: Mapped[int]  # 2 = 技师, 1 = 高级技师
    passed: Mapped[bool]
    assessed_on: Mapped[date]
    certificate_no: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"),
                                                             default=None)

    training_class: Mapped[TrainingClass] = relationship()
    trainee: Mapped[Trainee] = relationship()
