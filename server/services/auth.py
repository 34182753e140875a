"""Users, passwords, login lockout and per-device bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from server.errors import ApiError
from server.extensions import db
from server.models import (
    ROLES,
    ApiToken,
    County,
    FailedLogin,
    TrainingBase,
    User,
    WebSession,
    utcnow,
)
from server.services.audit import audit

# Web sessions note when they were last used at most this often (one write, not one per request),
# or every half idle limit if that is shorter: last_seen_at lags by up to this much, so a session
# is judged idle up to this much early, never while it is used more often than that.
_SEEN_EVERY = timedelta(minutes=5)
_dummy_hashes: dict[str, str] = {}


def hash_password(password: str) -> str:
    """Hash a password with the configured method (cheap in tests, scrypt otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    """A hash of the configured method to check unknown usernames against (same cost as a real one).
    """
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


def create_user(
    username: str,
    password: str,
    role: str,
    *,
    county_name: str | None = None,
    base_name: str | None = None,
    display_name: str = "",
) -> User:
    """Create a user; county and base are looked up by name and must fit the role."""
    if role not in ROLES:
        raise ApiError("validation_error", errors={"role": [f"one of {', '.join(ROLES)}"]})
    if db.session.scalar(select(User).where(User.username == username)):
        raise ApiError("conflict", "auth.username_taken", params={"username": username})
    county = base = None
    if county_name:
        county = db.session.scalar(select(County).where(County.name == county_name))
        if county is None:
            raise ApiError("not_found", "auth.unknown_county", params={"name": county_name})
    if base_name:
        base = db.session.scalar(select(TrainingBase).where(TrainingBase.name == base_name))
        if base is None:
            raise ApiError("not_found", "auth.unknown_base", params={"name": base_name})
        county = county or base.county
    if role == "base_staff" and base is None:
        raise ApiError("validation_error", errors={"base": ["base_staff needs --base"]})
    if role == "county_admin" and county is None:
        raise ApiError("validation_error", errors={"county": ["county_admin needs --county"]})
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        county_id=county.id if county else None,
        base_id=base.id if base else None,
    )
    db.session.add(user)
    db.session.flush()
    audit("user.create", "user", user.id, role=role)
    return user


# Login failures are FailedLogin rows keyed by this prefix and the normalised name typed; the
# self sign-in's misses use another prefix (selfsignin:), so neither limit counts the other's.
_LOGIN_KEY = "login:"


def _login_key(username: str) -> str:
    """The key a name's failures are counted under: trimmed and case-folded, so "Inspector2 "
    and "inspector2" share one count (the account lookup itself stays exact)."""
    return (_LOGIN_KEY + username.strip().casefold())[:64]


def _refuse_busy_address(ip: str | None, now: datetime) -> None:
    """Refuse an address that failed too often lately, whatever usernames it tried."""
    if not ip:
        return
    window = now - timedelta(minutes=current_app.config["LOGIN_IP_WINDOW_MINUTES"])
    failures = db.session.scalar(
        select(func.count()).select_from(FailedLogin)
        .where(FailedLogin.ip == ip, FailedLogin.at > window,
               FailedLogin.username.startswith(_LOGIN_KEY))
    )
    if failures >= current_app.config["LOGIN_IP_MAX_FAILURES"]:
        raise ApiError("rate_limited", "auth.too_many_failures")


