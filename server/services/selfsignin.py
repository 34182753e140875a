"""Self sign-in (学员自助签到): rotating visit codes made offline, checked by the server later.

The inspector's phone shows a new code every 30 s. It makes each code offline as an HMAC over
the code's body with the per-device key the server issued at login (ApiToken.device_key), so
the server can verify it without having seen the visit yet. Code layout (base64url, no padding):

    version (1) = 2 | class id (16) | visit id (16) | window (4, BE) | device id length (1)
    | device id (UTF-8, the one sent at login) | mac (16)

window = floor(unix seconds / 30); mac = HMAC-SHA256(key = UTF-8 of device_key,
msg = b"spotcheck-self-signin" + every byte before it), first 16 bytes. The device id lets
the server find the key (it tries each inspector token of that device). The server accepts
the current window ±1; an older code is refused and recorded as an anomaly (signin.code_expired).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from server.errors import ApiError
from server.extensions import db
from server.models import (
    ApiToken,
    FailedLogin,
    Media,
    SignIn,
    TrainingClass,
    User,
    utcnow,
)
from server.services.audit import audit
from server.services.auth import still_holds
from server.services.badges import class_roster
from server.services.filed_roster import RosterEntry
from server.services.idcard import normalise_id_number
from server.services.media_store import sniff_mime, store_bytes
from server.services.pii import decrypt_id_number
from server.services.signin_flags import flag_signin
from server.services.signins import may_sign_in
from server.services.visits import judge_stored_visit_again

WINDOW_SECONDS = 30
CODE_VERSION = 2
MAC_BYTES = 16
MAC_PREFIX = b"spotcheck-self-signin"
_HEAD = struct.Struct(">B16s16sIB")
MAX_DEVICE_ID = 64
# Time a trainee has to fill in the form after scanning a fresh code.
FORM_MINUTES = 10
# Failed roster matches one phone may make per visit before it is refused (guessing IDs).
MAX_ROSTER_MISSES = 5  # per visit and address
# Per visit from anywhere: a class of up to 120 may mistype, a guesser on many addresses may not.
MAX_VISIT_ROSTER_MISSES = 60
MAX_SIGNATURE_BYTES = 300_000
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SelfCode:
    """A decoded rotating code whose MAC has been checked."""

    token_id: uuid.UUID
    class_id: uuid.UUID
    visit_id: uuid.UUID
    window: int
    device_id: str
    inspector_id: uuid.UUID


def window_of(at: datetime) -> int:
    """Return the 30-second window number of a time."""
    return int(at.timestamp()) // WINDOW_SECONDS


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(device_key: str, body: bytes) -> bytes:
    return hmac.new(device_key.encode(), MAC_PREFIX + body, hashlib.sha256).digest()[:MAC_BYTES]


def make_code(token: ApiToken, class_id: uuid.UUID, visit_id: uuid.UUID, at: datetime) -> str:
    """Make the code the phone would show at time `at` (the phone's JS does the same offline)."""
    device = token.device_id.encode()
    body = _HEAD.pack(CODE_VERSION, class_id.bytes, visit_id.bytes, window_of(at), len(device))
    body += device
    return _b64url(body + _mac(token.device_key, body))


def _split(code: str) -> tuple[bytes, bytes, tuple, str] | None:
    if not isinstance(code, str) or len(code) > 240:
        return None
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _HEAD.size + 1 + MAC_BYTES:
        return None
    head = _HEAD.unpack(raw[: _HEAD.size])
    device_len = head[4]
    if head[0] != CODE_VERSION or len(raw) != _HEAD.size + device_len + MAC_BYTES:
        return None
    body, mac = raw[: -MAC_BYTES], raw[-MAC_BYTES:]
    try:
        device_id = raw[_HEAD.size : _HEAD.size + device_len].decode()
    except UnicodeDecodeError:
        return None
    return body, mac, head, device_id


def decode_code(code: str) -> SelfCode:
    """Check a code's MAC against its device's keys, and that its inspector may add sign-ins to
    its class and visit; raise signin.code_invalid if either fails."""
    parts = _split(code)
    if parts is None:
        raise ApiError("signin.code_invalid")
    body, mac, (_, class_id, visit_id, window, _), device_id = parts
    tokens = db.session.scalars(
        select(ApiToken).join(User, ApiToken.user_id == User.id).where(
            ApiToken.device_id == device_id, ApiToken.device_key != "", User.role == "inspector")
    ).all()
    token = next((t for t in tokens if hmac.compare_digest(mac, _mac(t.device_key, body))), None)
    if token is None:
        raise ApiError("signin.code_invalid")
    # A code from a logged-out phone is refused: its key may be in someone else's hands. So is
    # one made after the token's lifetime ended, or once its inspector was deactivated or the
    # password changed (a lost phone): the key lives exactly as long as the token would
    # (auth.resolve_token's tests), and a code made before an ending still counts.
    if token.revoked_at is not None and window_of(token.revoked_at) < window:
        raise ApiError("signin.code_invalid")
    if window_of(token.expires_at) < window:
        raise ApiError("signin.code_invalid")
    if not still_holds(token.user, token.password_stamp):
        raise ApiError("signin.code_invalid")
    class_uuid, visit_uuid = uuid.UUID(bytes=class_id), uuid.UUID(bytes=visit_id)
    # The phone writes the class and visit into the code: its inspector may add sign-ins there
    # only as a push may (one rule, signins.may_sign_in), or the code would open another
    # county's class to this form (its name, its roster, its visit's anomalies).
    if not may_sign_in(token.user, class_uuid, visit_uuid):
        raise ApiError("signin.code_invalid")
    return SelfCode(token.id, class_uuid, visit_uuid, window, token.device_id, token.user_id)


def check_code(code: str, now: datetime | None = None, device_id: str = "") -> SelfCode:
    """Decode a code and check it is fresh (current window ±1); an old one is an anomaly."""
    now = now or utcnow()
    decoded = decode_code(code)
    current = window_of(now)
    if decoded.window < current - 1:
        audit("signin.code_expired", "visit", decoded.visit_id, device_id=device_id,
              class_id=str(decoded.class_id), window=decoded.window, server_window=current,
              late_seconds=(current - decoded.window) * WINDOW_SECONDS)
        db.session.flush()
        judge_stored_visit_again(decoded.visit_id)
        db.session.commit()
        raise ApiError("signin.code_expired")
    if decoded.window > current + 1:
        # The phone's clock runs ahead: the code cannot be judged, so it is not accepted.
        raise ApiError("signin.code_invalid", details={"reason": "clock_ahead"})
    return decoded


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="spotcheck-self-signin")


