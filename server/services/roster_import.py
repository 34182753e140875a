"""A roster import that asks first (R3): preview what the file would do, change nothing until
the clerk confirms; single trainees added or removed in the page.

Rows are rejected (never enrolled) when no trainee record can be made from them (no usable ID
number, a missing field) or when their ID number appears in more than one row of the file (which
one is right is the clerk's call). Other R3 findings are shown and the trainee is enrolled: the
county decides on them when it reviews the plan.

The preview travels to the confirmation inside the page, sealed: the file's bytes encrypted and
authenticated (AES-GCM, key derived from SECRET_KEY) and bound to the version and the clerk, so
no server keeps state between the two requests and no full ID number stands in the page.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from server.errors import ApiError, field_error
from server.extensions import db
from server.models import Enrollment, Trainee, User
from server.services import filed_roster, filing, roster
from server.services.audit import audit
from server.services.idcard import mask_id_number, normalise_id_number
from server.services.pii import id_number_hash

REJECTING = ("R3.id_invalid", "R3.missing_field", "R3.duplicate")


@dataclass
class PreviewRow:
    """One row of the file with its verdict: enrol (maybe with findings) or reject."""

    row: int
    name: str
    id_masked: str
    verdict: str  # "add" | "change" | "keep" | "reject"
    details: list[dict[str, Any]]


@dataclass
class RosterPreview:
    """What confirming the file would do to the draft's roster."""

    rows: list[PreviewRow] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    token: str = ""

    def count(self, verdict: str) -> int:
        """How many rows have this verdict."""
        return sum(1 for r in self.rows if r.verdict == verdict)


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hashlib.sha256(b"spotcheck roster preview\0" + secret).digest()


def seal_preview(data: bytes, version_id: uuid.UUID, user: User) -> str:
    """Seal a roster file for the confirmation of this version by this user."""
    return _seal(data, version_id, user)


def _seal(data: bytes, version_id: uuid.UUID, user: User) -> str:
    nonce = os.urandom(12)
    bound = f"{version_id}:{user.id}".encode()
    box = AESGCM(_key()).encrypt(nonce, zlib.compress(data), bound)
    return base64.urlsafe_b64encode(nonce + box).decode()


def _open(token: str, version_id: uuid.UUID, user: User) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        bound = f"{version_id}:{user.id}".encode()
        return zlib.decompress(AESGCM(_key()).decrypt(raw[:12], raw[12:], bound))
    except (ValueError, InvalidTag, zlib.error) as error:
        raise field_error("token", "field.roster.preview_expired") from error


def _read(version, data: bytes) -> list[tuple[roster.RosterRow, dict[str, Any]]]:
    try:
        rows = roster.read_roster(io.BytesIO(data))
    except roster.RosterReadError as error:
        raise ApiError(error.code, errors={"file": [str(error)]}) from error
    checked = roster.check_roster(rows, version.plan.training_class.start_date)
    return list(zip(rows, checked, strict=True))


def _rejected(check: dict[str, Any]) -> bool:
    return any(code in REJECTING for code in check["violations"])


def _same(trainee: filed_roster.RosterEntry, item: dict[str, Any]) -> bool:
    return all(str(getattr(trainee, key) or "") == str(item.get(key) or "")
               for key in ("name", "gender", "education", "certificate_level", "employer",
                           "employer_kind") if hasattr(trainee, key))


def preview_roster(user: User, version_id: uuid.UUID, data: bytes) -> RosterPreview:
    """Check the file row by row against R3 and the draft's roster; change nothing."""
    version = filing.editable_version(user, version_id)
    current = {e.id_number_hash: e for e in filed_roster.roster_of(version)}
    # Compare as the trainee record stores a row (occupation_name, not occupation).
    preview, kept = RosterPreview(), set()
    for row, check in _read(version, data):
        number = normalise_id_number(row.id_number)
        masked = mask_id_number(number) if number else ""
        if _rejected(check):
            verdict = "reject"
        else:
            digest = id_number_hash(number)
            kept.add(digest)
            old = current.get(digest)
            verdict = ("keep" if _same(old,
                                       filing.item_from_row(row)) else "change") if old else "add"
        preview.rows.append(PreviewRow(row.row, row.name, masked, verdict, check["details"]))
    preview.removed = [{"name": t.name, "id_masked": t.id_masked}
                       for digest, t in sorted(current.items(), key=lambda kv: kv[1].name)
                       if digest not in kept]
    preview.token = _seal(data, version_id, user)
    return preview


