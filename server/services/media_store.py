"""Content-addressed media files: `<MEDIA_DIR>/<sha[:2]>/<sha>`, upload parts, type sniffing.

A stored file's name is its SHA-256, so a file is stored once whoever sends it. Bytes go
to `<MEDIA_DIR>/uploads/<upload_id>.part` first and are renamed into place only once the
whole file's hash and type are checked; rename within one file system is atomic, so a
reader never sees half a file. The file is written (and fsynced) before its Media row is
committed: a crash in between leaves a correct file without a row, which `verify`
tolerates and the next upload of the same hash adopts.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app, has_app_context
from PIL import Image
from sqlalchemy import select

from server.config import Config
from server.extensions import db
from server.models import Media, Upload, utcnow

MIMES = ("image/jpeg", "image/png", "video/mp4", "video/webm")
# Enough leading bytes to recognise every accepted type (WebM's DocType sits near byte 30).
HEAD_BYTES = 64
_READ_SIZE = 1 << 20
_PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MATROSKA_SEGMENT = b"\x18\x53\x80\x67"


def media_dir() -> Path:
    """Return the media root of the current app."""
    return Path(current_app.config["MEDIA_DIR"])


def media_path(sha256: str) -> Path:
    """Return where the file with this SHA-256 lives (or would live)."""
    return media_dir() / sha256[:2] / sha256


def part_path(upload_id: object) -> Path:
    """Return the part file of an upload in progress."""
    return media_dir() / "uploads" / f"{upload_id}.part"


def has_file(sha256: str) -> bool:
    """Tell whether the file with this hash is on disk."""
    return media_path(sha256).is_file()


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex of a file, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(_READ_SIZE):
            digest.update(piece)
    return digest.hexdigest()


def open_part(upload_id: object) -> Path:
    """Create the empty part file of a new upload and return its path."""
    path = part_path(upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def part_size(upload_id: object) -> int | None:
    """Return the size of an upload's part file (its offset), or None if there is none."""
    try:
        return part_path(upload_id).stat().st_size
    except FileNotFoundError:
        return None


def file_size(fh: BinaryIO) -> int:
    """Return the size of an open file."""
    return os.fstat(fh.fileno()).st_size


def same_file(fh: BinaryIO, path: Path) -> bool:
    """Tell whether an open file is still the one at path (not renamed away or deleted)."""
    try:
        return os.fstat(fh.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def remove_part(upload_id: object) -> None:
    """Delete an upload's part file, if any."""
    part_path(upload_id).unlink(missing_ok=True)


def fsync_file(fh: BinaryIO) -> None:
    """Flush an open file's bytes to the disk."""
    os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_part(upload_id: object, sha256: str) -> Path:
    """Move a checked part file to its content address, durably; return the final path.

    If the file is already there (an earlier upload, or one whose row a crash lost) the
    rename simply replaces it with identical, freshly verified bytes.
    """
    source = part_path(upload_id)
    with open(source, "rb") as fh:
        os.fsync(fh.fileno())
    target = media_path(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    _fsync_dir(target.parent)
    return target


def store_bytes(data: bytes, mime: str, user_id: object = None) -> str:
    """Store a small file (a signature, an answer's attachment) once, durably; return its SHA-256.

    The bytes go to a temporary file that is fsynced and renamed into place, so a reader never
    sees half a file; the Media row is added to the caller's transaction.
    """
    sha = hashlib.sha256(data).hexdigest()
    target = media_path(sha)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f"{sha}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "wb") as fh:
            fh.write(data)
            fsync_file(fh)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    if db.session.get(Media, sha) is None:
        db.session.add(Media(sha256=sha, mime=mime, size=len(data), uploaded_by_id=user_id))
    return sha


def _sniff_head(head: bytes) -> str | None:
    """Judge the type from the leading bytes alone."""
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
    """Let Pillow parse the header and verify the structure (PNG chunk CRCs, JPEG markers).

    A small file may declare a huge canvas (a decompression bomb): the pixel count is checked
    from the header, before anything would be decoded.
    """
    try:
        with Image.open(path, formats=list(_PILLOW_FORMATS)) as image:
            kind = _PILLOW_FORMATS.get(image.format or "")
            if image_too_large(image):
                return None
            image.verify()
        return kind
    except Exception:  # Pillow raises many types for broken input; all mean "not an image"
        return None


def sniff_mime(data: bytes | Path) -> str | None:
    """Return the accepted MIME type the content really is, or None.

    Given leading bytes: a quick judgement by magic numbers (used on the first chunk).
    Given a path: the full judgement, by Pillow for JPEG/PNG and by structure for MP4/WebM.
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
    return None


def expire_uploads(now: datetime | None = None) -> int:
    """Delete uploads past their expiry (rows and part files) and orphan parts; return the count.

    The caller commits.
    """
    now = now or utcnow()
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= now)).all()
    for upload in expired:
        remove_part(upload.id)
        db.session.delete(upload)
    db.session.flush()
    live = {str(uid) for uid in db.session.scalars(select(Upload.id))}
    uploads_dir = media_dir() / "uploads"
    orphans = 0
    if uploads_dir.is_dir():
        for part in uploads_dir.glob("*.part"):
            if part.stem not in live:
                part.unlink(missing_ok=True)
                orphans += 1
    return len(expired) + orphans
