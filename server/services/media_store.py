"""Where media bytes live: one interface, two backends (a local folder, any S3-compatible store).

A stored file's name is its SHA-256, so a file is stored once whoever sends it: `<sha[:2]>/<sha>`
under `MEDIA_DIR` (`MEDIA_STORAGE=local`, the default) or as that key in `S3_BUCKET`
(`MEDIA_STORAGE=s3`, in `server/services/media_s3.py`). Either way a file counts as stored only
after its SHA-256 and type were checked on a complete local copy, the store took the bytes
(fsync and atomic rename; or a PUT the store checked against the bytes' MD5), and its Media row
was committed. A crash in between leaves a correct file without a row, which `verify` tolerates
and the next upload of the same hash adopts.

Unfinished tus uploads are the backend's too (`Chunk`): the local folder appends to a part file
under an exclusive lock, its size being the offset (one server); the object store keeps each
chunk as an object and the offset in the `upload` row, so any app server can take the next
PATCH (see `media_s3`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import struct
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from flask import Flask, Response, current_app, has_app_context, send_file
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import delete, select

from server.config import Config
from server.errors import ApiError
from server.extensions import db
from server.models import Media, Upload, UploadChunk, utcnow

MIMES = ("image/jpeg", "image/png", "video/mp4", "video/webm")
# Kept only through store_bytes (a rectification answer's attachment), never uploaded by tus.
PDF_MIME = "application/pdf"
# Enough leading bytes to recognise every accepted type (WebM's DocType sits near byte 30).
HEAD_BYTES = 64
READ_SIZE = 1 << 20
_PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MATROSKA_SEGMENT = b"\x18\x53\x80\x67"
_EXTENSION_KEY = "spotcheck_media_store"


class OffsetMismatch(Exception):
    """The chunk does not start where the upload stands."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class UploadGone(Exception):
    """The upload's bytes are gone: completed or discarded by another request meanwhile."""


class Chunk(ABC):
    """One PATCH body being received at `offset`: write it to `file`, then keep or drop it."""

    file: BinaryIO

    @abstractmethod
    def drop(self) -> None:
        """Forget what was written (a chunk checksum failed)."""

    @abstractmethod
    def keep(self, received: int) -> None:
        """Make the first `received` bytes written part of the upload; its offset moves on.

        Raises OffsetMismatch when another request moved the upload meanwhile.
        """

    @abstractmethod
    def head(self, size: int) -> bytes:
        """Return the upload's first `size` bytes (the ones kept plus this chunk's)."""

    @abstractmethod
    def whole(self) -> Iterator[Path]:
        """Context manager: the complete file on local disk, once the last byte is kept."""


class MediaStore(ABC):
    """Where stored files and unfinished uploads live."""

    @abstractmethod
    def has(self, sha256: str) -> bool:
        """Tell whether the file with this hash is stored."""

    @abstractmethod
    def sha256_of(self, sha256: str) -> str | None:
        """Re-read a stored file and return its actual SHA-256, or None when it is missing."""

    @abstractmethod
    def local_copy(self, sha256: str) -> Iterator[Path | None]:
        """Context manager: a local path of the stored file (None when it is missing)."""

    @abstractmethod
    def adopt(self, path: Path, sha256: str, mime: str) -> None:
        """Store a checked local file under its hash, durably; the file may be moved away."""

    @abstractmethod
    def response(self, sha256: str, mime: str, *, as_attachment: bool = False) -> Response:
        """Return an HTTP response streaming the stored file (never read whole into memory)."""

    @abstractmethod
    def shas(self) -> Iterator[str]:
        """Yield the hash of every stored file."""

    @abstractmethod
    def where(self, sha256: str) -> str:
        """Say where the file with this hash lives (for operators' messages)."""

    @abstractmethod
    def restore_from(self, folder: Path) -> None:
        """Bring back the files of a checked backup's `media/<sha[:2]>/<sha>` tree."""

    @abstractmethod
    def start_upload(self, upload: Upload) -> None:
        """Prepare room for a new upload's bytes."""

    @abstractmethod
    def offset(self, upload: Upload) -> int | None:
        """Return how many bytes of an unfinished upload are kept, or None if its bytes are gone."""

    @abstractmethod
    def chunk(self, upload: Upload, offset: int) -> Iterator[Chunk]:
        """Context manager: receive a chunk at `offset` (OffsetMismatch, UploadGone)."""

    @abstractmethod
    def discard_upload(self, upload_id: uuid.UUID) -> None:
        """Delete an upload's kept bytes, if any."""

    @abstractmethod
    def sweep_uploads(self, live: set[str], born_before: datetime) -> int:
        """Delete the bytes of uploads whose id is not in `live` and that were begun before
        `born_before` (younger bytes may belong to an upload whose row is not yet committed);
        return how many."""

    def forget_chunks(self, upload_id: uuid.UUID) -> None:
        """Delete the `upload_chunk` rows of a completed upload, in the caller's transaction.

        A backend that keeps no chunk rows (the local folder) skips the statement.
        """
        db.session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))


