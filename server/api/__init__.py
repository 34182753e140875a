"""The JSON API under /api/v1: one blueprint per concern, all thin."""

from __future__ import annotations

from flask import Flask

from server.api import auth, bureau, filing, media, openapi, sync, trainees, visits
from server.extensions import csrf

# In registration order; each is mounted under /api/v1.
BLUEPRINTS = [auth.bp, auth.users_bp, bureau.bp, openapi.bp, sync.bp, visits.bp, filing.bp,
              media.bp, trainees.bp]


def register_api(app: Flask) -> None:
    """Mount every API blueprint under /api/v1; bearer-token APIs need no CSRF token."""
    for blueprint in BLUEPRINTS:
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
