"""The OpenAPI document says exactly what the API answers, and the suite holds every answer to it.

tests/api_contract.py validates each /api/v1 answer every test receives (tests/conftest.py makes
it the test client); these tests show that check can fail, and pin the document's own rules.
"""

from __future__ import annotations

import json

import pytest
from flask import Response
from marshmallow import Schema, fields
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from werkzeug.test import EnvironBuilder

from schemas.pull import PULL_SHAPES
from server.api.openapi import SchemaNames
from server.extensions import db
from server.services.assignments import create_assignment
from server.services.pull import SERIALISERS
from tests import api_contract
from tests.sync.fixtures import publish_world, today_session

JSON_METHODS = {"get", "post", "put", "patch", "delete"}


def answered(app, method: str, path: str, status: int, body) -> Response:
    """A response as the test client returns it: JSON body, with the request it answers."""
    response = app.response_class(json.dumps(body), status=status, mimetype="application/json")
    response.request = EnvironBuilder(path=path, method=method).get_request()
    return response


def test_the_document_is_valid_openapi_and_covers_every_api_route(app):
    document = api_contract.document(app)
    validate_openapi(document)
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")}
    documented = {path.replace("{", "<").replace("}", ">") for path in document["paths"]}
    assert len(documented) == len(routes)
    assert sum(len(ops) for ops in document["paths"].values()) >= 50


def test_every_json_success_has_a_schema_and_every_error_the_error_shape(app):
    document = api_contract.document(app)
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and status != "204" and method in JSON_METHODS:
                    if content is None and not response.get("content"):
                        missing.append(f"{method} {path} {status}")
                elif not status.startswith("2") and method != "head":
                    assert content == {"schema": {"$ref": "#/components/schemas/Error"}}, (
                        method, path, status)
    assert missing == []
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message"]
    assert set(error["properties"]) == {"code", "message", "errors", "details"}


def test_the_visit_list_is_documented_as_it_is_answered(app):
    # The drift issue 10 names: the document said {items} (the bureau's list took the name).
    check = api_contract.contract_errors
    assert check(app, answered(app, "GET", "/api/v1/visits", 200, {"visits": []})) == []
    wrong = check(app, answered(app, "GET", "/api/v1/visits", 200, {"items": []}))
    assert wrong and "'visits' is a required property" in " ".join(wrong)
    assert check(app, answered(app, "GET", "/api/v1/bureau/visits", 200, {"items": []})) == []


def test_an_undocumented_status_or_a_bad_error_body_fails_the_check(app):
    check = api_contract.contract_errors
    assert check(app, answered(app, "GET", "/api/v1/visits", 418, {"code": "x", "message": "y"}))
    assert check(app, answered(app, "GET", "/api/v1/visits", 403, {"error": "forbidden"}))
    assert check(app, answered(app, "GET", "/api/v1/visits", 403,
                               {"code": "forbidden", "message": "无权执行此操作"})) == []
    # No such route: nothing to hold it to but the error shape.
    assert check(app, answered(app, "GET", "/api/v1/nowhere", 404,
                               {"code": "not_found", "message": "未找到"})) == []
    assert check(app, answered(app, "GET", "/api/v1/nowhere", 404, {"detail": "Not Found"}))


def test_a_pulled_change_must_have_one_of_the_entity_shapes(app):
    check = api_contract.contract_errors
    cursor = "c"

    def page(data) -> dict:
        return {"changes": [{"type": "county", "id": "x", "op": "put", "data": data}],
                "cursor": cursor, "has_more": False, "judging": judging}

    judging = {"gps_max_accuracy_m": 200.0, "attendance_min_rate": 0.9,
               "time_tolerance_minutes": 15, "evidence_tolerance_minutes": 15}

    county = {"name": "奎文区", "code": "370705", "kind": "district"}
    assert check(app, answered(app, "GET", "/api/v1/sync/pull", 200, page(county))) == []
    assert check(app, answered(app, "GET", "/api/v1/sync/pull", 200, page(None))) == []
    assert check(app, answered(app, "GET", "/api/v1/sync/pull", 200, page({"name": "奎文区"})))
    assert check(app, answered(app, "GET", "/api/v1/sync/pull", 200,
                               page({**county, "secret": "x"})))


def test_every_pulled_type_has_its_shape_in_the_document(app):
    document = api_contract.document(app)
    names = {shape.__name__.removesuffix("Schema") for shape in PULL_SHAPES.values()}
    assert names <= set(document["components"]["schemas"])
    assert set(PULL_SHAPES) == set(SERIALISERS)


def test_each_pulled_change_has_the_shape_of_its_own_type(app, client, world, api):
    publish_world(world)
    create_assignment(world.classes["a"].id, today_session(world, "a").id,
                      [world.users["inspector_a"]])
    db.session.commit()
    headers = api.headers("inspector_a")
    components = {"components": api_contract.document(app)["components"]}
    seen, query = set(), {}
    for _ in range(50):
        page = client.get("/api/v1/sync/pull", query_string=query, headers=headers).get_json()
        for change in page["changes"]:
            if change["op"] != "put":
                continue
            name = PULL_SHAPES[change["type"]].__name__.removesuffix("Schema")
            validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", **components})
            assert [e.message for e in validator.iter_errors(change["data"])] == [], change["type"]
            seen.add(change["type"])
        if not page["has_more"]:
            break
        query = {"cursor": page["cursor"]}
    assert {"county", "base", "site", "teacher", "training_class", "plan_version",
            "assignment", "badge_key"} <= seen


def test_two_schema_classes_with_one_name_are_refused():
    class FirstSchema(Schema):
        a = fields.String()

    other = type("FirstSchema", (Schema,), {"b": fields.String()})
    names = SchemaNames()
    assert names(FirstSchema) == "First"
    assert names(FirstSchema()) == "First"
    with pytest.raises(ValueError, match="two schemas named First"):
        names(other)
    with pytest.raises(ValueError, match="its own schema class"):
        names(FirstSchema(exclude=("a",)))