def _lock_window(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def _recent_failures(key: str, now: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(FailedLogin)
        .where(FailedLogin.username == key, FailedLogin.at > _lock_window(now))
    ) or 0


def _clear_failures(username: str, now: datetime) -> None:
    """Forget a name's failed attempts (its password was proven, or an administrator set it).

    Only those that still count: older ones lock nothing, and the time bound keeps this on the
    index of `at` (every successful login runs it).
    """
    db.session.execute(delete(FailedLogin).where(
        FailedLogin.username == _login_key(username), FailedLogin.at > _lock_window(now)))


def check_password(
    username: str, user: User | None, password: str, now: datetime, ip: str | None
) -> None:
    """Check a password typed for `username` (`user`: the account it names, or None).

    The one attempt limit of logins and of password changes. Two limits: a name, whether an
    account has it or not, is refused while LOGIN_MAX_FAILURES of its attempts failed within
    LOGIN_LOCKOUT_MINUTES (guessing one password); an address is refused after
    LOGIN_IP_MAX_FAILURES within LOGIN_IP_WINDOW_MINUTES (spraying many names). Unknown names
    count, lock and answer as real ones, and every attempt costs one hash check, so neither the
    answer nor its time tells which names exist. An attempt refused by a lock is not counted
    (the lock ends on time). Failures are committed before raising (the caller rolls back).
    Raises ApiError rate_limited (429, the address), auth.locked (429, the name) or
    auth.invalid_credentials (401: wrong password, unknown name or inactive account).
    """
    _refuse_busy_address(ip, now)
    key = _login_key(username)
    locked = _recent_failures(key, now) >= current_app.config["LOGIN_MAX_FAILURES"]
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if locked:
        raise ApiError("auth.locked")
    if user is None or not user.active or not matches:
        db.session.add(FailedLogin(ip=ip or "", username=key, at=now))
        if user is not None and _recent_failures(key, now) >= current_app.config[
                "LOGIN_MAX_FAILURES"]:
            audit("user.locked", "user", user.id)
        db.session.commit()
        raise ApiError("auth.invalid_credentials")
    _clear_failures(username, now)


def authenticate(
    username: str, password: str, now: datetime | None = None, ip: str | None = None
) -> User:
    """Return the user for these credentials; the attempt is limited by check_password."""
    now = now or utcnow()
    user = db.session.scalar(select(User).where(User.username == username))
    check_password(username, user, password, now, ip)
    return user


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def issue_token(user: User, device_id: str, now: datetime | None = None) -> tuple[str, ApiToken]:
    """Issue a bearer token for one device; only its hash is stored."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        device_id=device_id,
        token_sha256=_sha256(raw),
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]),
        device_key=secrets.token_hex(32),
        password_stamp=user.password_stamp,
    )
    db.session.add(token)
    audit("token.issue", "user", user.id, user=user, device_id=device_id)
    return raw, token


# The bearer check of every API request, built once: building it (and loading the token as an
# object besides its user) cost as much as running it. The user is the one object the request
# goes on with; of the token, only what decides whether it is live, and its device.
_LIVE_TOKEN = (
    select(User, ApiToken.device_id, ApiToken.revoked_at, ApiToken.expires_at,
           ApiToken.password_stamp)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("token_sha256"))
)


def resolve_token(raw: str, now: datetime | None = None) -> tuple[User, str]:
    """Return (user, device id) of the live token for a raw bearer value.

    Read from the database on every request (revoked, expired, the user deactivated or the
    password changed: the next request is refused, on any worker). Raises auth.token_invalid.
    """
    now = now or utcnow()
    row = db.session.execute(_LIVE_TOKEN, {"token_sha256": _sha256(raw)}).first()
    if row is None:
        raise ApiError("auth.token_invalid")
    user, device_id, revoked_at, expires_at, password_stamp = row
    if revoked_at is not None or expires_at <= now:
        raise ApiError("auth.token_invalid")
    if not still_holds(user, password_stamp):
        raise ApiError("auth.token_invalid")
    return user, device_id


def revoke_device_tokens(user: User, device_id: str, now: datetime | None = None) -> int:
    """Revoke every live token of one user's device; return how many were revoked."""
    now = now or utcnow()
    tokens = db.session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.device_id == device_id,
            ApiToken.revoked_at.is_(None),
        )
    ).all()
    for token in tokens:
        token.revoked_at = now
    audit("token.revoke", "user", user.id, user=user, device_id=device_id, count=len(tokens))
    return len(tokens)


