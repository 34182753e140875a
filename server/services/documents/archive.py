"""The yearly archive of a base (R12): plans, rosters, sign-ins, visits, their PDFs, media,
assessments and teachers in one ZIP, with a manifest of SHA-256 hashes that `verify` re-checks.

The ZIP is written as it is built (`stream_archive` yields pieces of it), so a year of videos
never sits in memory or in a temporary file. Entry times are wall time in the configured zone
(ZIP times carry no zone and unzip tools show them as local time), with the UTC instant in an
extended-timestamp field beside them.

Rosters carry masked ID numbers only: an archive leaves the server, the key does not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import current_app

from server.errors import ApiError
from server.extensions import db
from server.models import (
    Media,
    PlanVersion,
    Rectification,
    SignIn,
    Teacher,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
)
from server.services import media_store
from server.services.attendance import visit_sign_ins
from server.services.beside_plan import judged_version
from server.services.clock import local_zone
from server.services.documents.common import (
    LEVEL_LABELS,
    classes_of_year,
    may_download_record,
    results_of,
    roster,
)
from server.services.documents.visit_pdf import build_visit_pdf, seal_state
from server.services.filed_roster import person_on
from server.services.review import visit_reviews
from server.services.scope import review_status_for
from server.services.spreadsheet import csv_bytes
from server.services.visits import payload_media_hashes
from sync.canonical import canonical_json, compute_seal

MANIFEST = "manifest.json"
# The server's Ed25519 signature over the manifest's exact bytes (base64), beside it.
SIGNATURE = "manifest.sig"
# A year's manifest lists a few thousand files; anything far larger is not ours.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
FORMAT = "spotcheck-archive/1"
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4",
               "video/webm": ".webm"}
_READ_SIZE = 1 << 20


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True,
                      default=_default).encode("utf-8")


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what the ZIP writer wrote until it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


class _Writer:
    """Add entries to a streamed ZIP and remember each one's hash and size for the manifest."""

    def __init__(self, now: datetime, zone: ZoneInfo) -> None:
        local = now.astimezone(zone)
        self.stamp = (local.year, local.month, local.day, local.hour, local.minute, local.second)
        # Info-ZIP's extended timestamp (0x5455): the modification time as a UTC instant.
        self.extra = struct.pack("<HHBl", 0x5455, 5, 1, int(now.timestamp()))
        self.sink = _Sink()
        self.zf = zipfile.ZipFile(self.sink, "w")
        self.files: dict[str, dict[str, Any]] = {}

    def _info(self, name: str, compress_type: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = compress_type
        info.extra = self.extra
        info.external_attr = 0o644 << 16
        return info

    def add(self, name: str, data: bytes) -> bytes:
        """Write one small entry; return the ZIP bytes written so far."""
        self.zf.writestr(self._info(name, zipfile.ZIP_DEFLATED), data)
        self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        return self.sink.take()

    def add_file(self, name: str, path: Path) -> Iterator[bytes]:
        """Copy a stored file in pieces, yielding the ZIP bytes after each piece."""
        digest = hashlib.sha256()
        size = 0
        # Photos and videos are compressed already.
        info = self._info(name, zipfile.ZIP_STORED)
        with open(path, "rb") as source, self.zf.open(info, "w", force_zip64=True) as target:
            while piece := source.read(_READ_SIZE):
                digest.update(piece)
                size += len(piece)
                target.write(piece)
                yield self.sink.take()
        self.files[name] = {"sha256": digest.hexdigest(), "size": size}
        yield self.sink.take()

    def close(self) -> bytes:
        """Write the central directory; return the last bytes."""
        self.zf.close()
        return self.sink.take()


def _class_record(klass: TrainingClass) -> dict[str, Any]:
    return {"id": klass.id, "name": klass.name, "occupation": klass.occupation.name,
            "occupation_code": klass.occupation.code, "level": LEVEL_LABELS.get(klass.level),
            "start_date": klass.start_date, "end_date": klass.end_date,
            "head_teacher": klass.head_teacher.name if klass.head_teacher else None}


def _version_record(klass: TrainingClass, version) -> dict[str, Any]:
    return {
        "class": _class_record(klass), "number": version.number, "status": version.status,
        "reason": version.reason, "diff": version.diff, "review_comment": version.review_comment,
        "submitted_at": version.submitted_at, "approved_at": version.approved_at,
        "recorded_at": version.recorded_at, "roster_size": len(roster(version)),
        "sessions": [
            {"id": s.id, "lineage_id": s.lineage_id, "date": s.date,
             "start_time": s.start_time.strftime("%H:%M"), "end_time": s.end_time.strftime("%H:%M"),
             "category": s.category, "topic": s.topic, "teacher": s.teacher.name,
             "site": s.site.name, "address": s.site.address, "online": s.online}
            for s in version.sessions
        ],
    }


def _roster_rows(version) -> list[list[Any]]:
    return [[i, e.name, e.gender, e.id_masked, e.education, e.occupation_name,
             e.certificate_level, _default(e.certificate_date) if e.certificate_date else "",
             e.employer, e.employer_kind]
            for i, e in enumerate(roster(version), start=1)]


ROSTER_HEADER = ["序号", "姓名", "性别", "身份证号（脱敏）", "学历", "原职业（工种）", "证书等级",
                 "取证日期", "工作单位", "单位性质"]


def _visit_record(visit: Visit, viewer: User | None, now: datetime) -> dict[str, Any]:
    """The visit as its archive keeps it; for a viewer, as the visit page shows it to them (a
    base: no re-inspection order before that visit happened, review.visit_reviews)."""
    computed, verified = seal_state(visit)
    reviews = visit_reviews(visit, viewer)
    rectifications = db.session.execute(
        db.select(Rectification).where(Rectification.visit_id == visit.id)
        .order_by(Rectification.created_at)
    ).scalars()
    return {
        "id": visit.id, "class_id": visit.class_id, "session_id": visit.session_id,
        "plan_version": visit.plan_version.number, "inspector": visit.inspector.display_name,
        "device_id": visit.device_id, "started_at": visit.started_at, "ended_at": visit.ended_at,
        "received_at": visit.received_at, "verdict": visit.verdict, "seal": visit.seal,
        "seal_recomputed": computed, "seal_verified": verified, "checks": visit.checks,
        "flags": visit.flags, "supersedes_id": visit.supersedes_id,
        "review_status": review_status_for(viewer, visit, now) if viewer else visit.review_status,
        "payload": visit.payload,
        "reviews": [{"decision": r.decision, "comment": r.comment, "at": r.at,
                     "reviewer": r.reviewer.display_name} for r in reviews],
        "rectifications": [{"sanction": r.sanction, "order_text": r.order_text,
                            "deadline": r.deadline, "status": r.status,
                            "response_text": r.response_text, "response_media": r.response_media,
                            "created_at": r.created_at, "answered_at": r.answered_at,
                            "closed_at": r.closed_at, "closing_comment": r.closing_comment}
                           for r in rectifications],
    }


def _media_hashes(visit: Visit, signins: list[SignIn], record: dict[str, Any]) -> set[str]:
    """The files a visit's folder holds: what makes the visit whole (the payload's every hash,
    visits.payload_media_hashes, as the visit page counts them; its sign-ins' signatures), and
    its rectifications' answers."""
    hashes = payload_media_hashes(visit.payload)
    hashes |= {s.signature_sha256 for s in signins if s.signature_sha256}
    for rectification in record["rectifications"]:
        for item in rectification["response_media"] or []:
            sha = item.get("sha256") if isinstance(item, dict) else item
            if sha:
                hashes.add(str(sha))
    return hashes


def _signin_record(signin: SignIn, version: PlanVersion) -> dict[str, Any]:
    # The person as the judged version's roster shows them (frozen once filed, R7).
    trainee = person_on(version, signin.trainee_id)
    return {"id": signin.id, "trainee_id": signin.trainee_id,
            "trainee_name": trainee.name if trainee else None,
            "id_masked": trainee.id_masked if trainee else None, "method": signin.method,
            "at": signin.at, "gps": signin.gps, "signature_sha256": signin.signature_sha256,
            "device_id": signin.device_id, "received_at": signin.received_at,
            "flags": signin.flags}


class ArchiveStream:
    """The ZIP of a base's year as an iterable of bytes; `manifest` is set once it is exhausted.

    Everything that needs the database is read when the stream is made (the records are small);
    iterating only reads media files from disk, a piece at a time, so a response can stream it
    after the request's database session has gone.
    """

    def __init__(self, base: TrainingBase, year: int, *, now: datetime, zone: ZoneInfo,
                 viewer: User | None = None) -> None:
        self.year, self.now, self.zone, self.viewer = year, now, zone, viewer
        self.about = {"base": base.name, "base_id": str(base.id), "county": base.county.name}
        self.records: list[tuple[str, bytes]] = []
        self.index: list[dict[str, Any]] = []
        # Each visit record's file and its seal: `archive verify` recomputes every one.
        self.seals: dict[str, str] = {}
        media: set[str] = set()
        for klass in classes_of_year(base, year):
            media |= self._read_class(klass)
        teachers = db.session.execute(
            db.select(Teacher).where(Teacher.base_id == base.id).order_by(Teacher.name)
        ).scalars()
        self.records.append(("teachers.csv", csv_bytes(
            ["姓名", "专业技术职务", "技能资格", "证书编号"],
            [[t.name, t.professional_title, t.skill_qualification, t.certificate_no]
             for t in teachers])))
        self.store = media_store.store()
        # Taken now, in the request: the ZIP is written after the request's context has ended.
        self.key = archive_key()
        self.media: list[tuple[str, str]] = []  # (name in the ZIP, hash)
        self.missing: list[str] = []
        for sha in sorted(media):
            if not _is_sha256(sha) or not self.store.has(sha):
                self.missing.append(sha)
                continue
            row = db.session.get(Media, sha)
            self.media.append((f"media/{sha}{_EXTENSIONS.get(row.mime, '') if row else ''}", sha))
        self.manifest: dict[str, Any] | None = None

    @property
    def file_count(self) -> int:
        """How many files the manifest will list."""
        return len(self.records) + len(self.media)

    def _read_class(self, klass: TrainingClass) -> set[str]:
        folder = f"classes/{klass.id}"
        self.index.append({**_class_record(klass), "folder": folder})
        add = self.records.append
        add((f"{folder}/class.json", _json_bytes(_class_record(klass))))
        versions = [v for v in (klass.plan.versions if klass.plan else []) if v.is_filed]
        for version in versions:
            add((f"{folder}/plan_v{version.number}.json",
                 _json_bytes(_version_record(klass, version))))
            add((f"{folder}/roster_v{version.number}.csv",
                 csv_bytes(ROSTER_HEADER, _roster_rows(version))))
        results = sorted(results_of(klass).values(), key=lambda r: r.trainee.name)
        add((f"{folder}/assessments.csv", csv_bytes(
            ["姓名", "身份证号（脱敏）", "等级", "考核日期", "是否合格", "证书编号"],
            [[r.trainee.name, r.trainee.id_masked, LEVEL_LABELS.get(r.level, r.level),
              r.assessed_on.isoformat(), "合格" if r.passed else "不合格", r.certificate_no]
             for r in results])))
        media: set[str] = set()
        visits = db.session.execute(
            db.select(Visit).where(Visit.class_id == klass.id).order_by(Visit.started_at)
        ).scalars()
        for visit in visits:
            if self.viewer is not None and not may_download_record(self.viewer, visit, self.now):
                continue  # a base's archive holds the records its staff may take away
            signins = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
            record = _visit_record(visit, self.viewer, self.now)
            self.seals[f"{folder}/visits/{visit.id}.json"] = visit.seal
            add((f"{folder}/visits/{visit.id}.json", _json_bytes(record)))
            # The archive keeps the official Chinese record whatever the downloader reads.
            add((f"{folder}/visits/{visit.id}.pdf", build_visit_pdf(visit, lang="zh")))
            add((f"{folder}/visits/{visit.id}_signins.json",
                 _json_bytes([_signin_record(s, judged_version(visit)) for s in signins])))
            media |= _media_hashes(visit, signins, record)
        return media

    def __iter__(self) -> Iterator[bytes]:
        writer = _Writer(self.now, self.zone)
        for name, data in self.records:
            yield writer.add(name, data)
        for name, sha in self.media:
            # The object store copies the file to a temporary file for the time of the copy.
            with self.store.local_copy(sha) as path:
                yield from writer.add_file(name, path)
        files = dict(writer.files)
        manifest = {
            "format": FORMAT, **self.about, "year": self.year, "created_at": _default(self.now),
            "classes": self.index, "media_not_on_server": self.missing,
            "files": files, "files_sha256": hashlib.sha256(canonical_json(files)).hexdigest(),
            "seals": dict(self.seals),
        }
        manifest_bytes = _json_bytes(manifest)
        yield writer.add(MANIFEST, manifest_bytes)
        yield writer.add(SIGNATURE, base64.b64encode(self.key.sign(manifest_bytes)) + b"\n")
        yield writer.close()
        self.manifest = manifest


def stream_archive(base: TrainingBase, year: int, *, now: datetime, zone: ZoneInfo,
                   viewer: User | None = None) -> ArchiveStream:
    """Read the base's archive of the year; return it as a stream of ZIP bytes (zipped as read).

    viewer: who downloads it. Its visit records are then those the viewer may take away
    (documents.common.may_download_record: a base gets no covert check's record, nor a visit
    that has not happened; a re-inspection order is left out until its visit happened, R10).
    None: the whole archive (the operator's `archive` command, R12).
    """
    return ArchiveStream(base, year, now=now, zone=zone, viewer=viewer)


def build_archive(base: TrainingBase, year: int, out: Path | io.BufferedIOBase, *,
                  now: datetime, zone: ZoneInfo | None = None) -> dict[str, Any]:
    """Write the base's archive of the year to `out` (a path or binary file); return the manifest.
    """
    stream = stream_archive(base, year, now=now, zone=zone or local_zone())
    target = open(out, "wb") if isinstance(out, Path) else out  # noqa: SIM115
    try:
        for piece in stream:
            target.write(piece)
    finally:
        if isinstance(out, Path):
            target.close()
    assert stream.manifest is not None
    return stream.manifest


def archive_key() -> ed25519.Ed25519PrivateKey:
    """The archive signing key: ARCHIVE_SIGNING_KEY (PEM) or one derived from SECRET_KEY."""
    pem = (current_app.config.get("ARCHIVE_SIGNING_KEY") or "").strip()
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("ARCHIVE_SIGNING_KEY must be an Ed25519 private key")
        return key
    secret = str(current_app.config["SECRET_KEY"]).encode()
    seed = hashlib.sha256(b"spotcheck archive key v1:" + secret).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def archive_public_key_pem() -> str:
    """The public key that verifies this server's archives (PEM)."""
    return archive_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _read_small(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read an entry read whole, once its declared size is known to be small (a ZIP bomb)."""
    if zf.getinfo(name).file_size > limit:
        raise ValueError(f"{name} is larger than {limit} bytes")
    return zf.read(name)


def _signature_problems(zf: zipfile.ZipFile, manifest_bytes: bytes,
                        public_key: ed25519.Ed25519PublicKey) -> list[tuple[str, str]]:
    try:
        signature = base64.b64decode(_read_small(zf, SIGNATURE, 4096).strip(), validate=True)
        public_key.verify(signature, manifest_bytes)
    except KeyError:
        return [(SIGNATURE, "missing: the manifest is not signed")]
    except (InvalidSignature, ValueError, binascii.Error):
        return [(SIGNATURE, "the manifest's signature does not verify with the server's key")]
    return []


def _seal_problems(zf: zipfile.ZipFile, seals: dict[str, str],
                   names: set[str]) -> list[tuple[str, str]]:
    problems = []
    for name, seal in sorted(seals.items()):
        if name not in names:
            continue  # reported as missing with the file list
        try:
            record = json.loads(_read_small(zf, name, MAX_MANIFEST_BYTES))
            payload = record["payload"]
            recomputed = compute_seal(payload)
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, zlib.error):
            problems.append((name, "visit record unreadable"))
            continue
        if not (recomputed == seal == record.get("seal") == payload.get("seal")):
            problems.append((name, "seal mismatch: the visit's payload is not what was sealed"))
    return problems


def archive_problems(path: Path | io.BufferedIOBase,
                     public_key: ed25519.Ed25519PublicKey | None = None) -> list[tuple[str, str]]:
    """Return (name, problem) for the signature, each file changed, missing or extra, each seal.

    public_key: the key to check the manifest's signature with (default: this server's).
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ApiError("archive.invalid", details={"reason": str(error)}) from error
    problems: list[tuple[str, str]] = []
    with zf:
        names = set(zf.namelist())
        try:
            # The manifest is read whole: its declared size is checked first (a ZIP bomb).
            if zf.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
                return [(MANIFEST, "too large")]
            manifest_bytes = zf.read(MANIFEST)
            manifest = json.loads(manifest_bytes)
            files: dict[str, dict[str, Any]] = manifest["files"]
        except (KeyError, ValueError, TypeError):
            return [(MANIFEST, "missing or unreadable")]
        key = public_key or archive_key().public_key()
        problems.extend(_signature_problems(zf, manifest_bytes, key))
        problems.extend(_seal_problems(zf, manifest.get("seals") or {}, names))
        if hashlib.sha256(canonical_json(files)).hexdigest() != manifest.get("files_sha256"):
            problems.append((MANIFEST, "files_sha256 does not match the file list"))
        for name in sorted(files):
            if name not in names:
                problems.append((name, "missing"))
                continue
            if zf.getinfo(name).file_size != files[name].get("size"):
                problems.append((name, "size mismatch"))  # never inflate what cannot match
                continue
            digest = hashlib.sha256()
            try:
                with zf.open(name) as fh:
                    while piece := fh.read(_READ_SIZE):
                        digest.update(piece)
            except (zipfile.BadZipFile, OSError, zlib.error):
                problems.append((name, "unreadable"))  # a flipped byte can break the CRC first
                continue
            if digest.hexdigest() != files[name].get("sha256"):
                problems.append((name, "sha256 mismatch"))
        for name in sorted(names - set(files) - {MANIFEST, SIGNATURE}):
            problems.append((name, "not in manifest"))
    return problems


def verify_archive(path: Path | io.BufferedIOBase) -> list[str]:
    """Return the names of the files that do not match the manifest (empty when all match)."""
    return [name for name, _ in archive_problems(path)]
