"""Media files, content-addressed by SHA-256, and unfinished tus uploads."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Model, UUIDMixin, utcnow


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
