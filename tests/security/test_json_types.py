"""Every JSON write endpoint of /api/v1 takes values in their JSON types only.

A number or a boolean sent as a string ("12", "true"), a number or a boolean where text, a date
or an id is expected: 422 `validation_error` naming the field, and the database is exactly as it
was (Issue 11, "Only clean, plausible values are stored"). The endpoints are read from the app:
a new JSON write endpoint without cases here fails `test_every_json_write_endpoint_has_cases`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from tests.plans.filing_support import session_rows, trainee_row

SHA = "a" * 64


@dataclass(frozen=True)
class Case:
    """One endpoint: who calls it, its path's ids, a valid body, and wrongly typed changes."""

    method: str
    rule: str
    user: str
    ids: Callable[[object], dict]
    body: Callable[[object], dict]
    bad: dict[str, Callable[[dict], None]]


def _set(*path, value) -> Callable[[dict], None]:
    """A change that puts value at path (keys and list indexes) into a body."""

    def change(body: dict) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    change.field = [key for key in path if isinstance(key, str)][-1]
    return change


def _start() -> date:
    return date.today() + timedelta(days=20)


def _class_ids(world) -> dict:
    return {"class_id": world.classes["a"].id}


def _version_ids(world) -> dict:
    return {"version_id": world.versions["a"].id}


def _none(world) -> dict:
    return {}


def _visit_ids(world) -> dict:
    return {"visit_id": uuid.uuid4()}


def _rectification_ids(world) -> dict:
    return {"rectification_id": uuid.uuid4()}


def _session(world) -> dict:
    return session_rows(world, _start())[0]


