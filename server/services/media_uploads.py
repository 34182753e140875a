"""Resumable uploads (tus 1.0.0 rules): create, append a chunk, complete, terminate, what is
missing.

The `upload` row holds what the protocol needs from any app server: declared hash, type and
length, owner, expiry, and `offset = length` once the file is stored. Where the bytes of an
unfinished upload wait, and how its offset is kept meanwhile, is the media store's business
(`media_store.Chunk`): a part file under a lock in the local folder, chunk objects plus the
row's offset in the object store. Either way a chunk that arrives short because the client
dropped is kept (tus resumes from there) unless it carried a checksum, and the finished file
is checked whole (SHA-256, then type) before it is stored under its hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import (
    Executable,
    Insert,
    Select,
    bindparam,
    case,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.exceptions import ClientDisconnected

from server.errors import ApiError
from server.extensions import db
from server.models import Media, Upload, User, utcnow
from server.services import media_store
from server.services.push_context import dialect_name

_PIECE = 256 * 1024
_DIGESTS: dict[str, Callable] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


@dataclass(frozen=True)
class UploadState:
    """Where an upload stands, as HEAD and PATCH report it."""

    id: uuid.UUID
    sha256: str
    mime: str
    length: int
    offset: int
    expires_at: datetime

    @property
    def complete(self) -> bool:
        """True once the file is stored."""
        return self.offset == self.length


def _state(upload: Upload, offset: int) -> UploadState:
    return UploadState(upload.id, upload.sha256, upload.mime, upload.length, offset,
                       upload.expires_at)


def _part_offset(upload: Upload) -> int:
    """The offset of an upload: its length once complete, else its part file's size."""
    if upload.offset == upload.length:
        return upload.length
    offset = media_store.store().offset(upload)
    if offset is None:
        raise ApiError("not_found")
    return offset


