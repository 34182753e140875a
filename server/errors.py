"""One catalogue of error codes and one JSON error shape: {code, message, errors?, details?}."""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from schemas.common import MAX_JSON_DEPTH, ErrorSchema
from server.extensions import db
from server.i18n import error_text, translate

# code -> HTTP status. The words are in the catalogue (server/messages/<lang>/errors.json,
# key `error.<code>`), rendered in the request's language when the error is answered.
CATALOGUE: dict[str, int] = {
    "validation_error": 422,
    "bad_request": 400,
    "json.too_deep": 400,
    "csrf_failed": 400,
    "auth.required": 401,
    "auth.invalid_credentials": 401,
    "auth.token_invalid": 401,
    "auth.locked": 429,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal_error": 500,
    "plan.not_editable": 409,
    "plan.invalid_transition": 409,
    "plan.has_violations": 422,
    "plan.filed_fact": 409,
    "plan.reason_required": 422,
    "base.revoked": 409,
    "sync.reset": 409,
    "sync.bad_cursor": 400,
    "sync.device_mismatch": 403,
    "sync.busy": 503,
    "sync.gap": 409,
    "sync.unknown_type": 422,
    "sync.mutation_reused": 409,
    "sync.seq_reused": 409,
    "sync.conflict": 409,
    "sync.unstorable": 422,
    "visit.seal_mismatch": 422,
    "visit.unknown_class": 422,
    "visit.unknown_plan_version": 422,
    "visit.unknown_session": 422,
    "visit.unknown_assignment": 422,
    "visit.unknown_supersedes": 422,
    "visit.foreign_media": 422,
    "visit.exists": 409,
    "visit.duplicate_session": 200,
    "plan.outdated": 200,
    "visit.implausible_time": 200,
    "evidence.stale": 200,
    "clock.skew": 200,
    "signin.unknown_trainee": 422,
    "signin.unknown_class": 422,
    "media.offset_mismatch": 409,
    "media.checksum_mismatch": 460,
    "media.too_large": 413,
    "media.unsupported_type": 415,
    "media.expired": 410,
    "media.tus_version": 412,
    "signin.badge_invalid": 422,
    "signin.code_invalid": 400,
    "signin.code_expired": 410,
    "signin.form_expired": 410,
    "signin.not_on_roster": 422,
    "media.hash_mismatch": 460,
    "draw.not_enough_inspectors": 422,
    "draw.nothing_to_draw": 422,
    "draw.already_drawn": 409,
    "review.invalid_state": 409,
    "assessment.not_enrolled": 422,
    "archive.invalid": 422,
    "spreadsheet.too_large": 413,
    "spreadsheet.too_many_rows": 422,
    "spreadsheet.cell_too_long": 422,
    "spreadsheet.cell_unclean": 422,
}


