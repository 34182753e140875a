"""Security headers, session cookies and the Flask-Login user loader."""

from __future__ import annotations

import uuid

from flask import Flask

from server.extensions import db, login_manager

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def init_security(app: Flask) -> None:
    """Add security headers to every response and wire Flask-Login."""
    login_manager.login_view = "web.login"

    @login_manager.user_loader
    def load_user(user_id: str):
        from server.models import User

        try:
            return db.session.get(User, uuid.UUID(user_id))
        except ValueError:
            return None

    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