def create_upload(user: User, sha256: str, mime: str, length: int,
                  now: datetime | None = None) -> UploadState:
    """Start an upload; if the server already holds this hash, the upload is born complete."""
    now = now or utcnow()
    if length > current_app.config["MEDIA_MAX_BYTES"]:
        raise ApiError("media.too_large", details={"max": current_app.config["MEDIA_MAX_BYTES"]})
    if mime not in media_store.MIMES:
        raise ApiError("media.unsupported_type")
    upload = UploadState(uuid.uuid4(), sha256, mime, length, 0,
                         now + timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"]))
    offset = db.session.scalar(_insert_upload(), {
        "new_id": upload.id, "sha256": sha256, "mime": mime, "length": length, "now": now,
        "expires_at": upload.expires_at, "user_id": user.id,
        "limit": current_app.config["MEDIA_MAX_OPEN_UPLOADS"]})
    if offset is None:
        open_uploads = db.session.scalar(_open_uploads(), {"user_id": user.id, "now": now})
        raise ApiError("rate_limited", details={"open_uploads": open_uploads})
    if offset == length and not media_store.store().has(sha256):
        # The file's row is here but the store lost the file (a disk or bucket restored without
        # it): not held. The phone still has it; take it again rather than call it complete.
        db.session.execute(update(Upload).where(Upload.id == upload.id).values(offset=0))
        offset = 0
    if offset != length:
        media_store.store().start_upload(_row(upload, user))
    db.session.commit()
    return replace(upload, offset=offset)


def _open_uploads() -> Select:
    """Select how many unfinished, unexpired uploads an account has (parameters user_id, now;
    counted by account: a phone cannot reset it by changing its device id)."""
    return (select(func.count()).select_from(Upload)
            .where(Upload.user_id == bindparam("user_id"), Upload.expires_at > bindparam("now"),
                   Upload.offset < Upload.length))


@functools.cache
def _insert_upload() -> Insert:
    """INSERT an upload's row unless the account has `limit` open already, returning its offset
    (its length when the file is already held: born complete; no row when the limit refused).

    One statement (INSERT … SELECT … WHERE … RETURNING): the limit, the held file and the row.
    Built once per process (building it costs more CPU than running it); parameters new_id,
    sha256, mime, length, now, expires_at, user_id, limit.
    """
    table = Upload.__table__
    sha256, length, now = bindparam("sha256"), bindparam("length"), bindparam("now")
    held = select(Media.sha256).where(Media.sha256 == sha256, Media.size == length)
    values = {"id": bindparam("new_id"), "sha256": sha256, "mime": bindparam("mime"),
              "length": length, "created_at": now, "expires_at": bindparam("expires_at"),
              "user_id": bindparam("user_id"), "offset": case((held.exists(), length), else_=0)}
    # Typed as the columns they fill: a bare parameter in a SELECT list has no type to bind by.
    columns = [type_coerce(value, table.c[name].type).label(name)
               for name, value in values.items()]
    source = select(*columns).where(_open_uploads().scalar_subquery() < bindparam("limit"))
    # The table, not the entity: with parameters an ORM INSERT would be a bulk insert of them.
    return insert(table).from_select(list(values), source).returning(table.c.offset)


def _row(upload: UploadState, user: User) -> Upload:
    """An Upload row (not added to the session) with the state's values, for the media store."""
    return Upload(id=upload.id, sha256=upload.sha256, mime=upload.mime, length=upload.length,
                  offset=upload.offset, expires_at=upload.expires_at, user_id=user.id)


def _find(user: User, upload_id: uuid.UUID, now: datetime | None) -> Upload:
    """Return this user's upload row; unknown (or another's) → 404, expired and unfinished → 410."""
    now = now or utcnow()
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise ApiError("not_found")
    if upload.offset < upload.length and upload.expires_at <= now:
        raise ApiError("media.expired")
    return upload


def get_upload(user: User, upload_id: uuid.UUID, now: datetime | None = None) -> UploadState:
    """Return where this user's upload stands (404 unknown, 410 expired)."""
    upload = _find(user, upload_id, now)
    return _state(upload, _part_offset(upload))


def _discard(upload: Upload) -> None:
    """Drop an upload for good: its kept bytes and its row (committed)."""
    media_store.store().discard_upload(upload.id)
    db.session.delete(upload)
    db.session.commit()


def _parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, value = header.partition(" ")
    if algorithm not in _DIGESTS:
        raise ApiError("bad_request", "media.checksum_algorithm")
    try:
        return algorithm, base64.b64decode(value, validate=True)
    except ValueError as error:
        raise ApiError("bad_request", "media.checksum_encoding") from error


def _mismatch(offset: int) -> ApiError:
    return ApiError("media.offset_mismatch", details={"offset": offset})


def append_chunk(user: User, upload_id: uuid.UUID, offset: int, stream: BinaryIO,
                 content_length: int, checksum: str | None = None,
                 now: datetime | None = None) -> UploadState:
    """Write one PATCH body at `offset`; complete the upload on its last byte.

    Raises 409 on an offset mismatch, 413 past the declared length, 460 on a chunk
    checksum mismatch (chunk discarded) or a wrong whole-file hash (upload discarded),
    415 when the bytes are not the declared type (upload discarded).
    """
    expected = _parse_checksum(checksum)
    upload = _find(user, upload_id, now)
    # What is reported back, read now: completing commits, and the commit expires the row.
    state = _state(upload, upload.offset)
    if upload.offset == upload.length:
        if offset == upload.length and content_length == 0:
            return state  # already complete: nothing to write
        raise _mismatch(upload.length)
    if offset + content_length > upload.length:
        raise ApiError("media.too_large", details={"length": upload.length})
    try:
        with media_store.store().chunk(upload, offset) as chunk:
            received, digest, disconnected = _write_body(chunk.file, stream, content_length,
                                                         expected)
            if expected and (disconnected or digest != expected[1]):
                chunk.drop()
                if disconnected:
                    raise disconnected
                raise ApiError("media.checksum_mismatch", details={"offset": offset})
            chunk.keep(received)
            if disconnected:
                raise disconnected  # what arrived is kept: HEAD reports it, the client resumes
            new_offset = offset + received
            _check_head(upload, chunk, offset, new_offset)
            if new_offset == upload.length:
                with chunk.whole() as path:
                    _complete(upload, user, path)
    except media_store.OffsetMismatch as error:
        raise _mismatch(error.offset) from None
    except media_store.UploadGone:
        raise _completed_or_gone(user, upload_id, now) from None
    if new_offset == state.length:
        media_store.store().discard_upload(state.id)  # the stored file has the bytes now
    return replace(state, offset=new_offset)


def _completed_or_gone(user: User, upload_id: uuid.UUID, now: datetime | None) -> ApiError:
    db.session.commit()  # end the read snapshot: another worker changed the row meanwhile
    upload = _find(user, upload_id, now)
    return _mismatch(upload.length) if upload.offset == upload.length else ApiError("not_found")


def _write_body(part: BinaryIO, stream: BinaryIO, content_length: int,
                expected: tuple[str, bytes] | None) -> tuple[int, bytes | None, Exception | None]:
    """Stream the body to the chunk's file; return (bytes kept, digest, disconnect error or None).

    When the client drops mid-body we keep what arrived: tus resumes from there.
    """
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
    if received < content_length and disconnected is None:
        disconnected = ClientDisconnected()
    return received, (hasher.digest() if hasher else None), disconnected


def _check_head(upload: Upload, chunk: media_store.Chunk, old_offset: int,
                new_offset: int) -> None:
    """Judge the type as soon as the leading bytes are in: a fake file is refused early."""
    head_len = min(media_store.HEAD_BYTES, upload.length)
    if not old_offset < head_len <= new_offset:
        return
    if media_store.sniff_mime(chunk.head(head_len)) != upload.mime:
        _discard(upload)
        raise ApiError("media.unsupported_type", details={"declared": upload.mime})


def _complete(upload: Upload, user: User, path: Path) -> None:
    """Check the whole file (hash, then type), store it once, and record it."""
    if media_store.file_sha256(path) != upload.sha256:
        _discard(upload)
        raise ApiError("media.hash_mismatch")
    if media_store.sniff_mime(path) != upload.mime:
        _discard(upload)
        raise ApiError("media.unsupported_type", details={"declared": upload.mime})
    media_store.store().adopt(path, upload.sha256, upload.mime)
    media_store.store().forget_chunks(upload.id)
    # Another upload of the same file may have recorded it first: stored once either way, so
    # the row is inserted only if its hash is new (no savepoint).
    _record_media(upload, user)
    db.session.commit()


def _record_media(upload: Upload, user: User) -> None:
    """Mark a completed upload complete (offset = length) and add its Media row unless its
    hash is already recorded."""
    postgresql = dialect_name() == "postgresql"
    params = {"upload_id": upload.id, "upload_length": upload.length, "media_sha256": upload.sha256,
              "media_mime": upload.mime, "uploaded_by": user.id, "now": utcnow()}
    for statement in _record_media_statements(postgresql):
        db.session.execute(statement, params)


@functools.cache
def _record_media_statements(postgresql: bool) -> tuple[Executable, ...]:
    """The statements of `_record_media`, built once per process and dialect.

    An INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite speak the same clause); on
    PostgreSQL the UPDATE of the offset rides in it as a data-modifying CTE (one statement, run
    once whatever the INSERT does); SQLite has no such CTE, so there it is a statement before.
    """
    done = (update(Upload.__table__).where(Upload.id == bindparam("upload_id"))
            .values(offset=bindparam("upload_length")))
    record = (postgresql_insert if postgresql else sqlite_insert)(Media.__table__).values(
        sha256=bindparam("media_sha256"), mime=bindparam("media_mime"),
        size=bindparam("upload_length"), uploaded_by_id=bindparam("uploaded_by"),
        created_at=bindparam("now"),
    ).on_conflict_do_nothing(index_elements=[Media.sha256])
    return (record.add_cte(done.cte("completed")),) if postgresql else (done, record)


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
    backend = media_store.store()
    # Held: a row and its file (a row whose file the store lost is asked for again).
    held = {sha for sha in db.session.scalars(select(Media.sha256).where(Media.sha256.in_(wanted)))
            if backend.has(sha)}
    missing = [sha for sha in wanted if sha not in held]
    uploads = db.session.scalars(
        select(Upload).where(
            Upload.user_id == user.id, Upload.sha256.in_(missing), Upload.expires_at > now,
            Upload.offset < Upload.length,
        )
    ).all()
    best: dict[str, tuple[int, Upload]] = {}
    for upload in uploads:
        offset = backend.offset(upload)
        if offset is not None and (upload.sha256 not in best or offset > best[upload.sha256][0]):
            best[upload.sha256] = (offset, upload)
    return {
        "missing": missing,
        "partial": {sha: offset for sha, (offset, _) in best.items()},
        "uploads": {sha: str(upload.id) for sha, (_, upload) in best.items()},
    }
