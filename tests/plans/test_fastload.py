"""FastLoad gives exactly what Schema.load gives: the same data, or the same ValidationError.

Hypothesis takes valid push requests and sign-in payloads, then deletes, replaces (with JSON
values and near-miss strings) or adds members anywhere in them, and compares the two loaders.
"""

from __future__ import annotations

import copy
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from schemas.fastload import FastDump, FastLoad
from schemas.sync import PushRequestSchema, PushResponseSchema
from schemas.visits import SignInPayloadSchema

UUID = "0b7c1c3e-5d2f-4f6a-9a51-8c1e7f0f5a01"
NEAR_MISSES = [
    UUID, UUID.upper(), "{" + UUID + "}", "urn:uuid:" + UUID, UUID[:-1], UUID.replace("-", ""),
    "2026-03-02T01:00:00Z", "2026-03-02T09:00:00+08:00", "2026-03-02T01:00:00", "2026-03-02",
    "2026-03-02T01:00:00.123456Z", "20260302T010000Z", "", " ", "manual", "badge", "self", "Manual",
    "a" * 64, "A" * 64, "g" * 64, "a" * 65, "x" * 33, "1", "1.5", "true", "null", "signin.create",
]
SCALARS = (st.none() | st.booleans() | st.integers(-(2**40), 2**40)
           | st.floats(allow_nan=False) | st.text(max_size=6) | st.sampled_from(NEAR_MISSES))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=5)


def _payload(i: int) -> dict:
    return {
        "visit_id": str(uuid.UUID(int=i + 1)), "class_id": UUID,
        "trainee_id": str(uuid.UUID(int=i + 99)),
        "method": ["manual", "badge", "self"][i % 3], "at": f"2026-03-02T01:00:0{i % 10}Z",
        "gps": {"lat": 36.7, "lon": 119.16, "accuracy": 12.5, "captured_at": "2026-03-02T01:00:00Z",
                "mocked": False},
        "signature_sha256": "ab" * 32, "badge_token": None,
    }


def _request(n: int) -> dict:
    return {"device_id": "phone-1", "mutations": [{
        "mutation_id": str(uuid.UUID(int=1000 + i)), "seq": i + 1, "type": "signin.create",
        "entity_id": str(uuid.UUID(int=2000 + i)), "client_time": "2026-03-02T03:00:00Z",
        "base": {"plan_version_id": UUID}, "payload": _payload(i),
    } for i in range(n)]}


def _paths(value, prefix=()):
    """Every (container path, key) inside a JSON value."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix, key
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix, index
            yield from _paths(child, (*prefix, index))


@st.composite
def _damaged(draw, valid):
    value = copy.deepcopy(valid)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = list(_paths(value))
        if not paths:
            break
        path, key = draw(st.sampled_from(paths))
        container = value
        for step in path:
            container = container[step]
        action = draw(st.sampled_from(["delete", "replace", "replace", "add"]))
        if action == "delete" and isinstance(container, dict):
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[draw(st.sampled_from(["extra", "seq", "gps", "x"]))] = draw(JSON)
        else:
            container[key] = draw(JSON)
    return value


def _outcome(load, data):
    try:
        return "loaded", load(data)
    except ValidationError as error:
        return "invalid", error.messages


@pytest.mark.parametrize(("schema", "valid"), [
    (PushRequestSchema(), _request(3)),
    (SignInPayloadSchema(), _payload(0)),
], ids=["push_request", "signin_payload"])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_fast_load_equals_schema_load(schema, valid, data):
    damaged = data.draw(_damaged(valid) | JSON)
    assert _outcome(FastLoad(schema).load, damaged) == _outcome(schema.load, damaged)


def test_valid_input_takes_the_quick_walk_and_invalid_input_gets_the_schemas_errors():
    schema = PushRequestSchema()
    fast = FastLoad(schema)
    expected = schema.load(_request(5))
    schema.load = lambda data: pytest.fail("valid input should not need Schema.load")
    assert fast.compiled and fast.load(_request(5)) == expected

    bad = _request(2)
    bad["mutations"][1]["seq"] = "2"
    del schema.load
    with pytest.raises(ValidationError) as caught:
        fast.load(bad)
    assert caught.value.messages == {"mutations": {1: {"seq": ["Must be a JSON integer."]}}}


def test_usual_members_take_the_quick_steps_not_the_fields_own(monkeypatch):
    # Each field type's own _deserialize fails here: a usual push gets through the quick steps.
    from marshmallow import fields

    from schemas.common import JsonBoolean, JsonFloat, JsonInteger, Text, UTCDateTime
    for kind in (fields.UUID, Text, JsonFloat, JsonInteger, JsonBoolean, UTCDateTime, fields.Dict):
        monkeypatch.setattr(kind, "_deserialize", lambda *args, **kwargs: pytest.fail("slow"))
    request, payload = FastLoad(PushRequestSchema()), FastLoad(SignInPayloadSchema())
    monkeypatch.undo()
    for fast, valid in ((request, _request(3)), (payload, _payload(1))):
        assert fast.load(valid) == fast.schema.load(valid)


RESULT = st.fixed_dictionaries(
    # Values the fields convert on the way out too (a UUID, "7", 1), not just ready-made ones.
    {"mutation_id": st.sampled_from([UUID, "x", uuid.UUID(UUID)]),
     "seq": st.integers(1, 10**6) | st.just("7"),
     "status": st.sampled_from(["applied", "flagged", "rejected", "gap"]),
     "replayed": st.booleans() | st.sampled_from([0, 1, "true"])},
    optional={"code": st.sampled_from(["sync.gap", "validation_error"]),
              "message": st.text(max_size=8),
              "flags": st.lists(st.sampled_from(["plan.outdated", "clock.skew"]), max_size=2),
              "errors": JSON})


@settings(max_examples=300, deadline=None)
@given(response=st.fixed_dictionaries({"results": st.lists(RESULT, max_size=4) | st.none(),
                                       "last_seq": st.integers(0, 10**6)}) | JSON)
def test_fast_dump_equals_schema_dump(response):
    schema = PushResponseSchema()

    def outcome(dump):
        try:
            return "dumped", dump(response)
        except Exception as error:  # noqa: BLE001 (both must fail alike on what cannot be dumped)
            return "raised", type(error)

    assert outcome(FastDump(schema).dump) == outcome(schema.dump)
