"""The server's seal over what every page, the API, the PDF and the exports show of a record.

The phone seals a visit's payload (sync/canonical.py); the server stores, beside it, values of
its own: the ids and times it filed the visit under, its checks and flags, and each sign-in as a
row with the flags the server gave it. A record seal is an HMAC-SHA256 (key derived from
SECRET_KEY) over the canonical JSON of exactly those shown values (VISIT_FIELDS, SIGNIN_FIELDS),
written whenever the server itself writes them: one before_flush hook for ORM writes; the two
Core writes of the push seal their rows themselves (the bulk sign-in insert and the end-of-batch
flag update, services/signin_flags.py, both through the batch's `SigninSealer`). `flask verify`
recomputes it: a value edited in the database behind the server's back no longer matches.
Not covered: a visit's review_status (the reviewer's decision, audited apart, not evidence).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.models import SignIn, Visit
from sync.canonical import canonical_json, canonical_json_fields, compute_seal

# What a reader shows of a visit beyond its payload (review_status is the reviewer's decision,
# audited apart; it is not evidence).
VISIT_FIELDS = ("id", "class_id", "session_id", "assignment_id", "plan_version_id", "inspector_id",
                "device_id", "started_at", "ended_at", "client_time", "received_at", "verdict",
                "seal", "checks", "flags", "supersedes_id", "check_of_id")
# A sign-in as shown, with the flags the server gave it (anti-proxy, stale: signin_flags.py);
# every write of its flags re-seals the row.
SIGNIN_FIELDS = ("id", "visit_id", "trainee_id", "method", "badge_token", "at", "gps",
                 "signature_sha256", "device_id", "user_id", "received_at", "flags")


# SECRET_KEY -> an HMAC keyed with the seal key, copied for each seal (the key is derived and
# padded once per process and secret, not once per record).
_KEYED: dict[str, hmac.HMAC] = {}


def _keyed() -> hmac.HMAC:
    secret = str(current_app.config["SECRET_KEY"])
    keyed = _KEYED.get(secret)
    if keyed is None:
        key = hmac.new(secret.encode(), b"spotcheck record seal v1", hashlib.sha256).digest()
        keyed = _KEYED[secret] = hmac.new(key, digestmod=hashlib.sha256)
    return keyed


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is not UTC:  # naive (SQLite): UTC; aware in another zone: converted
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value.isoformat()


def _iso(value: date) -> str:
    return _utc_iso(value) if isinstance(value, datetime) else value.isoformat()


def record_seal(fields: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """Return the HMAC of the named values (a row dict or an object's attributes).

    A datetime is sealed as its ISO 8601 form in UTC (+00:00; naive ones are UTC), a date as
    its ISO form; UUIDs and JSON values as canonical_json writes them.
    """
    body = dict(zip(fields, map(values.get, fields), strict=True))
    for name, value in body.items():
        if isinstance(value, date):  # datetime is a date too
            body[name] = _iso(value)
    mac = _keyed().copy()
    mac.update(canonical_json(body))
    return mac.hexdigest()


class _Attributes(Mapping):
    """An ORM object read as a mapping of its attributes."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self.obj, name, default)


def visit_seal(visit: Visit) -> str:
    """The record seal a visit's shown values give."""
    return record_seal(VISIT_FIELDS, _Attributes(visit))


def payload_seal_state(visit: Visit) -> tuple[str | None, bool]:
    """The phone's seal over a visit's payload, recomputed, and whether it is intact: the
    recomputed seal, the stored column and the seal inside the payload all agree (hex, any case).

    Returns (recomputed seal, or None when the payload no longer serialises; intact). The one
    answer the visit page, its PDF, the archive and `flask verify` give (R12: evidence that holds
    up must not look sealed in one place and broken in another).
    """
    payload = visit.payload or {}
    try:
        recomputed = compute_seal(payload)
    except (TypeError, ValueError):
        return None, False
    claimed = payload.get("seal")
    intact = (isinstance(claimed, str) and isinstance(visit.seal, str)
              and recomputed == visit.seal.lower() == claimed.lower())
    return recomputed, intact


def signin_seal(signin: Any) -> str:
    """The record seal a sign-in's shown values give (an ORM row or an inserted row dict)."""
    values = signin if isinstance(signin, Mapping) else _Attributes(signin)
    return record_seal(SIGNIN_FIELDS, values)


class SigninSealer:
    """Seals a batch's sign-in rows as signin_seal does, with what the rows share done once.

    Made inside the app context (reads SECRET_KEY once, not through Flask's context per row);
    the last datetime written is kept (a batch's rows share their received_at); the field names
    are known ASCII, so only the values are gated (canonical_json_fields). Same bytes as
    signin_seal (tests/sync/test_record_seal.py compares them).
    """

    __slots__ = ("_keyed", "_time", "_time_text")

    def __init__(self) -> None:
        self._keyed = _keyed()
        self._time = self._time_text = object()  # the last received_at and its text

    def seal(self, row: dict[str, Any]) -> None:
        """Set row["row_seal"]; row: every SIGNIN_FIELDS value (a missing one sealed as None)."""
        body = dict(zip(SIGNIN_FIELDS, map(row.get, SIGNIN_FIELDS), strict=True))
        at, received_at = body["at"], body["received_at"]
        if isinstance(at, date):
            body["at"] = _iso(at)
        if received_at is not self._time:  # the batch's own time: written once
            self._time = received_at
            self._time_text = _iso(received_at) if isinstance(received_at, date) else received_at
        body["received_at"] = self._time_text
        mac = self._keyed.copy()
        mac.update(canonical_json_fields(body))
        row["row_seal"] = mac.hexdigest()


def _with_defaults(obj: Any, fields: tuple[str, ...]) -> Any:
    """Give a new object's unset sealed columns their Python defaults now, before sealing.

    The flush would apply them after this hook (an id, flags [], device_id "", received_at
    now): sealed as None, the row would then differ from its seal.
    """
    columns = type(obj).__table__.c
    for name in fields:
        if getattr(obj, name) is None:
            default = columns[name].default
            if default is not None and default.is_scalar:
                setattr(obj, name, default.arg)
            elif default is not None and default.is_callable:
                setattr(obj, name, default.arg(None))
    return obj


def _seal_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Visit):
            obj.row_seal = visit_seal(_with_defaults(obj, VISIT_FIELDS))
        elif isinstance(obj, SignIn):
            obj.row_seal = signin_seal(_with_defaults(obj, SIGNIN_FIELDS))
    for obj in session.dirty:
        if isinstance(obj, Visit):
            obj.row_seal = visit_seal(obj)
        elif isinstance(obj, SignIn):
            obj.row_seal = signin_seal(obj)


def install() -> None:
    """Seal visits and sign-ins on every ORM flush (called once by create_app)."""
    if not event.contains(Session, "before_flush", _seal_before_flush):
        event.listen(Session, "before_flush", _seal_before_flush)