def local_store(config: Mapping[str, Any]) -> LocalStore:
    """Build the file-system backend of MEDIA_DIR."""
    Path(config["MEDIA_DIR"]).mkdir(parents=True, exist_ok=True)
    return LocalStore(Path(config["MEDIA_DIR"]))


def init_media_store(app: Flask,
                     backends: Mapping[str, Callable[[Mapping[str, Any]], MediaStore]]) -> None:
    """Build the configured backend once per app (MEDIA_STORAGE names one of `backends`)."""
    kind = app.config.get("MEDIA_STORAGE") or "local"
    if kind not in backends:
        raise ValueError(f"MEDIA_STORAGE must be one of {', '.join(backends)}, not {kind!r}")
    app.extensions[_EXTENSION_KEY] = backends[kind](app.config)


def store() -> MediaStore:
    """Return the current app's media store."""
    return current_app.extensions[_EXTENSION_KEY]


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex of a file, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(READ_SIZE):
            digest.update(piece)
    return digest.hexdigest()


def store_bytes(data: bytes, mime: str, user_id: object = None) -> str:
    """Store a small file (a signature, an answer's attachment) once, durably; return its SHA-256.

    The bytes must be a whole, sound file of `mime` (JPEG, PNG, MP4, WebM or PDF), judged as a
    tus upload's completion judges one (`sniff_mime` of a path): a leading magic number is not
    enough. Otherwise ApiError media.unsupported_type (415), and nothing is stored. The Media
    row is added to the caller's transaction.
    """
    sha = hashlib.sha256(data).hexdigest()
    backend = store()
    with tempfile.TemporaryDirectory(prefix="spotcheck-media-") as folder:
        path = Path(folder) / sha
        path.write_bytes(data)
        if sniff_mime(path) != mime:
            raise ApiError("media.unsupported_type", "media.unsound", details={"declared": mime})
        if not backend.has(sha):
            backend.adopt(path, sha, mime)
    if db.session.get(Media, sha) is None:
        db.session.add(Media(sha256=sha, mime=mime, size=len(data), uploaded_by_id=user_id))
    return sha


# Bytes of an upload with no row are an orphan only once this old: create_upload writes the part
# file before its row commits, and `media expire` listing the rows in between took the new
# upload's bytes for an orphan's (the phone's next PATCH: 404).
ORPHAN_GRACE = timedelta(minutes=10)


def expire_uploads(now: datetime | None = None) -> int:
    """Delete uploads past their expiry (rows and kept bytes) and orphan bytes; return the count.

    The caller commits.
    """
    now = now or utcnow()
    backend = store()
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= now)).all()
    for upload in expired:
        backend.discard_upload(upload.id)
        db.session.delete(upload)
    db.session.flush()
    live = {str(uid) for uid in db.session.scalars(select(Upload.id))}
    return len(expired) + backend.sweep_uploads(live, now - ORPHAN_GRACE)


# -- the local folder -------------------------------------------------------------------------

def media_dir() -> Path:
    """Return the local media folder of the current app (MEDIA_DIR)."""
    return Path(current_app.config["MEDIA_DIR"])


def media_path(sha256: str) -> Path:
    """Return where the local folder keeps (or would keep) the file with this SHA-256."""
    return media_dir() / sha256[:2] / sha256


def part_path(upload_id: object) -> Path:
    """Return the local part file of an upload in progress."""
    return media_dir() / "uploads" / f"{upload_id}.part"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _PartChunk(Chunk):
    """A chunk appended to the part file, under an exclusive lock on that file."""

    def __init__(self, part: BinaryIO, path: Path, offset: int) -> None:
        self.file = part
        self.path = path
        self.offset = offset

    def drop(self) -> None:
        self.file.truncate(self.offset)

    def keep(self, received: int) -> None:
        self.file.flush()

    def head(self, size: int) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read(size)

    @contextmanager
    def whole(self) -> Iterator[Path]:
        self.file.flush()
        yield self.path


