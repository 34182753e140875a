"""Forms that keep your work: a refused form's values and its errors, in words, at each field.

On a refused post the page handlers call `keep_refused_form`: it stores what was typed (never a
password or a CSRF token) and each field's error, said in words, in the session, keyed by the
form's action. The page it redirects to shows them once: `static/forms.js` puts every value
back and each error under its field (the page carries them in a `data-` attribute: the CSP
allows no inline script).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request, session
from markupsafe import Markup, escape
from marshmallow import Schema, fields

from schemas.common import JsonBoolean, JsonFloat, JsonInteger
from server.i18n import translate

_KEY = "refused_form"
# An ID number is never kept: the session is a signed, not encrypted, cookie (PIPL).
_NEVER_KEPT = {"csrf_token", "password", "password2", "token", "id_number", "current_password",
               "new_password"}
# The state rides in the session cookie (4 KB): long texts are kept only in part.
_MAX_KEPT_CHARS = 1500
# marshmallow's own messages, said for people; anything else (the services' own, already in
# the catalogue's words) is shown as written.
_WORDS = (
    (re.compile(r"^Missing data for required field"), "form.err.required"),
    (re.compile(r"^Field may not be null"), "form.err.required"),
    (re.compile(r"^Not a valid date"), "form.err.date"),
    (re.compile(r"^Not a valid (time|datetime)"), "form.err.time"),
    (re.compile(r"^Not a valid (integer|number)|^Must be a JSON (number|integer)"),
     "form.err.number"),
    (re.compile(r"^Must be one of|^Not a valid UUID"), "form.err.choose"),
    (re.compile(r"^(Length must be between|Longer than maximum length|Shorter than minimum)"),
     "form.err.length"),
    (re.compile(r"^Must be (greater|less) than|^Must be between"), "form.err.range"),
    (re.compile(r"^Unknown field"), "form.err.unknown"),
    (re.compile(r"^Must not be before the start date"), "field.period.reversed"),
)


def _typed(field: fields.Field, text: str) -> Any:
    """One posted text as the value the field takes (text that is no number stays text)."""
    try:
        if isinstance(field, JsonInteger):
            return int(text.strip())
        if isinstance(field, JsonFloat):
            return float(text.strip())
    except ValueError:
        pass
    return text


def form_values(schema: Schema) -> dict[str, Any]:
    """The one conversion step of a posted form: its text as the values the API's schema takes.

    The schemas take JSON types only (a number sent as "12" is refused, never coerced); a form
    posts text. Here, and only here, a page's form becomes what its JSON twin would send, then
    the same schema validates it: an empty field is not given, a number field's text becomes a
    number (text that is no number stays text, so the schema refuses it as it would from the
    API), a true/false field is a checkbox (true when posted), a list field takes every value
    posted under its name. The CSRF token is the form's own (checked before the view runs) and
    never reaches the schema; any other unexpected name does, and is refused as unknown.
    """
    data: dict[str, Any] = {}
    known = set()
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        known.add(key)
        if isinstance(field, JsonBoolean):
            data[key] = key in request.form
        elif isinstance(field, fields.List):
            values = [_typed(field.inner, v) for v in request.form.getlist(key) if v.strip()]
            if values:
                data[key] = values
        elif (text := request.form.get(key, "")).strip():
            data[key] = _typed(field, text)
    for key, text in request.form.items():
        if key not in known and key != "csrf_token" and text.strip():
            data[key] = text
    return data


def in_words(message: str) -> str:
    """Say a validation message for people (no field names, no library wording)."""
    for pattern, key in _WORDS:
        if pattern.search(message):
            return translate(key)
    return message


def _flatten(errors: Any) -> list[str]:
    if isinstance(errors, dict):
        return [m for v in errors.values() for m in _flatten(v)]
    if isinstance(errors, list | tuple):
        return [m for v in errors for m in _flatten(v)]
    return [str(errors)]


def keep_refused_form(errors: dict[str, Any] | None) -> str:
    """Remember the posted values and each field's errors in words; return the words for a flash."""
    by_field = {name: [in_words(m) for m in _flatten(messages)]
                for name, messages in (errors or {}).items()}
    values: dict[str, Any] = {}
    for name in request.form:
        if name in _NEVER_KEPT:
            continue
        items = [v[:_MAX_KEPT_CHARS] for v in request.form.getlist(name)]
        values[name] = items if len(items) > 1 else items[0]
    session[_KEY] = {"action": request.path, "values": values, "errors": by_field}
    return "；".join(dict.fromkeys(m for ms in by_field.values() for m in ms))


def refused_form_attribute() -> Markup:
    """The `data-refused-form` attribute for the page a refused form came back to (once)."""
    state = session.pop(_KEY, None)
    if not state:
        return Markup("")
    return Markup(f' data-refused-form="{escape(json.dumps(state, ensure_ascii=False))}"')


def init_forms(app: Flask) -> None:
    """Expose the refused form's state to the templates."""
    app.jinja_env.globals["refused_form_attribute"] = refused_form_attribute
