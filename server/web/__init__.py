"""Server-rendered pages for reviewers and base staff (Chinese first), one blueprint per concern."""

from __future__ import annotations

import importlib

from flask import Flask

# Each module defines `bp`, a Blueprint.
WEB_MODULES = [
    "server.web.auth",
    "server.web.filing",
    "server.web.bureau",
    "server.web.documents",
    "server.web.pwa",
    "server.web.selfsignin",
]


def register_web(app: Flask) -> None:
    """Register every page blueprint."""
    for name in WEB_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