class LocalStore(MediaStore):
    """Files in a local folder: `<root>/<sha[:2]>/<sha>`, parts in `<root>/uploads/<id>.part`.

    While an upload is in progress its offset is the size of its part file, read under an
    exclusive flock (gunicorn workers are separate processes; tusd's filestore does the same),
    so a chunk costs no database write and no fsync: the bytes are made durable once, before
    the finished file is renamed into place.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _part(self, upload_id: object) -> Path:
        return self.root / "uploads" / f"{upload_id}.part"

    def has(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def sha256_of(self, sha256: str) -> str | None:
        path = self._path(sha256)
        return file_sha256(path) if path.is_file() else None

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path | None]:
        path = self._path(sha256)
        yield path if path.is_file() else None

    def adopt(self, path: Path, sha256: str, mime: str) -> None:
        """Fsync, rename into place (atomic in one file system), fsync the folder.

        If the file is already there (an earlier upload, or one whose row a crash lost) the
        rename simply replaces it with identical, freshly verified bytes.
        """
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.parent != self._part("x").parent:
            # From elsewhere (a temporary folder, maybe another file system): copy beside first.
            temporary = target.with_name(f"{sha256}.{uuid.uuid4().hex}.tmp")
            with open(path, "rb") as source, open(temporary, "wb") as out:
                while piece := source.read(READ_SIZE):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            path = temporary
        os.replace(path, target)
        _fsync_dir(target.parent)

    def response(self, sha256: str, mime: str, *, as_attachment: bool = False) -> Response:
        return send_file(self._path(sha256), mimetype=mime, as_attachment=as_attachment,
                         download_name=sha256, max_age=3600)

    def shas(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/*")):
            if path.is_file() and len(path.name) == 64 and path.parent.name == path.name[:2]:
                yield path.name

    def where(self, sha256: str) -> str:
        return str(self._path(sha256))

    def restore_from(self, folder: Path) -> None:
        """Replace the folder's files with the backup's; unfinished uploads stay."""
        tmp = self.root.with_name(self.root.name + ".restoring")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder, tmp)
        uploads = self.root / "uploads"
        if uploads.exists():
            shutil.move(str(uploads), tmp / "uploads")
        shutil.rmtree(self.root, ignore_errors=True)
        os.replace(tmp, self.root)

    def start_upload(self, upload: Upload) -> None:
        path = self._part(upload.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def offset(self, upload: Upload) -> int | None:
        try:
            return self._part(upload.id).stat().st_size
        except FileNotFoundError:
            return None

    @contextmanager
    def chunk(self, upload: Upload, offset: int) -> Iterator[Chunk]:
        path = self._part(upload.id)
        try:
            part = open(path, "r+b")
        except FileNotFoundError:
            raise UploadGone() from None
        with part:
            fcntl.flock(part.fileno(), fcntl.LOCK_EX)
            try:
                if os.fstat(part.fileno()).st_ino != path.stat().st_ino:
                    raise UploadGone()  # completed (renamed into place) or discarded meanwhile
            except FileNotFoundError:
                raise UploadGone() from None
            size = os.fstat(part.fileno()).st_size
            if size != offset:
                raise OffsetMismatch(size)
            part.seek(offset)
            part.truncate()
            yield _PartChunk(part, path, offset)

    def discard_upload(self, upload_id: uuid.UUID) -> None:
        self._part(upload_id).unlink(missing_ok=True)

    def forget_chunks(self, upload_id: uuid.UUID) -> None:
        """Nothing to forget: a part file's size is its offset, no chunk has a row."""

    def sweep_uploads(self, live: set[str], born_before: datetime) -> int:
        orphans = 0
        uploads = self.root / "uploads"
        cutoff = born_before.timestamp()
        if uploads.is_dir():
            for part in uploads.glob("*.part"):
                if part.stem in live:
                    continue
                try:
                    if part.stat().st_mtime >= cutoff:
                        continue  # maybe an upload whose row is not committed yet
                except FileNotFoundError:
                    continue
                part.unlink(missing_ok=True)
                orphans += 1
        return orphans


# -- what a file really is ------------------------------------------------------------------

def _sniff_head(head: bytes) -> str | None:
    """Judge the type from the leading bytes alone."""
    if head.startswith(b"%PDF-"):
        return PDF_MIME
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp" and struct.unpack(">I", head[:4])[0] >= 8:
        return "video/mp4"
    if head.startswith(_EBML_MAGIC) and _ebml_doctype(head) == b"webm":
        return "video/webm"
    return None


