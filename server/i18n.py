"""The one message catalogue: Simplified Chinese first, English by switch.

Services, the judge and the sync protocol speak in codes with parameters; this module turns a
code into text for people, in the request's language, at the edge (pages, API `message`
fields, PDF). Namespaces in the catalogue (server/messages/<lang>/*.json):
`error.<code>` rejections and API errors, `flag.<code>` flags on visits and sign-ins,
`check.<code>` the judge's reasons, `finding.<code>` the inspector's findings, `rule.<code>`
filing rules, `field.<key>` what is wrong with one field of a request (errors.field_error).
Nothing parses a rendered message back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path

from flask import Flask, has_request_context, request

from server.services.clock import format_local
from sync.judge import shown_min_rate

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


def _accepted_language() -> str | None:
    """For API calls only: the Accept-Language the field app sets from its own switch.

    Pages ignore it (a browser's default English must not turn a Chinese-first page English).
    """
    if not request.path.startswith("/api/"):
        return None
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"])
    return "en" if best == "en" else ("zh" if best else None)


def current_language() -> str:
    """Return the language of this request: query, cookie, (API) Accept-Language, then Chinese."""
    if not has_request_context():
        return "zh"  # commands and documents made outside a request: Chinese first
    # Kept on the request, not on `g`: an app context (and its `g`) may outlive one request.
    lang = request.environ.get("spotcheck.lang")
    if lang:
        return lang
    lang = request.args.get("lang") or request.cookies.get("lang") or _accepted_language() or "zh"
    lang = lang if lang in LANGUAGES else "zh"
    request.environ["spotcheck.lang"] = lang
    return lang


def translate(key: str, **values: object) -> str:
    """Return the message for key in the current language (Chinese, then the key, as fallback)."""
    lang = current_language()
    text = catalogue(lang).get(key) or catalogue("zh").get(key) or key
    return text.format(**values) if values else text


class _Params(dict):
    """Message parameters; one the catalogue asks for but the caller lacks reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


def has_message(key: str) -> bool:
    """Tell whether the catalogue has a message for key (in Chinese, the reference language)."""
    return key in catalogue("zh")


def _value(value: object, lang: str) -> object:
    """Render one parameter: a list is joined, codes in it read as their flag's words."""
    if isinstance(value, list | tuple):
        words = [message(f"flag.{v}", lang=lang) if isinstance(v, str) and has_message(f"flag.{v}")
                 else str(v) for v in value]
        return ("、" if lang == "zh" else ", ").join(words)
    return value


def message(key: str, params: Mapping[str, object] | None = None, *,
            lang: str | None = None) -> str:
    """Render a catalogue message (key = namespace.code) with its parameters for people.

    Never returns the key itself: a key the catalogue lacks (only ever in old stored data;
    tests/foundation/test_messages.py keeps every emitted code in the catalogue) reads as
    a neutral phrase.
    """
    lang = lang or current_language()
    text = catalogue(lang).get(key) or catalogue("zh").get(key)
    if text is None:
        return catalogue(lang)["message.unknown"]
    values = _Params({k: _value(v, lang) for k, v in (params or {}).items()})
    return text.format_map(values)


def error_text(code: str, params: Mapping[str, object] | None = None, *,
               lang: str | None = None) -> str:
    """The words of a rejection or API error code."""
    return message(f"error.{code}", params, lang=lang)


def flag_text(code: str, params: Mapping[str, object] | None = None, *,
              lang: str | None = None) -> str:
    """The words of a flag on a visit or sign-in (a flag is a code, or {code, details})."""
    return message(f"flag.{code}", params, lang=lang)


def visit_flag_text(code: str, checks: Mapping[str, object] | None, *,
                    lang: str | None = None) -> str:
    """A visit's flag in words, with its figures when the attendance reconciliation gave some.

    e.g. "出勤率不足（到课 2/10 人，要求 90%）" instead of the bare label.
    """
    lang = lang or current_language()
    label = flag_text(code, lang=lang)
    reconciliation = checks.get("reconciliation") if isinstance(checks, Mapping) else None
    findings = reconciliation.get("findings") if isinstance(reconciliation, Mapping) else None
    for finding in findings or []:
        if isinstance(finding, Mapping) and finding.get("code") == code \
                and has_message(f"flag_detail.{code}"):
            details = dict(finding.get("details") or {})
            if isinstance(details.get("min_rate"), int | float):
                details["min_rate"] = shown_min_rate(float(details["min_rate"]))
            detail = message(f"flag_detail.{code}", details, lang=lang)
            return f"{label}（{detail}）" if lang == "zh" else f"{label} ({detail})"
    return label


def finding_text(finding: Mapping[str, object], *, lang: str | None = None) -> str:
    """The words of an inspector's finding: its catalogue label, and the note typed for `note`.

    A code the catalogue does not know (a finding from an older app) shows the words the
    inspector saw when recording it.
    """
    code = str(finding.get("code") or "note")
    text = str(finding.get("text") or "").strip()
    if not has_message(f"finding.{code}"):
        return text or message("message.unknown", lang=lang)
    label = message(f"finding.{code}", lang=lang)
    return f"{label}：{text}" if code == "note" and text else label


def check_text(check: Mapping[str, object] | None, *, lang: str | None = None) -> str:
    """The judge's reasons for one check, joined; a check stored before codes shows its sentence."""
    if not isinstance(check, Mapping):
        return ""
    lang = lang or current_language()
    reasons = check.get("reasons")
    if isinstance(reasons, list):
        parts = [message(f"check.{r.get('code')}", r.get("params") or {}, lang=lang)
                 for r in reasons if isinstance(r, Mapping)]
        return ("；" if lang == "zh" else "; ").join(parts)
    # Rows judged before reasons were codes kept a sentence: shown as it was written.
    return str(check.get("reason") or "")


def check_codes(check: Mapping[str, object] | None) -> list[str]:
    """The reason codes of one check (empty for a check stored before codes)."""
    reasons = check.get("reasons") if isinstance(check, Mapping) else None
    return [str(r.get("code")) for r in reasons or [] if isinstance(r, Mapping)]


def check_words(check: Mapping[str, object]) -> dict[str, object]:
    """A stored check for an answer: its figures, `reason` in words and its reason `codes`."""
    return {**check, "reason": check_text(check), "codes": check_codes(check)}


def codes_of(namespace: str) -> list[str]:
    """Every code the catalogue words under a namespace (e.g. the flags, for a filter's choices)."""
    prefix = f"{namespace}."
    return sorted(k[len(prefix):] for k in catalogue("zh") if k.startswith(prefix))


def join_words(items: Iterable[str], *, lang: str | None = None) -> str:
    """Join words for people: 、 in Chinese, a comma in English."""
    return ("、" if (lang or current_language()) == "zh" else ", ").join(items)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware UTC time for people, in local time (the TIMEZONE setting)."""
    return format_local(value, fmt)


def local_date(value: date | None) -> str:
    """Format a date for people."""
    return value.isoformat() if value else ""


def init_i18n(app: Flask) -> None:
    """Expose `_`, `local_time` and the language to templates; remember a language switch."""
    app.jinja_env.globals.update(_=translate, current_language=current_language, message=message,
                                 has_message=has_message,
                                  codes_of=codes_of)
    app.jinja_env.filters["flag_text"] = flag_text
    app.jinja_env.filters["visit_flag_text"] = visit_flag_text
    app.jinja_env.filters["finding_text"] = finding_text
    app.jinja_env.filters["check_text"] = check_text
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date

    @app.after_request
    def remember_language(response):
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
