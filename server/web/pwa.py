"""Serve the built field app (pwa/dist) at /app/, with its service worker at /app/sw.js."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, current_app, redirect, send_from_directory

from server.errors import ApiError

bp = Blueprint("pwa", __name__, url_prefix="/app")

DEFAULT_DIST = Path(__file__).resolve().parents[2] / "pwa" / "dist"
MIME_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".json": "application/json",
}


def dist_dir() -> Path:
    """Return the folder of the built shell (PWA_DIST_DIR lets tests serve a changed build)."""
    configured = current_app.config.get("PWA_DIST_DIR") or os.environ.get("PWA_DIST_DIR")
    return Path(configured) if configured else DEFAULT_DIST


def _send(name: str):
    """Send one shell file; always revalidated, since the service worker does the caching."""
    folder = dist_dir()
    if not (folder / "index.html").is_file():
        raise ApiError("not_found", "pwa.not_built")
    response = send_from_directory(folder, name, mimetype=MIME_TYPES.get(Path(name).suffix),
                                   max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    if name == "sw.js":
        # The worker script itself must never come from the HTTP cache, or updates stall.
        response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
        response.headers["Service-Worker-Allowed"] = "/app/"
    return response


@bp.get("")
def app_root():
    """Redirect /app to /app/ so relative shell URLs resolve under the worker's scope."""
    return redirect("/app/", code=308)


@bp.get("/")
def shell():
    """Return the app shell."""
    return _send("index.html")


def _is_built_file(name: str) -> bool:
    """Whether `name` is a file of the build (404 for a name the system cannot look up at all).

    Path.is_file() passes on only some OSErrors: a name over the file system's limit
    (ENAMETOOLONG), say, would be a 500; no such name is a file or a route of the shell.
    """
    try:
        return (dist_dir() / name).is_file()
    except (OSError, ValueError) as error:
        raise ApiError("not_found") from error


@bp.get("/<path:name>")
def asset(name: str):
    """Return a built file; unknown extension-less paths get the shell (client-side routes)."""
    if _is_built_file(name):
        return _send(name)
    if "." not in Path(name).name:
        return _send("index.html")
    raise ApiError("not_found")
