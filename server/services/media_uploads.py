"""Resumable uploads (tus 1.0.0 rules): create, append a chunk, complete, terminate, what is missing.

The Upload row's `offset` is the acknowledged truth; the part file may hold more after a
crash or a discarded chunk, so every PATCH truncates the part to the row's offset before
writing. Concurrent PATCHes of one upload are serialised by an exclusive lock on its part
file (workers are separate processes), and the row is read again under the lock.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import ClientDisconnected

from server.errors import ApiError
from server.extensions import db
from server.models import Media, Upload, User, utcnow
from server.services import media_store

_PIECE = 256 * 1024
_DIGESTS: dict[str, Callable] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def create_upload(user: User, sha256: str, mime: str, length: int,
                  now: datetime | None = None) -> Upload:
    """Start an upload; if the server already holds this hash, the upload is born complete."""
    now = now or utcnow()
    if length > current_app.config["MEDIA_MAX_BYTES"]:
        raise ApiError("media.too_large", details={"max": current_app.config["MEDIA_MAX_BYTES"]})
    if mime not in media_store.MIMES:
        raise ApiError("media.unsupported_type")
    held = db.session.get(Media, sha256)
    complete = held is not None and held.size == length
    upload = Upload(
        id=uuid.uuid4(), sha256=sha256, mime=mime, length=length,
        offset=length if complete else 0, created_at=now, user_id=user.id,
        expires_at=now + timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"]),
    )
    if not complete:
        media_store.open_part(upload.id)
    db.session.add(upload)
    db.session.commit()
    return upload


def get_upload(user: User, upload_id: uuid.UUID, now: datetime | None = None) -> Upload:
    """Return this user's upload; unknown (or another's) → 404, expired and unfinished → 410."""
    now = now or utcnow()
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise ApiError("not_found")
    if upload.offset < upload.length and upload.expires_at <= now:
        raise ApiError("media.expired")
    return upload


def _discard(upload: Upload) -> None:
    """Drop an upload for good: its part file and its row (committed)."""
    media_store.remove_part(upload.id)
    db.session.delete(upload)
    db.session.commit()


def _parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, value = header.partition(" ")
    if algorithm not in _DIGESTS:
        raise ApiError("bad_request", "不支持的校验算法 (sha1, sha256)")
    try:
        return algorithm, base64.b64decode(value, validate=True)
    except ValueError as error:
        raise ApiError("bad_request", "Upload-Checksum 不是 base64") from error


def append_chunk(user: User, upload_id: uuid.UUID, offset: int, stream: BinaryIO,
                 content_length: int, checksum: str | None = None,
                 now: datetime | None = None) -> Upload:
    """Write one PATCH body at `offset`; complete the upload on its last byte.

    Raises 409 on an offset mismatch, 413 past the declared length, 460 on a chunk
    checksum mismatch (chunk discarded) or a wrong whole-file hash (upload discarded),
    415 when the bytes are not the declared type (upload discarded).
    """
    expected = _parse_checksum(checksum)
    upload = get_upload(user, upload_id, now)
    if upload.offset == upload.length == offset and content_length == 0:
        return upload  # already complete (e.g. deduplicated at creation): nothing to write
    if upload.offset != offset:
        raise ApiError("media.offset_mismatch", details={"offset": upload.offset})
    if offset + content_length > upload.length:
        raise ApiError("media.too_large", details={"length": upload.length})
    with open(media_store.part_path(upload.id), "r+b") as part:
        fcntl.flock(part.fileno(), fcntl.LOCK_EX)
        # End the read snapshot taken before the lock, then look at the row again.
        db.session.commit()
        upload = get_upload(user, upload_id, now)
        if upload.offset != offset:
            raise ApiError("media.offset_mismatch", details={"offset": upload.offset})
        received, digest, disconnected = _write_body(part, offset, stream, content_length, expected)
        if expected and (disconnected or digest != expected[1]):
            part.truncate(offset)
            if disconnected:
                raise disconnected
            raise ApiError("media.checksum_mismatch", details={"offset": offset})
        upload.offset = offset + received
        db.session.commit()
        if disconnected:
            raise disconnected
        _check_head(upload, offset)
        if upload.offset == upload.length:
            _complete(upload, user)
    return upload


def _write_body(part: BinaryIO, offset: int, stream: BinaryIO, content_length: int,
                expected: tuple[str, bytes] | None) -> tuple[int, bytes | None, Exception | None]:
    """Stream the body to disk at offset; return (bytes kept, digest, disconnect error or None).

    When the client drops mid-body we keep (and fsync) what arrived: tus resumes from there.
    """
    part.seek(offset)
    part.truncate()
    hasher = _DIGESTS[expected[0]]() if expected else None
    received = 0
    disconnected: Exception | None = None
    try:
        while received < content_length:
            piece = stream.read(min(_PIECE, content_length - received))
            if not piece:
                break
            part.write(piece)
            if hasher:
                hasher.update(piece)
            received += len(piece)
    except ClientDisconnected as error:
        disconnected = error
    part.flush()
    media_store.fsync_file(part)
    if received < content_length and disconnected is None:
        disconnected = ClientDisconnected()
    return received, (hasher.digest() if hasher else None), disconnected


def _check_head(upload: Upload, old_offset: int) -> None:
    """Judge the type as soon as the leading bytes are in: a fake file is refused early."""
    head_len = min(media_store.HEAD_BYTES, upload.length)
    if not old_offset < head_len <= upload.offset:
        return
    with open(media_store.part_path(upload.id), "rb") as fh:
        kind = media_store.sniff_mime(fh.read(head_len))
    if kind != upload.mime:
        _discard(upload)
        raise ApiError("media.unsupported_type", details={"declared": upload.mime})


def _complete(upload: Upload, user: User) -> None:
    """Check the whole file (hash, then type), store it once, and record it."""
    path = media_store.part_path(upload.id)
    if media_store.file_sha256(path) != upload.sha256:
        _discard(upload)
        raise ApiError("media.hash_mismatch")
    if media_store.sniff_mime(path) != upload.mime:
        _discard(upload)
        raise ApiError("media.unsupported_type", details={"declared": upload.mime})
    media_store.store_part(upload.id, upload.sha256)
    if db.session.get(Media, upload.sha256) is None:
        try:
            with db.session.begin_nested():
                db.session.add(Media(sha256=upload.sha256, mime=upload.mime, size=upload.length,
                                     uploaded_by_id=user.id))
        except IntegrityError:
            pass  # another upload of the same file recorded it first: stored once either way
    db.session.commit()


def terminate_upload(user: User, upload_id: uuid.UUID) -> None:
    """Terminate an upload (tus termination): its bytes and row go; stored media stay."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise ApiError("not_found")
    _discard(upload)


def find_missing(user: User, hashes: list[str], now: datetime | None = None) -> dict:
    """Return which hashes the server lacks, and this user's resumable uploads of them."""
    now = now or utcnow()
    wanted = list(dict.fromkeys(hashes))
    held = set(db.session.scalars(select(Media.sha256).where(Media.sha256.in_(wanted))))
    missing = [sha for sha in wanted if sha not in held]
    uploads = db.session.scalars(
        select(Upload).where(
            Upload.user_id == user.id, Upload.sha256.in_(missing), Upload.expires_at > now,
            Upload.offset < Upload.length,
        ).order_by(Upload.offset)
    ).all()
    best = {upload.sha256: upload for upload in uploads}  # ordered by offset: the furthest wins
    return {
        "missing": missing,
        "partial": {sha: upload.offset for sha, upload in best.items()},
        "uploads": {sha: str(upload.id) for sha, upload in best.items()},
    }