def _read_vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    """Read an EBML variable-length integer at pos; return (value, next position)."""
    first = data[pos]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8 or pos + length > len(data):
        raise ValueError("bad EBML integer")
    value = first if keep_marker else first & (mask - 1)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _ebml_header(data: bytes) -> tuple[bytes | None, int]:
    """Return (DocType, end of the EBML header) of a Matroska/WebM file's leading bytes."""
    _, pos = _read_vint(data, 0, keep_marker=True)
    size, pos = _read_vint(data, pos, keep_marker=False)
    end = pos + size
    doctype = None
    while pos < min(end, len(data)):
        element, pos = _read_vint(data, pos, keep_marker=True)
        length, pos = _read_vint(data, pos, keep_marker=False)
        if element == 0x4282:
            doctype = data[pos:pos + length]
        pos += length
    return doctype, end


def _ebml_doctype(head: bytes) -> bytes | None:
    try:
        return _ebml_header(head)[0]
    except (ValueError, IndexError):
        return None


def _check_webm(path: Path) -> bool:
    """A WebM file: an EBML header with DocType webm, then a Segment element."""
    with open(path, "rb") as fh:
        data = fh.read(4096)
    try:
        doctype, end = _ebml_header(data)
    except (ValueError, IndexError):
        return False
    return doctype == b"webm" and data[end:end + 4] == _MATROSKA_SEGMENT


def _check_mp4(path: Path) -> bool:
    """An MP4 file: `ftyp` first, then top-level boxes whose sizes add up to the file's size."""
    total = path.stat().st_size
    position = 0
    types = []
    with open(path, "rb") as fh:
        while position < total:
            fh.seek(position)
            header = fh.read(16)
            if len(header) < 8:
                return False
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1:
                if len(header) < 16:
                    return False
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                size = total - position
            if size < 8 or not kind.isascii():
                return False
            types.append(kind)
            position += size
    return position == total and types[:1] == [b"ftyp"] and (b"moov" in types or b"moof" in types)


def image_too_large(image: Image.Image) -> bool:
    """True when an image has more pixels than MEDIA_MAX_PIXELS (read from the header only)."""
    width, height = image.size
    limit = (current_app.config["MEDIA_MAX_PIXELS"] if has_app_context()
             else Config.MEDIA_MAX_PIXELS)
    return width * height > limit


def _check_image(path: Path) -> str | None:
    """Decode the image with Pillow; return its type, or None when any part cannot be read.

    A small file may declare a huge canvas (a decompression bomb): the pixel count is checked
    from the header, before anything is decoded. verify() alone is not enough: it checks a
    PNG's chunk CRCs but nothing of a JPEG, so a JPEG header followed by anything (an HTML page,
    a cut-off scan) passed. A JPEG is decoded at 1/8 scale (`draft`): libjpeg still reads every
    block of the scan but skips most of the inverse DCT (30-50 ms for the benchmark's 5 MB
    photo); one whose scan runs out before its last block is refused. (Scan bytes that are
    garbage but end in an EOI marker still decode, libjpeg only warning: a picture, if a
    meaningless one.) A PNG has its CRCs verified, then is decoded in full, within the pixel
    limit.
    """
    try:
        with Image.open(path, formats=list(_PILLOW_FORMATS)) as image:
            kind = _PILLOW_FORMATS.get(image.format or "")
            if image_too_large(image):
                return None
            if kind == "image/png":
                image.verify()  # after verify() the image must be opened again to decode
        with Image.open(path, formats=list(_PILLOW_FORMATS)) as image:
            if kind == "image/jpeg":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        return kind
    except Exception:  # Pillow raises many types for broken input; all mean "not an image"
        return None


def _check_pdf(path: Path) -> bool:
    """A PDF file pypdf reads: its cross-reference table (or one rebuilt), catalogue and pages."""
    try:
        return len(PdfReader(path).pages) > 0
    except Exception:  # pypdf raises many types for broken input; all mean "not a PDF"
        return False


def sniff_mime(data: bytes | Path) -> str | None:
    """Return the accepted MIME type the content really is, or None.

    Given leading bytes: a quick judgement by magic numbers (used on the first chunk), never
    enough to store a file. Given a path: the full judgement, Pillow decoding a JPEG or PNG,
    MP4/WebM by their structure, pypdf reading a PDF.
    """
    if isinstance(data, bytes | bytearray):
        return _sniff_head(bytes(data[:HEAD_BYTES]))
    with open(data, "rb") as fh:
        head_kind = _sniff_head(fh.read(HEAD_BYTES))
    if head_kind in ("image/jpeg", "image/png"):
        return head_kind if _check_image(data) == head_kind else None
    if head_kind == "video/mp4":
        return head_kind if _check_mp4(data) else None
    if head_kind == "video/webm":
        return head_kind if _check_webm(data) else None
    if head_kind == PDF_MIME:
        return head_kind if _check_pdf(data) else None
    return None


