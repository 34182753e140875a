"""Review decisions on visits and the rectifications they order (R15)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, UUIDMixin, utcnow
from server.models.people import User
from server.models.visits import Visit


class VisitReview(UUIDMixin, Model):
    """A reviewer's decision on a visit: accepted | reinspect | rectification."""

    __tablename__ = "visit_review"
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(1024), default="")
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The new unannounced visit a reinspect decision ordered: the base learns of the order
    # (and reads its comment) only once a visit under this assignment has happened.
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assignment.id"),
                                                            default=None)

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
