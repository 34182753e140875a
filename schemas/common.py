"""Shared schema pieces: strict base class, clean text, strict JSON numbers, calendar dates in
real years, UTC datetimes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class StrictSchema(Schema):
    """Unknown fields are rejected, never silently dropped."""

    class Meta:
        unknown = RAISE


# C0 controls, DEL and C1 controls. Free text may hold tab, newline and carriage return
# (a browser sends a textarea's line breaks as CR LF).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# One-line values (names, codes, addresses) also refuse the Unicode format characters (category
# Cf: zero-width space and joiners, bidi overrides such as U+202E, the BOM, soft hyphen...) and
# the line and paragraph separators (Zl, Zp): a name holding one reads differently on a page, a
# PDF or an export from what is stored, or never matches what the trainee types at sign-in.
# Listed as of Unicode 15 (tests/sync/test_clean_input.py checks that every such character of
# the running Python's Unicode is here); a regex, so the fast load path (schemas/fastload.py)
# uses it as is.
# Free text keeps them: an emoji sequence in a finding is joined by U+200D.
_INVISIBLE = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
              "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
              "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
              "\U000e0020-\U000e007f")
_CONTROL_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# JSON bodies nested deeper than this are refused before they are parsed (400 json.too_deep).
MAX_JSON_DEPTH = 32


def has_control_characters(value: str, multiline: bool = False) -> bool:
    """True when a string holds a control character it may not hold."""
    return (_CONTROL if multiline else _CONTROL_ONE_LINE).search(value) is not None


def find_unclean(value: Any, depth: int = 0) -> str | None:
    """Return why a decoded JSON value cannot be stored (a control character, too deep), or None."""
    if depth > MAX_JSON_DEPTH:
        return "too_deep"
    if isinstance(value, str):
        return "control_character" if has_control_characters(value, multiline=True) else None
    if isinstance(value, float) and not math.isfinite(value):
        return "not_finite"
    if isinstance(value, Mapping):
        for key, item in value.items():
            why = find_unclean(key, depth + 1) or find_unclean(item, depth + 1)
            if why:
                return why
    elif isinstance(value, list | tuple):
        for item in value:
            why = find_unclean(item, depth + 1)
            if why:
                return why
    return None


class Text(fields.String):
    """The one text field of every input: no NUL or other control characters.

    One-line values (names, codes, addresses) refuse every control character and every
    invisible format or separator character (Unicode Cf, Zl, Zp); free text (`multiline=True`:
    findings, reasons, notes) refuses the control characters only, and keeps tab and line breaks.
    """

    default_error_messages = {"control": "Control characters are not allowed."}

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if has_control_characters(result, self.multiline):
            raise self.make_error("control")
        return result


class JsonFloat(fields.Float):
    """A JSON number, never a string or a boolean (the stored value keeps its JSON type)."""

    default_error_messages = {"type": "Must be a JSON number."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_nan", False)
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


# Number.MAX_SAFE_INTEGER: the largest integer a phone's JavaScript holds exactly (a larger one
# would come back from the server as another number), and well inside the database's 64-bit
# integers (a larger one is an OverflowError when bound). No count, seq or byte size comes near.
MAX_SAFE_INTEGER = 2**53 - 1


class JsonInteger(fields.Integer):
    """A JSON integer, never a string, a boolean or a float; at most 2**53 - 1 either side of 0.

    The bound is a Range validator ahead of the field's own, so the fast load path checks it
    inline like any Range.
    """

    default_error_messages = {"type": "Must be a JSON integer."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["strict"] = True
        super().__init__(*args, **kwargs)
        self.validators.insert(0, validate.Range(min=-MAX_SAFE_INTEGER, max=MAX_SAFE_INTEGER))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A JSON true or false, never "true", 1 or "yes"."""

    default_error_messages = {"type": "Must be true or false."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("type")
        return value


class CleanDict(fields.Dict):
    """A JSON object kept as received, refused when it holds control characters or nests too deep.
    """

    default_error_messages = {"unclean": "Holds control characters or nests too deeply."}

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if find_unclean(result):
            raise self.make_error("unclean")
        return result


# Dates people give (plan days, draw periods, filters, deadlines) are in real years. The bound
# also keeps the date arithmetic done with them (the day after, a local day's start in UTC,
# repeat_days) inside what Python's datetime holds: 9999-12-31 + 1 day is an OverflowError.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


class CalendarDate(fields.Date):
    """An ISO 8601 calendar date (YYYY-MM-DD) from `earliest` (2000-01-01) to 2100-12-31.

    A date outside is a validation error (422). `earliest` is for older facts (a certificate's
    issue date).
    """

    def __init__(self, *, earliest: date = FIRST_DAY, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(min=earliest, max=LAST_DAY))


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 time with a zone on the way in, UTC with `Z` on the way out.

    A time whose UTC falls outside years 1..9999 (0001-01-01T00:00:00+01:00) is invalid (422).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or has_control_characters(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            return result.astimezone(UTC)
        except (OverflowError, ValueError) as error:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from error

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ListOrEmpty(fields.List):
    """A list that dumps as [] where the attribute is not set yet (None)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize([] if value is None else value, attr, obj, **kwargs)


class OneOfShapes(fields.Raw):
    """A value already dumped by one of `shapes`; the OpenAPI document lists them (anyOf)."""

    def __init__(self, shapes: tuple[type[Schema], ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shapes = shapes


class ErrorSchema(Schema):
    """The one error shape of every 4xx and 5xx response."""

    code = fields.String(required=True, metadata={"description": "stable code from the catalogue"})
    message = fields.String(required=True)
    errors = fields.Raw(metadata={"description": "field errors, by field name"})
    details = fields.Dict()


def load_or_422(schema: Schema, data: Any) -> Any:
    """Load data through a schema; a non-object body is a validation error, not a crash."""
    if data is None:
        raise ValidationError({"_schema": ["request body must be JSON"]})
    return schema.load(data)