def confirm_roster(user: User, version_id: uuid.UUID, token: str) -> tuple[int, int]:
    """Apply a previewed file: the rows not rejected become the roster; rejected rows never do.

    Return how many trainees were enrolled and how many rows were not.
    """
    version = filing.editable_version(user, version_id)
    checked = _read(version, _open(token, version_id, user))
    entries = [(row.row, filing.item_from_row(row), check["details"])
               for row, check in checked if not _rejected(check)]
    result = filing.enrol_rows(user, version, entries, "xlsx")
    return result.enrolled, len(checked) - result.enrolled


def add_trainee(user: User, version_id: uuid.UUID, item: dict[str, Any]) -> Trainee:
    """Add one trainee to a draft's roster; refuse what would be a rejected row."""
    version = filing.editable_version(user, version_id)
    start = version.plan.training_class.start_date
    row = roster.RosterRow(row=0, name=item["name"], id_number=item["id_number"],
                           gender=item.get("gender") or "", education=item.get("education") or "",
                           occupation=item.get("occupation_name") or "",
                           certificate_level=item.get("certificate_level") or "",
                           certificate_date=item.get("certificate_date"),
                           employer=item.get("employer") or "",
                           employer_kind=item.get("employer_kind") or "",
                           phone=item.get("phone") or "")
    (check,) = roster.check_roster([row], start)
    blocking = [d for d in check["details"] if d["code"] in REJECTING]
    if blocking:
        errors: dict[str, list[str]] = {}
        for detail in blocking:
            errors.setdefault(detail.get("field") or "id_number", []).append(detail["message"])
        raise ApiError("validation_error", errors=errors)
    digest = id_number_hash(normalise_id_number(row.id_number))
    if any(e.id_number_hash == digest for e in filed_roster.roster_of(version)):
        raise field_error("id_number", "field.roster.id_on_roster")
    trainee = filing.upsert_trainee(filing.item_from_row(row), version.plan.training_class.base_id)
    version.enrollments.append(Enrollment(trainee=trainee))
    db.session.flush()
    audit("plan.roster_add", "plan_version", version.id, user=user, trainee_id=str(trainee.id))
    return trainee


def correct_trainee(user: User, version_id: uuid.UUID, trainee_id: uuid.UUID,
                    changes: dict[str, Any]) -> Trainee:
    """Correct an enrolled trainee's details in a draft (the base's own entry for the person)."""
    version = filing.editable_version(user, version_id)
    enrollment = next((e for e in version.enrollments if e.trainee_id == trainee_id), None)
    if enrollment is None:
        raise ApiError("not_found")
    # The base's own entry (R7): a legacy row another base also enrolled keeps its details there.
    trainee = filing.own_entry(enrollment.trainee, version.plan.training_class.base_id)
    if trainee is not enrollment.trainee:
        enrollment.trainee = trainee
    before = {key: getattr(trainee, key) for key in changes}
    for key, value in changes.items():
        setattr(trainee, key, value)
    db.session.flush()
    audit("plan.roster_correct", "plan_version", version.id, user=user, trainee_id=str(trainee.id),
          fields=sorted(k for k in changes if before[k] != changes[k]))
    return trainee


def remove_trainee(user: User, version_id: uuid.UUID, trainee_id: uuid.UUID) -> None:
    """Take one trainee off a draft's roster (the person's record stays)."""
    version = filing.editable_version(user, version_id)
    enrollment = next((e for e in version.enrollments if e.trainee_id == trainee_id), None)
    if enrollment is None:
        raise ApiError("not_found")
    version.enrollments.remove(enrollment)
    db.session.delete(enrollment)
    db.session.flush()
    audit("plan.roster_remove", "plan_version", version.id, user=user, trainee_id=str(trainee_id))


def preview_view(preview: RosterPreview) -> dict[str, Any]:
    """The preview as the page shows it."""
    return {"rows": preview.rows, "removed": preview.removed, "token": preview.token,
            "counts": {v: preview.count(v) for v in ("add", "change", "keep", "reject")},
            "json": json.dumps({"removed": len(preview.removed)})}
