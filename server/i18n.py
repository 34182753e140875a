"""Message catalogues: Simplified Chinese first, English by switch (?lang=en or the `lang` cookie)."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from flask import Flask, has_request_context, request

from server.services.clock import format_local

LANGUAGES = ("zh", "en")
_MESSAGES_DIR = Path(__file__).parent / "messages"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Return the message catalogue of one language: every messages/<lang>/*.json merged."""
    merged: dict[str, str] = {}
    for path in sorted((_MESSAGES_DIR / lang).glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            merged.update(json.load(fh))
    return merged


def current_language() -> str:
    """Return the language of this request: query, then cookie, then Chinese."""
    if not has_request_context():
        return "zh"  # commands and documents made outside a request: Chinese first
    # Kept on the request, not on `g`: an app context (and its `g`) may outlive one request.
    lang = request.environ.get("spotcheck.lang")
    if lang:
        return lang
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    lang = lang if lang in LANGUAGES else "zh"
    request.environ["spotcheck.lang"] = lang
    return lang


def translate(key: str, **values: object) -> str:
    """Return the message for key in the current language (Chinese, then the key, as fallback)."""
    lang = current_language()
    text = catalogue(lang).get(key) or catalogue("zh").get(key) or key
    return text.format(**values) if values else text


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware UTC time for people, in local time (the TIMEZONE setting)."""
    return format_local(value, fmt)


def local_date(value: date | None) -> str:
    """Format a date for people."""
    return value.isoformat() if value else ""


def init_i18n(app: Flask) -> None:
    """Expose `_`, `local_time` and the language to templates; remember a language switch."""
    app.jinja_env.globals.update(_=translate, current_language=current_language)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date

    @app.after_request
    def remember_language(response):
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
