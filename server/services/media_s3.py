"""The object-store backend of the media store: any S3-compatible service through boto3.

Settings: `S3_ENDPOINT_URL` (empty: AWS itself), `S3_BUCKET`, `S3_REGION` (default `us-east-1`);
the credentials come the standard way (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).

Stored files are the objects `<sha[:2]>/<sha>`, written only after the whole file's SHA-256 and
type were checked on a local copy, each PUT carrying the bytes' MD5 so the store refuses bytes
that changed on the way. Downloads stream from the store in 64 KB pieces.

Unfinished uploads: S3 refuses multipart parts under 5 MiB (except the last), and tus chunks are
smaller, so each accepted chunk is an object of its own, `uploads/<upload id>/<offset>-<nonce>`,
and the transaction that records it (an `UploadChunk` row) moves `Upload.offset` with a
compare-and-set (`UPDATE … WHERE offset = <chunk's offset>`). Nothing about an upload lives on
an app server: a POST on one and PATCHes on others continue the same upload, and two servers
racing for the same offset cannot both win (the loser deletes its object and answers 409).
The last chunk is not stored as an object: the earlier chunks are streamed from the store into
a local temporary file, the last one appended, the whole checked, then stored under its hash.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import Response
from sqlalchemy import select, update

from server.errors import ApiError
from server.extensions import db
from server.models import Upload, UploadChunk
from server.services.media_store import (
    READ_SIZE,
    Chunk,
    MediaStore,
    OffsetMismatch,
    UploadGone,
)

_STREAM_PIECE = 64 * 1024
_UPLOADS = "uploads/"
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _md5_b64(fh: BinaryIO) -> str:
    """Return the base64 MD5 of an open file from its start (Content-MD5), rewinding it."""
    fh.seek(0)
    digest = hashlib.md5(usedforsecurity=False)
    while piece := fh.read(READ_SIZE):
        digest.update(piece)
    fh.seek(0)
    return base64.b64encode(digest.digest()).decode()


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING


class _ObjectChunk(Chunk):
    """A chunk spooled to a local temporary file, then kept as an object of its own."""

    def __init__(self, backend: S3Store, upload: Upload, offset: int) -> None:
        self.backend = backend
        self.upload = upload
        self.offset = offset
        self.file = tempfile.TemporaryFile(prefix="spotcheck-chunk-")
        self.received = 0

    def drop(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def keep(self, received: int) -> None:
        self.received = received
        self.file.flush()
        self.file.truncate(received)
        if received == 0 or self.offset + received == self.upload.length:
            return  # nothing to keep; or the last chunk, which `whole` stores with the rest
        key = f"{_UPLOADS}{self.upload.id}/{self.offset:012d}-{uuid.uuid4().hex[:12]}"
        self.backend.put(key, self.file, "application/octet-stream")
        moved = db.session.execute(
            update(Upload).where(Upload.id == self.upload.id, Upload.offset == self.offset)
            .values(offset=self.offset + received)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            db.session.rollback()
            self.backend.delete([key])
            current = db.session.get(Upload, self.upload.id)
            if current is None:
                raise UploadGone()
            raise OffsetMismatch(current.offset)
        db.session.add(UploadChunk(upload_id=self.upload.id, offset=self.offset, size=received,
                                   key=key))
        db.session.commit()

    def _earlier(self) -> list[UploadChunk]:
        return list(db.session.scalars(
            select(UploadChunk).where(UploadChunk.upload_id == self.upload.id)
            .order_by(UploadChunk.offset)))

    def head(self, size: int) -> bytes:
        out = b""
        for piece in self._earlier():
            if len(out) >= size:
                break
            body = self.backend.get(piece.key, f"bytes=0-{size - len(out) - 1}")
            out += body.read()
        if len(out) < size:
            self.file.seek(0)
            out += self.file.read(size - len(out))
        return out[:size]

    @contextmanager
    def whole(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="spotcheck-upload-") as folder:
            path = Path(folder) / "whole"
            with open(path, "wb") as out:
                position = 0
                for piece in self._earlier():
                    if piece.offset != position:
                        raise UploadGone()  # a hole: cannot happen with the compare-and-set
                    shutil.copyfileobj(self.backend.get(piece.key), out, READ_SIZE)
                    position += piece.size
                if position != self.offset:
                    raise UploadGone()
                self.file.seek(0)
                shutil.copyfileobj(self.file, out, READ_SIZE)
            yield path


class S3Store(MediaStore):
    """Files and unfinished uploads in one bucket of an S3-compatible store."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Store:
        """Build the client from S3_ENDPOINT_URL, S3_REGION, S3_BUCKET and the AWS_* credentials."""
        bucket = config.get("S3_BUCKET") or ""
        if not bucket:
            raise ValueError("MEDIA_STORAGE=s3 needs S3_BUCKET")
        client = boto3.session.Session().client(
            "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or "us-east-1",
            config=BotoConfig(
                signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"},
                # Content-MD5 on every PUT instead of the newer default checksums, which
                # several S3-compatible stores do not accept.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, bucket)

    # -- objects --------------------------------------------------------------------------

    @staticmethod
    def key(sha256: str) -> str:
        """Return the object key of a stored file."""
        return f"{sha256[:2]}/{sha256}"

    def put(self, key: str, fh: BinaryIO, mime: str, sha256: str | None = None) -> None:
        """PUT an open file as `key`; the store checks the bytes against their MD5."""
        md5 = _md5_b64(fh)
        extra = {"Metadata": {"sha256": sha256}} if sha256 else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=fh, ContentMD5=md5,
                               ContentType=mime, **extra)

    def get(self, key: str, byte_range: str | None = None) -> Any:
        """Return the streaming body of an object (a byte range of it if given)."""
        extra = {"Range": byte_range} if byte_range else {}
        return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]

    def delete(self, keys: list[str]) -> None:
        """Delete objects, up to 1,000 per request."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            if batch:
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": batch, "Quiet": True})

    def _keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    # -- stored files -------------------------------------------------------------------------

    def has(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def sha256_of(self, sha256: str) -> str | None:
        try:
            body = self.get(self.key(sha256))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        digest = hashlib.sha256()
        for piece in body.iter_chunks(READ_SIZE):
            digest.update(piece)
        return digest.hexdigest()

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path | None]:
        with tempfile.TemporaryDirectory(prefix="spotcheck-copy-") as folder:
            path = Path(folder) / sha256
            try:
                with open(path, "wb") as out:
                    self.client.download_fileobj(self.bucket, self.key(sha256), out)
            except ClientError as error:
                if _missing(error):
                    yield None
                    return
                raise
            yield path

    def adopt(self, path: Path, sha256: str, mime: str) -> None:
        with open(path, "rb") as fh:
            self.put(self.key(sha256), fh, mime, sha256)

    def response(self, sha256: str, mime: str, *, as_attachment: bool = False) -> Response:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if _missing(error):
                raise ApiError("not_found") from None
            raise
        body = found["Body"]

        def pieces() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(_STREAM_PIECE)
            finally:
                body.close()

        response = Response(pieces(), mimetype=mime, direct_passthrough=True)
        response.content_length = found["ContentLength"]
        response.cache_control.max_age = 3600
        if as_attachment:
            response.headers["Content-Disposition"] = f"attachment; filename={sha256}"
        return response

    def shas(self) -> Iterator[str]:
        for key in self._keys():
            folder, _, name = key.partition("/")
            if len(name) == 64 and folder == name[:2]:
                yield name

    def where(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self.key(sha256)}"

    def restore_from(self, folder: Path) -> None:
        """PUT every backed-up file the bucket lacks (content-addressed: present means equal).

        Objects that are not in the backup stay: no Media row names them, so they are inert.
        """
        for path in sorted(folder.glob("??/*")):
            if path.is_file() and len(path.name) == 64 and not self.has(path.name):
                self.adopt(path, path.name, "application/octet-stream")

    # -- unfinished uploads ---------------------------------------------------------------------

    def start_upload(self, upload: Upload) -> None:
        """Nothing to prepare: the offset is the row's, the chunks come as objects."""

    def offset(self, upload: Upload) -> int | None:
        return upload.offset

    @contextmanager
    def chunk(self, upload: Upload, offset: int) -> Iterator[Chunk]:
        if upload.offset != offset:
            raise OffsetMismatch(upload.offset)
        piece = _ObjectChunk(self, upload, offset)
        with piece.file:
            yield piece

    def discard_upload(self, upload_id: uuid.UUID) -> None:
        self.delete(list(self._keys(f"{_UPLOADS}{upload_id}/")))

    def sweep_uploads(self, live: set[str], born_before: datetime) -> int:
        # An upload's objects are written by its PATCHes, after its row was committed (POST):
        # bytes of no row are an orphan whatever their age (born_before is the local folder's).
        orphans: dict[str, list[str]] = {}
        for key in self._keys(_UPLOADS):
            upload_id = key[len(_UPLOADS):].partition("/")[0]
            if upload_id not in live:
                orphans.setdefault(upload_id, []).append(key)
        self.delete([key for keys in orphans.values() for key in keys])
        return len(orphans)
