"""GET /api/v1/openapi.json: the OpenAPI 3 document, built from the marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify

from schemas.common import ErrorSchema

bp = Blueprint("api_openapi", __name__)

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429)


def _path_and_params(rule: str) -> tuple[str, list[dict]]:
    params = []
    for converter, name in _CONVERTER.findall(rule):
        schema = {"type": "string"}
        if converter == "uuid":
            schema["format"] = "uuid"
        elif converter == "int":
            schema = {"type": "integer"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return _CONVERTER.sub(r"{\2}", rule), params


def _schema_ref(spec: APISpec, schema) -> dict | str:
    if schema is None:
        return {}
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=cls)
    return name


def _documented_methods(methods: set[str]) -> list[str]:
    # Werkzeug adds HEAD to every GET and OPTIONS to most routes; document those two only
    # where a route exists for them alone (tus's HEAD and OPTIONS).
    own = methods - {"HEAD", "OPTIONS"}
    if "HEAD" in methods and "GET" not in methods:
        own.add("HEAD")
    if not own and "OPTIONS" in methods:
        own.add("OPTIONS")
    return sorted(own)


def _query_schema(schema) -> type:
    # The marshmallow plugin expands a schema class given "in": "query" into one parameter per
    # field; a component name there is looked up in marshmallow's registry and not found.
    return schema if isinstance(schema, type) else type(schema)


def build_openapi(app: Flask) -> dict:
    """Build the OpenAPI document from every /api/v1 route and its api_doc facts."""
    spec = APISpec(
        title="Spotcheck API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Spot checks of vocational training classes: filing, sync, media, review."},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    error_response = {"description": "error", "content": {"application/json": {"schema": "Error"}}}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "__api_doc__", None) or {}
        path, params = _path_and_params(rule.rule)
        operations = {}
        for method in _documented_methods(rule.methods or set()):
            operation: dict = {
                "summary": doc.get("summary") or (view.__doc__ or "").strip().split("\n")[0],
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "tags": doc.get("tags") or [rule.endpoint.split(".")[0]],
                "responses": {},
            }
            if params:
                operation["parameters"] = list(params)
            for name, header in (doc.get("headers") or {}).items():
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": name, "required": header.get("required", False),
                    "schema": header.get("schema", {"type": "string"}),
                })
            if doc.get("query") is not None:
                operation.setdefault("parameters", []).append(
                    {"in": "query", "schema": _query_schema(doc["query"])}
                )
            if doc.get("body") is not None and method in {"POST", "PUT", "PATCH"}:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(spec, doc["body"])}},
                }
            elif doc.get("raw_body") and method in {"POST", "PUT", "PATCH"}:
                operation["requestBody"] = {
                    "content": {doc["raw_body"]: {"schema": {"type": "string", "format": "binary"}}}
                }
            for status, schema in (doc.get("responses") or {200: None}).items():
                response: dict = {"description": "success"}
                if schema is not None:
                    response["content"] = {"application/json": {"schema": _schema_ref(spec, schema)}}
                operation["responses"][str(status)] = response
            for status in (*_ERROR_STATUSES, *doc.get("errors", ())):
                operation["responses"].setdefault(str(status), error_response)
            if doc.get("auth", True):
                operation["security"] = [{"bearer": []}]
            operations[method.lower()] = operation
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document():
    """Return the OpenAPI 3 document of this API."""
    return jsonify(build_openapi(current_app))


openapi_document.__api_doc__ = {"summary": "The OpenAPI document", "auth": False, "tags": ["meta"],
                                "responses": {200: None}}