def issue_form_ticket(code: str) -> str:
    """Return a signed, timed ticket proving the code was fresh when the trainee scanned it."""
    return _serializer().dumps({"code": code})


def redeem_form_ticket(ticket: str, code: str) -> None:
    """Check a form ticket belongs to this code and is at most FORM_MINUTES old."""
    try:
        data = _serializer().loads(ticket, max_age=FORM_MINUTES * 60)
    except SignatureExpired as error:
        raise ApiError("signin.form_expired") from error
    except BadSignature as error:
        raise ApiError("signin.code_invalid") from error
    if not isinstance(data, dict) or data.get("code") != code:
        raise ApiError("signin.code_invalid")


def normalise_name(name: str) -> str:
    """Compare names without spaces (people type 张 三 as often as 张三)."""
    return _SPACES.sub("", name or "")


def match_roster(class_id: uuid.UUID, name: str, id_last6: str) -> RosterEntry | None:
    """Return the enrolled trainee with this name and these last 6 ID characters, if any."""
    wanted_name = normalise_name(name)
    wanted_tail = normalise_id_number(id_last6)
    for trainee in class_roster(class_id):
        if normalise_name(trainee.name) != wanted_name:
            continue
        tail = normalise_id_number(decrypt_id_number(trainee.id_number_enc))[-6:]
        if hmac.compare_digest(tail.encode(), wanted_tail.encode()):
            return trainee
    return None


def _miss_key(visit_id: uuid.UUID) -> str:
    return f"selfsignin:{visit_id}"


def _roster_misses(visit_id: uuid.UUID, address: str | None) -> tuple[int, int]:
    """Refused roster matches against a visit: (from this address, from anywhere).

    Counted by what the phone cannot change (the visit, the address), never by its cookie:
    a cleared cookie must not buy more guesses at a name and ID ending.
    """
    key = _miss_key(visit_id)
    total = db.session.scalar(select(func.count()).select_from(FailedLogin)
                              .where(FailedLogin.username == key)) or 0
    mine = db.session.scalar(select(func.count()).select_from(FailedLogin).where(
        FailedLogin.username == key, FailedLogin.ip == (address or ""))) or 0
    return mine, total


