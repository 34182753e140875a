"""JSON on the server's edges, through orjson: request bodies, responses, JSON columns.

The push and pull bodies are the hot path (docs/PERFORMANCE.md, issue 15): orjson parses and
writes them several times faster than the standard library. Behaviour kept from Flask's
default provider: sorted keys, datetimes as HTTP dates and anything else it knows (Decimal,
dataclasses, `__html__`) through its `default`. Differences, all stricter or equivalent:
- NaN and Infinity are not JSON: a body holding them does not parse (a 4xx, as any bad body);
- integers beyond 64 bits do not parse (no field of the contract holds one);
- non-ASCII text is written as UTF-8, not as \\u escapes (the same JSON value).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

_WRITE = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
          | orjson.OPT_PASSTHROUGH_DATACLASS)
_COLUMN = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider (app.json) with orjson underneath; same output values."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize to str; an explicit json.dumps argument (indent...) takes Flask's path."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=self.default, option=_WRITE).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a body; raises orjson.JSONDecodeError (a ValueError) on anything not JSON."""
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A compact JSON response, written as bytes (no str round trip)."""
        obj = self._prepare_response_obj(args, kwargs)
        # Flask's rule: indented when compact is False, or unset in debug.
        indent = (self.compact is None and self._app.debug) or self.compact is False
        option = _WRITE | (orjson.OPT_INDENT_2 if indent else 0)
        body = orjson.dumps(obj, default=self.default, option=option | orjson.OPT_APPEND_NEWLINE)
        return self._app.response_class(body, mimetype=self.mimetype)


def column_dumps(value: Any) -> str:
    """A JSON column's value as text (SQLAlchemy's json_serializer)."""
    return orjson.dumps(value, option=_COLUMN).decode()


def engine_options() -> dict[str, Any]:
    """SQLAlchemy engine options that read and write JSON columns with orjson."""
    return {"json_serializer": column_dumps, "json_deserializer": orjson.loads}


def init_json(app: Flask) -> None:
    """Install the provider on the app (called once by create_app, before any request)."""
    app.json = OrjsonProvider(app)