CASES = [
    Case("POST", "/api/v1/auth/token", "city", _none,
         lambda w: {"username": "city", "password": "x" * 12, "device_id": "d1"},
         {"username-number": _set("username", value=12),
          "device-bool": _set("device_id", value=True)}),
    Case("POST", "/api/v1/auth/password", "base_a", _none,
         lambda w: {"current_password": "x" * 12, "new_password": "y" * 12},
         {"password-number": _set("new_password", value=123456789012)}),
    Case("POST", "/api/v1/bureau/draws", "county_a", _none,
         lambda w: {"from": _start().isoformat(), "to": _start().isoformat()},
         {"date-number": _set("from", value=20300101),
          "county-number": _set("county_id", value=12)}),
    Case("POST", "/api/v1/bureau/rectifications/<uuid:rectification_id>/answer", "base_a",
         _rectification_ids, lambda w: {"text": "已整改"},
         {"text-number": _set("text", value=12)}),
    Case("POST", "/api/v1/bureau/rectifications/<uuid:rectification_id>/close", "county_a",
         _rectification_ids, lambda w: {"comment": ""},
         {"comment-bool": _set("comment", value=True)}),
    Case("POST", "/api/v1/bureau/rectifications/<uuid:rectification_id>/return", "county_a",
         _rectification_ids, lambda w: {"comment": "不够"},
         {"comment-number": _set("comment", value=0)}),
    Case("POST", "/api/v1/bureau/visits/<uuid:visit_id>/accept", "county_a", _visit_ids,
         lambda w: {"comment": ""}, {"comment-bool": _set("comment", value=False)}),
    Case("POST", "/api/v1/bureau/visits/<uuid:visit_id>/rectification", "county_a",
         _visit_ids, lambda w: {"sanction": "criticism", "order_text": "整改"},
         {"deadline-number": _set("deadline", value=20300101),
          "text-number": _set("order_text", value=1)}),
    Case("POST", "/api/v1/bureau/visits/<uuid:visit_id>/reinspect", "county_a", _visit_ids,
         lambda w: {"comment": ""},
         {"session-number": _set("session_id", value=12),
          "inspectors-string": _set("inspector_ids", value=str(uuid.uuid4()))}),
    Case("POST", "/api/v1/classes", "base_a", _none,
         lambda w: {"name": "新班", "occupation_id": str(w.occupation.id), "level": 2,
                    "start_date": _start().isoformat(),
                    "end_date": (_start() + timedelta(days=60)).isoformat()},
         {"level-string": _set("level", value="2"), "level-bool": _set("level", value=True),
          "level-float": _set("level", value=2.0)}),
    Case("POST", "/api/v1/classes/<uuid:class_id>/plan-versions", "base_a", _class_ids,
         lambda w: {"reason": "改"}, {"reason-number": _set("reason", value=7)}),
    Case("POST", "/api/v1/media/missing", "inspector_a", _none, lambda w: {"sha256": [SHA]},
         {"list-string": _set("sha256", value=SHA), "item-number": _set("sha256", 0, value=1)}),
    Case("POST", "/api/v1/plan-versions/<uuid:version_id>/approve", "county_a", _version_ids,
         lambda w: {"comment": ""}, {"comment-number": _set("comment", value=1)}),
    Case("POST", "/api/v1/plan-versions/<uuid:version_id>/record", "city", _version_ids,
         lambda w: {"comment": ""}, {"comment-bool": _set("comment", value=True)}),
    Case("POST", "/api/v1/plan-versions/<uuid:version_id>/return", "county_a", _version_ids,
         lambda w: {"comment": "改"}, {"comment-number": _set("comment", value=3)}),
    Case("PUT", "/api/v1/plan-versions/<uuid:version_id>/roster", "base_a", _version_ids,
         lambda w: {"trainees": [trainee_row(901)]},
         {"date-number": _set("trainees", 0, "certificate_date", value=20150601),
          "name-number": _set("trainees", 0, "name", value=12)}),
    Case("PUT", "/api/v1/plan-versions/<uuid:version_id>/sessions", "base_a", _version_ids,
         lambda w: {"sessions": [_session(w)]},
         {"online-string": _set("sessions", 0, "online", value="true"),
          "online-number": _set("sessions", 0, "online", value=1)}),
    Case("POST", "/api/v1/plan-versions/<uuid:version_id>/sessions", "base_a", _version_ids,
         _session,
         {"repeat-string": _set("repeat_days", value="3"),
          "online-string": _set("online", value="false"),
          "repeat-bool": _set("repeat_days", value=True)}),
    Case("POST", "/api/v1/sites", "base_a", _none,
         lambda w: {"name": "新场所", "address": "某路2号", "lat": 36.7, "lon": 119.1},
         {"lat-string": _set("lat", value="36.7"), "lon-string": _set("lon", value="119.1"),
          "radius-string": _set("radius_m", value="150"),
          "radius-bool": _set("radius_m", value=True)}),
    Case("PATCH", "/api/v1/sites/<uuid:site_id>", "base_a",
         lambda w: {"site_id": w.sites["a"].id}, lambda w: {"name": "改名"},
         {"radius-string": _set("radius_m", value="200"),
          "name-number": _set("name", value=5)}),
    Case("POST", "/api/v1/sync/push", "inspector_a", _none,
         lambda w: {"device_id": "device-inspector_a", "mutations": [{
             "mutation_id": str(uuid.uuid4()), "seq": 1, "type": "visit.submit",
             "payload": {}}]},
         {"seq-string": _set("mutations", 0, "seq", value="1"),
          "seq-bool": _set("mutations", 0, "seq", value=True)}),
    Case("POST", "/api/v1/teachers", "base_a", _none, lambda w: {"name": "新老师"},
         {"name-number": _set("name", value=12),
          "certificate-number": _set("certificate_no", value=1234)}),
    Case("PATCH", "/api/v1/teachers/<uuid:teacher_id>", "base_a",
         lambda w: {"teacher_id": w.teachers["a_theory"].id}, lambda w: {"phone": "13800000000"},
         {"phone-number": _set("phone", value=13800000000)}),
]

VARIANTS = [pytest.param(case, name, id=f"{case.method} {case.rule} {name}")
            for case in CASES for name in case.bad]


def _fingerprint() -> str:
    """A hash of every row of every table: equal before and after means nothing changed."""
    db.session.expire_all()
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        for row in sorted(repr(tuple(row)) for row in rows):
            digest.update(f"{table.name}:{row}\n".encode())
    return digest.hexdigest()


def _url(case: Case, world) -> str:
    url = case.rule
    for name, value in case.ids(world).items():
        url = url.replace(f"<uuid:{name}>", str(value))
    return url


def test_every_json_write_endpoint_has_cases(app):
    with_body = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) & {"POST", "PUT", "PATCH"}
        if (getattr(app.view_functions[rule.endpoint], "__api_doc__", None) or {}).get("body")
    }
    assert with_body == {(case.method, case.rule) for case in CASES}


@pytest.mark.parametrize(("case", "variant"), VARIANTS)
def test_a_wrongly_typed_value_is_refused_and_nothing_changes(client, api, world, case, variant):
    headers = api.headers(case.user)
    body = case.body(world)
    change = case.bad[variant]
    change(body)
    before = _fingerprint()
    response = client.open(_url(case, world), method=case.method, json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["code"] == "validation_error"
    assert change.field in repr(answer["errors"])
    assert _fingerprint() == before