def start_web_session(user: User, user_agent: str = "", now: datetime | None = None) -> str:
    """Open a page session for a user; return the random id the cookie carries."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    db.session.add(WebSession(user_id=user.id, sid_sha256=_sha256(raw),
                              password_stamp=user.password_stamp, created_at=now,
                              last_seen_at=now, user_agent=(user_agent or "")[:200]))
    audit("session.start", "user", user.id, user=user)
    return raw


def _session_limits() -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of a page session, from the configuration."""
    config = current_app.config
    return (timedelta(minutes=config["WEB_SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["WEB_SESSION_MAX_HOURS"]))


def still_holds(user: User, password_stamp: str) -> bool:
    """Whether a login begun under `password_stamp` still holds for its user: the account is
    active and its password unchanged since (a token, a page session, a phone's self sign-in
    key alike)."""
    return user.active and password_stamp == user.password_stamp


def web_session_live(row: WebSession, user: User, now: datetime) -> bool:
    """Whether a page session still opens the pages: not ended, same password, account active,
    used within WEB_SESSION_IDLE_MINUTES and begun within WEB_SESSION_MAX_HOURS."""
    idle, absolute = _session_limits()
    return (row.revoked_at is None and still_holds(user, row.password_stamp)
            and now - row.last_seen_at <= idle and now - row.created_at <= absolute)


def resolve_web_session(raw: str | None, user_id: str, now: datetime | None = None) -> User | None:
    """Return the user of a live page session (web_session_live), or None: the page then sends
    the browser to the login page as for a logged-out session."""
    if not raw:
        return None
    now = now or utcnow()
    row = db.session.scalar(select(WebSession).options(joinedload(WebSession.user))
                            .where(WebSession.sid_sha256 == _sha256(raw)))
    if row is None or str(row.user_id) != user_id or not web_session_live(row, row.user, now):
        return None
    if now - row.last_seen_at > min(_SEEN_EVERY, _session_limits()[0] / 2):
        row.last_seen_at = now
        db.session.commit()
    return row.user


def end_web_session(raw: str | None, now: datetime | None = None) -> None:
    """End one page session (logout); the cookie's id is worthless afterwards."""
    if not raw:
        return
    row = db.session.scalar(select(WebSession).where(WebSession.sid_sha256 == _sha256(raw)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit("session.end", "user", row.user_id)


def end_all_sessions(user: User, now: datetime | None = None, *, actor: User | None = None,
                     reason: str = "revoke_all") -> int:
    """End every page session and revoke every token of a user; return how many ended."""
    now = now or utcnow()
    ended = 0
    for model in (WebSession, ApiToken):
        rows = db.session.scalars(select(model).where(model.user_id == user.id,
                                                      model.revoked_at.is_(None))).all()
        for row in rows:
            row.revoked_at = now
        ended += len(rows)
    audit("session.end_all", "user", user.id, user=actor or user, reason=reason, count=ended)
    return ended


def change_password(user: User, new_password: str, *, actor: User | None = None,
                    current_password: str | None = None, ip: str | None = None,
                    now: datetime | None = None) -> None:
    """Set a new password and end every session and token of the user.

    With `current_password` (the user changing their own), it must pass check_password first,
    under the same limits as a login of that name (a token or page session is not a licence to
    guess): raises what check_password raises. Either way the name's failures are forgotten.
    """
    now = now or utcnow()
    if current_password is not None:
        check_password(user.username, user, current_password, now, ip)
    user.password_hash = hash_password(new_password)
    _clear_failures(user.username, now)
    end_all_sessions(user, actor=actor, reason="password_change")
    audit("user.password_change", "user", user.id, user=actor or user)


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Activate or deactivate an account; deactivation ends every session and token."""
    user.active = active
    if not active:
        end_all_sessions(user, actor=actor, reason="deactivated")
    audit("user.activate" if active else "user.deactivate", "user", user.id, user=actor)


def user_devices(user: User, now: datetime | None = None) -> dict[str, list[dict]]:
    """Return a user's devices (tokens by device id) and page sessions, newest first."""
    now = now or utcnow()
    devices: dict[str, dict] = {}
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.created_at.desc())):
        live = (token.revoked_at is None and token.expires_at > now
                and still_holds(user, token.password_stamp))
        entry = devices.setdefault(token.device_id, {
            "device_id": token.device_id, "last_login_at": token.created_at,
            "live_tokens": 0, "expires_at": None})
        if live:
            entry["live_tokens"] += 1
            if entry["expires_at"] is None or token.expires_at > entry["expires_at"]:
                entry["expires_at"] = token.expires_at
    sessions = [
        {"id": str(row.id), "created_at": row.created_at, "last_seen_at": row.last_seen_at,
         "user_agent": row.user_agent,
         "live": web_session_live(row, user, now)}
        for row in db.session.scalars(select(WebSession).where(WebSession.user_id == user.id)
                                      .order_by(WebSession.created_at.desc()))
    ]
    return {"devices": list(devices.values()), "sessions": sessions}
