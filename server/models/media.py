"""Media files, content-addressed by SHA-256, and unfinished tus uploads with their chunks."""

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
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"),
                                                             default=None)


class Upload(UUIDMixin, Model):
    """A resumable tus upload: declared hash, type and length, owner, expiry, and its offset.

    `offset == length` once the file is stored. Before that the offset lives here for the
    object-store backend (every app server reads it) and in the part file's size for the local
    folder (one server).
    """

    __tablename__ = "upload"
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(32))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class UploadChunk(Model):
    """One chunk of an unfinished upload, kept as an object of its own in the object store.

    Inserted in the same transaction that moves `Upload.offset` from `offset` to
    `offset + size`, so the chunks of an upload are exactly the ones its offset counts.
    """

    __tablename__ = "upload_chunk"
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(200))
