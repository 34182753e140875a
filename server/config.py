"""Configuration: defaults in code, then environment variables, then test overrides."""

from __future__ import annotations

import os


class Config:
    """Defaults; every value can be overridden by an environment variable of the same name."""

    # The built-in value works only in debug and tests (server/security.py refuses it otherwise);
    # `make run` writes a random one to instance/secret_key, which create_app reads.
    SECRET_KEY = "dev-only-change-me"
    # None means an SQLite file in the instance folder (see create_app).
    DATABASE_URL: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Key for ID numbers at rest (AES-256-GCM) and the keyed look-up hash; base64, 32 bytes.
    # Empty means derived from SECRET_KEY, which is fine for the demo, not for production.
    PII_KEY = ""
    # Key that signs trainees' QR badges (PEM, Ed25519 private key); empty: derived from SECRET_KEY.
    BADGE_SIGNING_KEY = ""
    # Key that signs yearly archive manifests (PEM, Ed25519 private key); empty: derived from
    # SECRET_KEY.
    ARCHIVE_SIGNING_KEY = ""
    MEDIA_DIR: str | None = None  # None: <instance>/media
    # Where media live: "local" (MEDIA_DIR) or "s3" (any S3-compatible store; credentials from
    # the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables).
    MEDIA_STORAGE = "local"
    S3_ENDPOINT_URL = ""  # empty: AWS itself
    S3_BUCKET = ""
    S3_REGION = "us-east-1"
    MEDIA_MAX_BYTES = 20 * 1024 * 1024
    # Largest image canvas accepted (width × height, from the header): a phone photo is ≤ 50 MP.
    MEDIA_MAX_PIXELS = 64_000_000
    UPLOAD_EXPIRY_HOURS = 24
    # Unfinished uploads one account may hold at once (a day of photos is a few hundred).
    MEDIA_MAX_OPEN_UPLOADS = 500
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    TOKEN_TTL_HOURS = 24 * 14
    CLASS_HOUR_MINUTES = 45  # one 学时 (R6)
    GPS_MAX_ACCURACY_M = 200.0  # a fix worse than this cannot verify the place
    CLOCK_SKEW_MINUTES = 10
    # A GPS fix, photo or sign-in captured further than this outside its visit cannot verify it.
    EVIDENCE_TOLERANCE_MINUTES = 15
    # How long the field app keeps acknowledged evidence (to re-send it after a server restore).
    PHONE_KEEP_DAYS = 30
    ATTENDANCE_MIN_RATE = 0.9
    TIMEZONE = "Asia/Shanghai"
    RETENTION_YEARS = 5
    PASSWORD_HASH_METHOD = "scrypt"
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    # Across accounts: this many failed logins from one address within the window → 429.
    LOGIN_IP_MAX_FAILURES = 30
    LOGIN_IP_WINDOW_MINUTES = 10
    # Reverse proxies in front of the app (nginx: 1) whose X-Forwarded-For/-Proto are trusted,
    # so the per-address login limit sees the phone's address, not the proxy's. 0: none.
    TRUSTED_PROXIES = 0
    # A page session (reviewers and bases at a desk) ends on the server after this long unused,
    # and this long after its login however busy: two hours idle outlasts a lunch break or a
    # meeting; twelve hours covers the longest working day, so nobody is sent to the login page
    # mid-task, while a session left open on a shared office computer is dead by the next morning.
    # The phone's bearer tokens have their own lifetime (TOKEN_TTL_HOURS).
    WEB_SESSION_IDLE_MINUTES = 120
    WEB_SESSION_MAX_HOURS = 12
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # True behind HTTPS in production
    WTF_CSRF_TIME_LIMIT = None

    _INT = {
        "MEDIA_MAX_BYTES", "MEDIA_MAX_PIXELS", "MEDIA_MAX_OPEN_UPLOADS", "UPLOAD_EXPIRY_HOURS",
        "MAX_CONTENT_LENGTH", "TOKEN_TTL_HOURS",
        "CLASS_HOUR_MINUTES", "CLOCK_SKEW_MINUTES", "RETENTION_YEARS",
        "LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_MINUTES", "LOGIN_IP_MAX_FAILURES",
        "LOGIN_IP_WINDOW_MINUTES", "TRUSTED_PROXIES", "EVIDENCE_TOLERANCE_MINUTES",
        "PHONE_KEEP_DAYS", "WEB_SESSION_IDLE_MINUTES", "WEB_SESSION_MAX_HOURS",
    }
    _FLOAT = {"GPS_MAX_ACCURACY_M", "ATTENDANCE_MIN_RATE"}
    _BOOL = {"SESSION_COOKIE_SECURE"}

    @classmethod
    def from_environment(cls) -> dict:
        """Return the defaults with any environment variable of the same name applied."""
        values = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        for key in list(values):
            raw = os.environ.get(key)
            if raw is None:
                continue
            if key in cls._INT:
                values[key] = int(raw)
            elif key in cls._FLOAT:
                values[key] = float(raw)
            elif key in cls._BOOL:
                values[key] = raw.lower() in {"1", "true", "yes"}
            else:
                values[key] = raw
        return values
