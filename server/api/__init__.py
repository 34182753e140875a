"""The JSON API under /api/v1: one blueprint per concern, all thin."""

from __future__ import annotations

import importlib

from flask import Blueprint, Flask

from server.extensions import csrf

# Each module defines `bp`, a Blueprint mounted under /api/v1.
API_MODULES = [
    "server.api.auth",
    "server.api.bureau",
    "server.api.openapi",
    "server.api.sync",
    "server.api.visits",
    "server.api.filing",
    "server.api.media",
    "server.api.trainees",
]


def register_api(app: Flask) -> None:
    """Mount every API blueprint under /api/v1; bearer-token APIs need no CSRF token."""
    for name in API_MODULES:
        module = importlib.import_module(name)
        blueprint: Blueprint = module.bp
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
