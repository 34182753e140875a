"""GET /api/v1/openapi.json: the OpenAPI 3 document, built from the marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import MODIFIERS, resolve_schema_cls
from flask import Blueprint, Flask, current_app, jsonify

from schemas.common import ErrorSchema

bp = Blueprint("api_openapi", __name__)

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
# Every operation may answer these with the error shape (500: unexpected, no stack trace).
_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500)


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


class SchemaNames:
    """Component names: a schema class's name without "Schema"; two classes may not share one.

    Given to apispec as its name resolver, so nested schemas are named the same way; a second
    class with a taken name would otherwise be documented as the first one (or renamed "X1").
    """

    def __init__(self) -> None:
        self.classes: dict[str, type] = {}

    def __call__(self, schema) -> str:
        cls = resolve_schema_cls(schema)
        instance = not isinstance(schema, type)
        modifiers = [m for m in MODIFIERS if instance and getattr(schema, m, None)]
        if modifiers:
            raise ValueError(f"{cls.__name__} with {', '.join(modifiers)}: "
                             "give that shape its own schema class")
        name = cls.__name__.removesuffix("Schema")
        owner = self.classes.setdefault(name, cls)
        if owner is not cls:
            raise ValueError(f"two schemas named {name}: {owner.__module__}.{owner.__name__} "
                             f"and {cls.__module__}.{cls.__name__}")
        return name


def _one_of_shapes(self, field, **kwargs) -> dict:
    """apispec attribute function: a OneOfShapes field is any of its schemas (or null)."""
    shapes = getattr(field, "shapes", None)
    if not shapes:
        return {}
    any_of = [self.resolve_nested_schema(shape) for shape in shapes]
    if field.allow_none:
        # OpenAPI 3.0's null (nullable beside anyOf does not admit null to the alternatives).
        any_of.append({"type": "object", "nullable": True, "enum": [None]})
    return {"anyOf": any_of}


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


_ERROR = {"description": "error", "content": {"application/json": {"schema": "Error"}}}
_HEAD_ERROR = {"description": "error (a HEAD answer has no body)"}
_BINARY = {"type": "string", "format": "binary"}


def _success(answer) -> dict:
    """A success response: a schema (JSON), a media type's name (a file), a literal JSON schema."""
    if answer is None:
        return {"description": "success, no body"}
    if isinstance(answer, str):
        return {"description": "a file", "content": {answer: {"schema": _BINARY}}}
    return {"description": "success", "content": {"application/json": {"schema": answer}}}


def _parameters(doc: dict, path_params: list[dict]) -> list[dict]:
    parameters = list(path_params)
    for name, header in (doc.get("headers") or {}).items():
        parameters.append({
            "in": "header", "name": name, "required": header.get("required", False),
            "schema": header.get("schema", {"type": "string"}),
        })
    if doc.get("query") is not None:
        parameters.append({"in": "query", "schema": _query_schema(doc["query"])})
    return parameters


def _operation(rule, view, method: str, path_params: list[dict]) -> dict:
    doc = getattr(view, "__api_doc__", None) or {}
    operation: dict = {
        "summary": doc.get("summary") or (view.__doc__ or "").strip().split("\n")[0],
        "operationId": f"{rule.endpoint}.{method.lower()}",
        "tags": doc.get("tags") or [rule.endpoint.split(".")[0]],
        "responses": {str(status): _success(answer)
                      for status, answer in (doc.get("responses") or {200: None}).items()},
    }
    if parameters := _parameters(doc, path_params):
        operation["parameters"] = parameters
    if method in {"POST", "PUT", "PATCH"} and doc.get("body") is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": doc["body"]}}}
    elif method in {"POST", "PUT", "PATCH"} and doc.get("raw_body"):
        operation["requestBody"] = {"content": {doc["raw_body"]: {"schema": _BINARY}}}
    for status in (*_ERROR_STATUSES, *doc.get("errors", ())):
        operation["responses"].setdefault(str(status), _HEAD_ERROR if method == "HEAD" else _ERROR)
    if doc.get("auth", True):
        operation["security"] = [{"bearer": []}]
    return operation


def build_openapi(app: Flask) -> dict:
    """Build the OpenAPI document from every /api/v1 route and its api_doc facts."""
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=SchemaNames())
    spec = APISpec(
        title="Spotcheck API", version="1.0.0", openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        info={"description": "Spot checks of vocational training classes: filing, sync, media, "
                             "review."},
        servers=[{"url": "/"}],
    )
    marshmallow_plugin.converter.add_attribute_function(_one_of_shapes)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        path, path_params = _path_and_params(rule.rule)
        view = app.view_functions[rule.endpoint]
        spec.path(path=path, operations={
            method.lower(): _operation(rule, view, method, path_params)
            for method in _documented_methods(rule.methods or set())})
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document():
    """Return the OpenAPI 3 document of this API."""
    return jsonify(build_openapi(current_app))


openapi_document.__api_doc__ = {
    "summary": "The OpenAPI document", "auth": False, "tags": ["meta"],
    "responses": {200: {"type": "object", "description": "this OpenAPI 3.0 document",
                        "required": ["openapi", "info", "paths", "components"]}},
}
