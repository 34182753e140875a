"""Server-rendered pages for reviewers and base staff (Chinese first), one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from server.web import auth, bureau, documents, filing, pwa, selfsignin
from server.web.forms import init_forms

# In registration order; each module's `bp` is a Blueprint.
BLUEPRINTS = [auth.bp, filing.bp, bureau.bp, documents.bp, pwa.bp, selfsignin.bp]


def register_web(app: Flask) -> None:
    """Register every page blueprint, and what refused forms need on the page they return to."""
    init_forms(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
