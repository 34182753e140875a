"""Every /api/v1 answer the tests receive, checked against the OpenAPI document (openapi-core).

`make_test_app` gives each test app `ContractClient` as its test client class: each response to
an /api/v1 path is validated (documented status, content type, body against the schema) and
every mismatch is recorded in `FAILURES`; an autouse fixture in tests/conftest.py fails the test
that received it. The document is built once per process from the first app's routes (every app
of the suite has the same routes).
"""

from __future__ import annotations

import gzip
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError
from openapi_schema_validator import OAS30Validator

from server.api.openapi import build_openapi

API_PREFIX = "/api/v1/"
FAILURES: list[str] = []
VALIDATED = {"responses": 0}
_built: dict[str, Any] = {}


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document as the server serves it, built once per process."""
    if "document" not in _built:
        with app.app_context():
            _built["document"] = build_openapi(app)
    return _built["document"]


def openapi_for(app: Flask) -> OpenAPI:
    """The document as an openapi-core object (validated as OpenAPI 3.0 on creation)."""
    if "spec" not in _built:
        _built["spec"] = OpenAPI.from_dict(document(app))
    return _built["spec"]


class _AnsweredRequest(WerkzeugOpenAPIRequest):
    """The request a response answers: path, method and parameters; its body was read already."""

    @property
    def body(self) -> bytes | None:
        return None


class _DecodedResponse(WerkzeugOpenAPIResponse):
    """The response's body as the client reads it: a gzip transfer is unpacked first."""

    @property
    def data(self) -> bytes:
        raw = super().data
        if self.response.headers.get("Content-Encoding") == "gzip":
            return gzip.decompress(raw)
        return raw


def contract_errors(app: Flask, response: Any) -> list[str]:
    """What is wrong with one response of the test client, by the document (empty when right)."""
    result = openapi_for(app).unmarshal_response(_AnsweredRequest(response.request),
                                                 _DecodedResponse(response))
    if response.status_code in (404, 405) and result.errors \
            and all(isinstance(e, PathError) for e in result.errors):
        # No such route or method: no operation to hold it to, but the body is the error shape.
        return _error_shape_errors(app, response)
    return [_describe(error) for error in result.errors]


def _error_shape_errors(app: Flask, response: Any) -> list[str]:
    if response.mimetype != "application/json":
        return [f"not JSON but {response.mimetype}"]
    validator = OAS30Validator(document(app)["components"]["schemas"]["Error"])
    return [_one_line(error) for error in validator.iter_errors(response.get_json())]


def _describe(error: Exception) -> str:
    # openapi-core wraps the jsonschema errors that say what is wrong: report those.
    found: list[Exception] = []
    cause: BaseException | None = error
    while cause is not None:
        found.extend(getattr(cause, "schema_errors", None) or ())
        cause = cause.__cause__
    return "; ".join(dict.fromkeys(_one_line(e) for e in found or [error]))


def _one_line(error: Exception) -> str:
    path = "/".join(str(p) for p in getattr(error, "absolute_path", ()) or ())
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}{f' at {path}' if path else ''}: {text[:300]}"


class ContractClient(FlaskClient):
    """The Flask test client, with every /api/v1 answer checked against the document."""

    def open(self, *args: Any, **kwargs: Any):
        response = super().open(*args, **kwargs)
        request = getattr(response, "request", None)
        if request is not None and request.path.startswith(API_PREFIX):
            VALIDATED["responses"] += 1
            errors = contract_errors(self.application, response)
            if errors:
                FAILURES.append(f"{request.method} {request.path} -> {response.status_code}: "
                                + " | ".join(errors))
        return response
