"""Only clean, plausible values are stored: JSON types kept, no control characters, bounded
nesting and times, and a value the database refuses rejects one mutation, never the batch.
Runs on both engines (TEST_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import func, insert, select

from schemas.common import has_control_characters
from schemas.fastload import FastLoad
from schemas.filing import TeacherInSchema
from server.errors import json_depth
from server.extensions import db
from server.models import AuditEvent, Teacher, TrainingClass, Visit
from server.services import sync_store
from sync.push import Outcome
from tests.plans.filing_support import Filing, trainee_row
from tests.sync.client import seal, utc_iso, visit_payload
from tests.sync.fixtures import phone, today_session


def _payload(world, **changes):
    session = today_session(world)
    payload = visit_payload(class_id=world.classes["a"].id, session=session,
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload.update(changes)
    return seal(payload)


def _visits() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Visit))


@pytest.mark.parametrize("change", [
    lambda p: {"gps": dict(p["gps"], lat=str(p["gps"]["lat"]))},
    lambda p: {"gps": dict(p["gps"], accuracy="15")},
    lambda p: {"gps": dict(p["gps"], mocked="false")},
    lambda p: {"observed": dict(p["observed"], teacher_matches="true")},
    lambda p: {"observed": dict(p["observed"], headcount="5")},
    lambda p: {"observed": dict(p["observed"], headcount=True)},
    lambda p: {"extra_member": 1},
], ids=["lat-string", "accuracy-string", "mocked-string", "bool-string", "int-string", "int-bool",
        "unknown"])
def test_a_value_in_the_wrong_json_type_is_rejected_not_coerced(client, world, change):
    device = phone(client)
    good = _payload(world)
    device.add_visit(seal({**good, **change(good)}))
    status, body = device.push()
    assert status == 200
    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["code"] == "validation_error"
    assert _visits() == 0


@pytest.mark.parametrize("text", ["见照片\u0000", "a\u0007b", "\u001bX", "x\u0085"])
def test_control_characters_reject_one_mutation_and_the_batch_goes_on(client, world, text):
    device = phone(client)
    device.add_visit(_payload(world))
    device.add_visit(_payload(world, findings=[{"code": "other", "text": text}], verdict="issues"))
    device.add_visit(_payload(world))
    status, body = device.push()
    assert status == 200
    assert [r["status"] for r in body["results"]][0] in ("applied", "flagged")
    assert body["results"][1]["status"] == "rejected"
    assert body["results"][2]["status"] in ("applied", "flagged")
    assert body["last_seq"] == 3
    assert _visits() == 2


def test_free_text_keeps_tab_and_line_breaks(client, world):
    device = phone(client)
    device.add_visit(_payload(world, findings=[{"code": "note", "text": "第一行\n第二行\t完"}],
                              verdict="issues"))
    status, body = device.push()
    assert body["results"][0]["status"] in ("applied", "flagged")


def test_a_nul_in_a_login_or_a_filing_form_is_a_4xx(client, api, world):
    r = client.post("/api/v1/auth/token",
                    json={"username": "city\u0000", "password": "x", "device_id": "d"})
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"
    r = client.post("/api/v1/sites", headers=api.headers("base_a"), json={
        "name": "场所\u0000", "address": "地址", "lat": 36.7, "lon": 119.1})
    assert r.status_code == 422


def test_one_line_text_refuses_every_invisible_format_or_separator_character():
    invisible = [chr(c) for c in range(0x110000)
                 if unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp")]
    assert len(invisible) > 150
    schema = TeacherInSchema()
    fast = FastLoad(schema)
    assert fast.compiled
    for mark in invisible:
        assert has_control_characters(f"王{mark}老师"), f"U+{ord(mark):04X}"
        for load in (schema.load, fast.load):
            with pytest.raises(ValidationError):
                load({"name": f"王{mark}老师"})
    # What names are made of stays: CJK, Latin with accents, the middle dot, a no-break space.
    for name in ("王老师", "阿依古丽·买买提", "José Müller", "李\u00a0明", "Ω"):
        assert fast.load({"name": name})["name"] == name
    # Free text keeps them (an emoji sequence in a finding is joined by U+200D).
    assert not has_control_characters("整改\u200d完毕", multiline=True)


@pytest.mark.parametrize("mark", ["\u200b", "\u202e", "\ufeff", "\u2028"],
                         ids=["ZWSP", "RLO", "BOM", "LSEP"])
def test_an_invisible_character_in_a_name_is_a_422_and_nothing_is_stored(client, api, world,
                                                                          mark):
    filing = Filing(client, api, world)
    klass = filing.call("post", "/classes", "base_a", json={
        "name": f"测试班{mark}一", "occupation_id": str(world.occupation.id), "level": 2,
        "start_date": "2026-12-21", "end_date": "2027-01-16"})
    teacher = filing.call("post", "/teachers", "base_a", json={"name": f"王{mark}老师"})
    version_id = filing.new_class()["versions"][0]["id"]
    roster = filing.call("put", f"/plan-versions/{version_id}/roster", "base_a",
                         json={"trainees": [trainee_row(701, name=f"张{mark}三")]})
    for response in (klass, teacher, roster):
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["code"] == "validation_error"
    db.session.expire_all()
    assert not db.session.scalars(select(TrainingClass).where(
        TrainingClass.name.contains(mark))).all()
    assert not db.session.scalars(select(Teacher).where(Teacher.name.contains(mark))).all()


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/sync/push", "/api/v1/sites"])
def test_deeply_nested_json_is_400_with_the_one_error_shape(client, api, world, path):
    body = b'{"username":' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = client.post(path, data=body,
                    headers={"Content-Type": "application/json", **api.headers("base_a")})
    assert r.status_code == 400
    assert r.get_json()["code"] == "json.too_deep"
    assert set(r.get_json()) >= {"code", "message"}


def test_brackets_inside_strings_do_not_count_as_nesting(client, world):
    device = phone(client)
    device.add_visit(_payload(world, findings=[{"code": "other", "text": "[" * 100 + "\"{" * 50}],
                              verdict="issues"))
    status, body = device.push()
    assert status == 200 and body["results"][0]["status"] in ("applied", "flagged")


def test_a_visit_dated_far_in_the_future_is_refused(client, world):
    device = phone(client)
    device.add_visit(_payload(world, started_at="9999-12-31T23:59:59Z",
                              ended_at="9999-12-31T23:59:59Z"))
    device.add_visit(_payload(world, started_at="2999-01-01T00:00:00Z",
                              ended_at="2999-01-01T01:00:00Z"))
    status, body = device.push()
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected"]
    assert _visits() == 0


# Aware times whose UTC falls outside years 1..9999 (astimezone(UTC) overflows).
CALENDAR_EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("edge", CALENDAR_EDGES)
def test_a_time_whose_utc_leaves_the_calendar_rejects_one_mutation_and_the_batch_goes_on(
        client, world, edge):
    device = phone(client)
    device.add_visit(_payload(world))
    device.add_visit(_payload(world, started_at=edge))
    device.add_visit(_payload(world))
    for _ in range(2):  # the phone's retry goes through too
        status, body = device.push()
        assert status == 200
    assert [r["status"] for r in device.results.values()].count("rejected") == 1
    assert body["last_seq"] == 3
    assert _visits() == 2


@pytest.mark.parametrize("edge", CALENDAR_EDGES)
def test_a_client_time_or_since_that_leaves_the_calendar_is_a_422(client, world, edge):
    device = phone(client)
    mutation = device.add_visit(_payload(world))
    status, body = device.transport.request(
        "POST", "/api/v1/sync/push", headers=device.headers,
        json={"device_id": device.device_id, "mutations": [{**mutation, "client_time": edge}]})
    assert status == 422 and body["code"] == "validation_error"
    assert _visits() == 0
    status, body = device.transport.request("GET", "/api/v1/visits", headers=device.headers,
                                            params={"since": edge})
    assert status == 422 and body["code"] == "validation_error"


@pytest.mark.parametrize("seq", [2**53, 2**63, 2**64 - 1, 10**30])
def test_a_seq_beyond_what_a_phone_holds_exactly_is_a_422(client, world, seq):
    device = phone(client)
    mutation = device.add_visit(_payload(world))
    # Sent as raw JSON: a number this large is valid JSON whatever the client's own limits.
    body = json.dumps({"device_id": device.device_id, "mutations": [{**mutation, "seq": 0}]})
    body = body.replace('"seq": 0', f'"seq": {seq}')
    response = client.post("/api/v1/sync/push", data=body, headers={
        **device.headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert _visits() == 0


def test_a_visit_after_its_receipt_or_outside_its_class_is_flagged_and_unverifiable(client, world):
    device = phone(client)
    ids = []
    for when in (datetime.now(UTC) + timedelta(hours=3), datetime(2001, 5, 1, 2, tzinfo=UTC)):
        payload = _payload(world, started_at=utc_iso(when),
                           ended_at=utc_iso(when + timedelta(minutes=30)))
        payload["gps"]["captured_at"] = utc_iso(when)
        ids.append(uuid.uuid4())
        device.add_visit(seal(payload), visit_id=ids[-1])
    status, body = device.push()
    for result in body["results"]:
        assert result["status"] == "flagged" and "visit.implausible_time" in result["flags"]
    for visit_id in ids:
        assert db.session.get(Visit, visit_id).checks["time"]["status"] == "unverifiable"


def test_a_gps_fix_taken_outside_the_visit_cannot_verify_the_place(client, world, app):
    device = phone(client)
    stale = _payload(world)
    started = datetime.fromisoformat(stale["started_at"].replace("Z", "+00:00"))
    stale["gps"]["captured_at"] = utc_iso(started - timedelta(hours=2))
    visit_id = uuid.uuid4()
    device.add_visit(seal(stale), visit_id=visit_id)
    status, body = device.push()
    assert body["results"][0]["status"] == "flagged"
    assert "evidence.stale" in body["results"][0]["flags"]
    visit = db.session.get(Visit, visit_id)
    assert visit.checks["place"]["status"] == "unverifiable"
    fresh_id = uuid.uuid4()
    device.add_visit(_payload(world), visit_id=fresh_id)
    device.push()
    assert db.session.get(Visit, fresh_id).checks["place"]["status"] == "match"


def test_a_database_error_inside_one_mutation_rejects_that_mutation_only(client, world,
                                                                         monkeypatch):
    """A value the database refuses (here a NOT NULL broken by a buggy handler) never 500s the
    batch.
    """

    def broken(context, mutation):
        db.session.execute(insert(AuditEvent.__table__), [{"id": uuid.uuid4(), "action": None}])
        return Outcome()

    monkeypatch.setitem(sync_store.HANDLERS, "test.broken", broken)
    device = phone(client)
    device.add_visit(_payload(world))
    device.add("test.broken", {})
    device.add_visit(_payload(world))
    status, body = device.push()
    assert status == 200
    assert [r["status"] for r in body["results"]][1] == "rejected"
    assert body["results"][0]["status"] != "rejected" and body["results"][2]["status"] != "rejected"
    assert _visits() == 2


def _nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0


_TRICKY = st.text(alphabet='"\\[]{}a\u00e9\U0001f600\n', max_size=8)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | _TRICKY,
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_TRICKY, inner, max_size=3), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(value=_JSON, ascii_only=st.booleans())
def test_json_depth_is_the_parsed_nesting(value, ascii_only):
    # Escapes, quotes and brackets inside strings (keys too) never count; the text's own do.
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    depth = _nesting(value)
    assert json_depth(text, 64) == depth
    assert (json_depth(text, 2) > 2) == (depth > 2)


@pytest.mark.parametrize(("text", "depth"), [
    (b"[[[[[", 5), (b"{{}", 2), (b"}{", 0), (b"[{]}", 2), (b'[["]"]', 2), (b"[]{}[[]]", 2),
])
def test_json_depth_of_brackets_that_do_not_pair_up(text, depth):
    """Not JSON (the parser refuses it), still counted: the highest running sum of brackets."""
    assert json_depth(text, 64) == depth
    assert (json_depth(text, 1) > 1) == (depth > 1)