def store_signature(png: bytes, inspector_id: uuid.UUID) -> str:
    """Store a signature PNG content-addressed (like every medium) and return its SHA-256.

    Recorded as uploaded for the inspector whose code the trainee scanned: the signature is
    that inspector's visit's evidence, and visits.foreign_media keeps another county's push
    from citing it (with no uploader it belonged to nobody, so anyone could).
    """
    if len(png) > MAX_SIGNATURE_BYTES or sniff_mime(png) != "image/png":
        raise ApiError("validation_error", errors={"signature": ["a PNG image is required"]})
    return store_bytes(png, "image/png", inspector_id)


def record_self_signin(
    code: SelfCode,
    *,
    name: str,
    id_last6: str,
    signature_png: bytes,
    gps: dict | None,
    device_id: str,
    address: str | None = None,
    now: datetime | None = None,
) -> SignIn:
    """Record a trainee's own sign-in after checking the roster; flags are added, never hidden."""
    now = now or utcnow()
    mine, total = _roster_misses(code.visit_id, address)
    if mine >= MAX_ROSTER_MISSES or total >= MAX_VISIT_ROSTER_MISSES:
        raise ApiError("rate_limited", "selfsignin.too_many_attempts")
    trainee = match_roster(code.class_id, name, id_last6)
    if trainee is None:
        db.session.add(FailedLogin(ip=address or "", username=_miss_key(code.visit_id), at=now))
        audit("selfsignin.roster_miss", "visit", code.visit_id, device_id=device_id,
              class_id=str(code.class_id))
        db.session.flush()
        judge_stored_visit_again(code.visit_id)
        db.session.commit()
        raise ApiError("signin.not_on_roster")
    signin = SignIn(
        visit_id=code.visit_id, trainee_id=trainee.id, method="self", at=now.astimezone(UTC),
        gps=gps, signature_sha256=store_signature(signature_png, code.inspector_id),
        device_id=device_id, received_at=now,
    )
    db.session.add(signin)
    db.session.flush()
    flag_signin(signin, code.class_id)
    judge_stored_visit_again(code.visit_id)  # a visit already stored counts the new sign-in
    audit("signin.self", "visit", code.visit_id, device_id=device_id,
          trainee_id=str(trainee.id), flags=list(signin.flags))
    return signin


def visit_self_signins(user: User, class_id: uuid.UUID, visit_id: uuid.UUID) -> list[SignIn]:
    """The self sign-ins trainees made on their own phones from the user's codes for a visit,
    oldest first, for the inspector's phone: they reach the server, not the phone, yet the server
    counts them in the visit's attendance, so the phone's attendance step must count them too.

    The visit must be one the user may add a sign-in to (signins.may_sign_in: the class in the
    user's scope and, once the visit is stored, it is that class's); raises not_found (404,
    which hides whether the visit exists) otherwise. Only sign-ins taken by the user's own codes
    are listed: their signatures are stored as the code's inspector's evidence (store_signature),
    so another inspector who learns the visit id (it is in the code on the classroom's screen)
    learns nothing, not even that a covert check of the class took place.
    """
    if not may_sign_in(user, class_id, visit_id):
        raise ApiError("not_found")
    return list(db.session.scalars(
        select(SignIn).join(Media, Media.sha256 == SignIn.signature_sha256)
        .where(SignIn.visit_id == visit_id, SignIn.method == "self",
               Media.uploaded_by_id == user.id)
        .order_by(SignIn.at, SignIn.id)))


def seconds_left(code: SelfCode, now: datetime | None = None) -> int:
    """Return how long a code stays acceptable (end of the window after its own)."""
    now = now or utcnow()
    end = datetime.fromtimestamp((code.window + 2) * WINDOW_SECONDS, UTC)
    return max(0, int((end - now) / timedelta(seconds=1)))


def class_name(class_id: uuid.UUID) -> str:
    """Return the class's name for the page heading (empty if the class is unknown)."""

    training_class = db.session.get(TrainingClass, class_id)
    return training_class.name if training_class else ""
