"""Server-rendered pages for reviewers and base staff (Chinese first), one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from server.web import auth, bureau, documents, filing, pwa, selfsignin

# In registration order; each module's `bp` is a Blueprint.
BLUEPRINTS = [auth.bp, filing.bp, bureau.bp, documents.bp, pwa.bp, selfsignin.bp]


def register_web(app: Flask) -> None:
    """Register every page blueprint."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