class ApiError(Exception):
    """An error with a catalogue code; rendered as the one JSON error shape.

    `key` names a more specific message than the code's own (a code under `error.` in the
    catalogue); `params` fill it. The message is rendered when read, in the request's language.
    """

    def __init__(
        self,
        code: str,
        key: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        errors: dict | list | None = None,
        details: dict | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(key or code)
        self.code = code
        self.key = key or code
        self.params = params or {}
        self.errors = errors
        self.details = details
        self.status = status or CATALOGUE.get(code, 400)

    @property
    def message(self) -> str:
        """The words for people, in the current language."""
        return error_text(self.key, self.params)

    def body(self) -> dict[str, Any]:
        """Return the JSON body of this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        if self.details:
            body["details"] = self.details
        return body


def field_error(field: str, key: str, *, code: str = "validation_error",
                **params: Any) -> ApiError:
    """An error naming what is wrong with one field, in the words of the request's language.

    key: a `field.*` message of the catalogue (server/messages/<lang>/fields.json), filled with
    params; the words are the `errors` member's: {field: [words]}. A service raises this rather
    than writing its words in Chinese, so the English switch reads English (the page's flash and
    the API's `errors` alike).
    """
    return ApiError(code, errors={field: [translate(key, **params)]})


_HTTP_CODES = {
    400: "bad_request", 401: "auth.required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 429: "rate_limited",
}


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path.startswith("/s/api"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" or request.is_json


def error_response(error: ApiError) -> Response | tuple[Any, int]:
    """Render an ApiError as JSON for the API and as a page for people."""
    if _wants_json():
        response = jsonify(ErrorSchema().dump(error.body()))
        response.status_code = error.status
        return response
    return render_template("error.html", error=error), error.status


# What is left of a JSON text once escapes and everything but quotes and brackets are removed:
# a string is a quote, the brackets it held, a quote.
_BARE_STRING = re.compile(rb'"[^"]*"')
_NOT_QUOTES_OR_BRACKETS = bytes(b for b in range(256) if b not in b'[]{}"')
# Every bracket as a brace: valid JSON nests its brackets properly, whichever kind they are.
_ONE_KIND = bytes.maketrans(b"[]", b"{}")
# An opening bracket as the signed byte +1, a closing one as -1.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(body: bytes, limit: int) -> int:
    """Return how deeply a JSON text nests (at least limit + 1 when deeper), without parsing it.

    Exact for valid JSON (what a parser would go on to read): escaped backslashes, then escaped
    quotes are dropped (outside strings JSON has no backslash), then every byte but quotes and
    brackets. What is left of the strings goes: first every `""` (an empty string, or the end of
    one string and the start of the next with nothing between them: merging them changes no
    nesting), then the strings that held brackets. The depth is then how many times the
    innermost pairs (`{}` or `[]`, nothing between) can be removed until nothing is left: one
    pass per level, at most limit + 1 of them. Brackets that do not pair up (not valid JSON)
    are counted as the highest running sum (+1 opening, -1 closing). Every step runs in C: a
    push of 100 sign-ins (70 kB) takes about 0.05 ms.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    bare = body.translate(None, _NOT_QUOTES_OR_BRACKETS).replace(b'""', b"")
    brackets = _BARE_STRING.sub(b"", bare) if b'"' in bare else bare
    nest, depth = brackets.translate(_ONE_KIND), 0
    while nest and depth <= limit:
        inner_removed = nest.replace(b"{}", b"")
        if len(inner_removed) == len(nest):
            return max(0, max(accumulate(memoryview(brackets.translate(_STEPS)).cast("b"))))
        nest, depth = inner_removed, depth + 1
    return depth


def refuse_deep_json() -> None:
    """Refuse a JSON body nested deeper than MAX_JSON_DEPTH before anything parses it."""

    if request.is_json and request.content_length != 0:
        if json_depth(request.get_data(cache=True), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ApiError("json.too_deep")


def register_error_handlers(app: Flask) -> None:
    """Route every error through the one JSON shape (or an HTML page for browsers)."""

    app.before_request(refuse_deep_json)

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        db.session.rollback()
        return error_response(error)

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError):
        db.session.rollback()
        return error_response(ApiError("validation_error", errors=error.normalized_messages()))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        db.session.rollback()
        code = _HTTP_CODES.get(error.code or 500, "bad_request")
        if error.code == 400 and "CSRF" in (error.description or ""):
            return error_response(ApiError("csrf_failed"))
        return error_response(ApiError(code, status=error.code))

    @app.errorhandler(DataError)
    def handle_data_error(error: DataError):
        # A value the database refuses (the schemas should have): bad input, not a server fault.
        db.session.rollback()
        app.logger.warning("database refused a value: %s", error.orig)
        return error_response(ApiError("validation_error"))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # Roll back so a failed request leaves nothing half-written; no stack trace to the client.
        db.session.rollback()
        app.logger.exception("unexpected error")
        return error_response(ApiError("internal_error"))
