"""FastLoad gives exactly what Schema.load gives: the same data, or the same ValidationError.

Hypothesis takes valid push requests and sign-in payloads, then deletes, replaces (with JSON
values and near-miss strings) or adds members anywhere in them, and compares the two loaders.
Every schema the push compiles (nested ones included) also gets each of its members deleted,
set to None and replaced by values of every other kind, each failing a validator, and an
unknown member; made-up schemas take the generated code through the options the wire
contract does not use (INCLUDE and EXCLUDE, data keys, defaults, list items, other validators,
a schema nested in itself). Valid JSON must never need Schema.load (the quick steps are not
too strict). FastDump is compared with Schema.dump the same way.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate

from schemas.common import (
    CleanDict,
    JsonBoolean,
    JsonFloat,
    JsonInteger,
    ListOrEmpty,
    Text,
    UTCDateTime,
)
from schemas.fastload import FastDump, FastLoad
from schemas.sync import (
    MutationBaseSchema,
    MutationSchema,
    PushRequestSchema,
    PushResponseSchema,
)
from schemas.visits import GpsSchema, SignInPayloadSchema

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


def _assert_same(fast, data):
    """FastLoad gives what Schema.load gives; valid JSON never needed Schema.load to get it."""
    schema = fast.schema
    expected = _outcome(schema.load, data)
    fell_back = []
    schema.load = lambda value: fell_back.append(value) or type(schema).load(schema, value)
    try:
        got = _outcome(fast.load, data)
    finally:
        del schema.load
    assert got == expected, data
    assert expected[0] == "invalid" or not fell_back, ("valid, yet Schema.load", data)


PUSH_REQUEST, SIGNIN_PAYLOAD = FastLoad(PushRequestSchema()), FastLoad(SignInPayloadSchema())


@pytest.mark.parametrize(("fast", "valid"), [
    (PUSH_REQUEST, _request(3)),
    (SIGNIN_PAYLOAD, _payload(0)),
], ids=["push_request", "signin_payload"])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_fast_load_equals_schema_load(fast, valid, data):
    _assert_same(fast, data.draw(_damaged(valid) | JSON))


# Every schema compiled for the push (the nested ones too), each with a valid input.
COMPILED = [
    (PushRequestSchema, _request(3)), (MutationSchema, _request(1)["mutations"][0]),
    (MutationBaseSchema, {"plan_version_id": UUID}), (SignInPayloadSchema, _payload(2)),
    (GpsSchema, _payload(0)["gps"]),
]
COMPILED_IDS = [kind.__name__ for kind, _ in COMPILED]
# One of each kind of member value: other JSON types, out of range, too long, not a choice,
# control characters, UUIDs and times in their other accepted and refused spellings.
REPLACEMENTS = [
    None, True, False, 0, 1, -1, 2**70, 1.5, -200.0, 1e9, 36, float("nan"), float("inf"),
    -float("inf"), "", " ", "x" * 65, "a\x00b",
    "a\nb", "manual", "self", "signin.create", "ab" * 32, "AB" * 32, UUID.upper(),
    "urn:uuid:" + UUID, "{" + UUID + "}", UUID.replace("-", ""), UUID[:-1], "-" + UUID[1:],
    "+" + UUID.replace("-", "")[1:], "2026-03-02T01:00:00", "2026-03-02T09:00:00+08:00",
    "2026-03-02 01:00:00Z", "2026-03-02\x0101:00:00Z", "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:01Z", [], [1], [None], {}, {"x": 1}, {"plan_version_id": None},
]


def _member_damages(valid):
    """The valid input, then each member deleted or replaced by each of REPLACEMENTS, then an
    unknown member added to each object, then a few non-objects."""
    yield valid
    for path, key in _paths(valid):
        for replacement in ("delete", *REPLACEMENTS):
            damaged = copy.deepcopy(valid)
            container = damaged
            for step in path:
                container = container[step]
            if replacement == "delete":
                del container[key]
            else:
                container[key] = replacement
            yield damaged
    for path, key in [((), None), *_paths(valid)]:
        damaged = copy.deepcopy(valid)
        container = damaged
        for step in (*path, key) if key is not None else ():
            container = container[step]
        if isinstance(container, dict):
            container["unknown"] = 1
            yield damaged
    yield from (None, [], [valid], "x", 1)


@pytest.mark.parametrize(("kind", "valid"), COMPILED, ids=COMPILED_IDS)
def test_each_member_of_each_compiled_schema_damaged_each_way(kind, valid):
    schema = kind()
    fast = FastLoad(schema)
    assert fast.compiled
    for damaged in _member_damages(valid):
        _assert_same(fast, damaged)


@pytest.mark.parametrize(("kind", "valid"), COMPILED, ids=COMPILED_IDS)
def test_valid_input_never_needs_schema_load(kind, valid, monkeypatch):
    # Usual values, and valid unusual ones (the fields' own steps): the generated code alone.
    unusual = copy.deepcopy(valid)
    for path, key in _paths(unusual):
        container = unusual
        for step in path:
            container = container[step]
        value = container[key]
        if isinstance(value, float):
            container[key] = int(value)
        elif isinstance(value, str) and re.fullmatch(r"[0-9a-f-]{36}", value):
            container[key] = "urn:uuid:" + value.upper()
        elif isinstance(value, str) and value.endswith("Z"):
            container[key] = value[:-1] + "+00:00"
    schema = kind()
    fast = FastLoad(schema)
    expected = [schema.load(valid), schema.load(unusual)]
    monkeypatch.setattr(Schema, "load", lambda *args, **kwargs: pytest.fail("Schema.load"))
    assert [fast.load(valid), fast.load(unusual)] == expected


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


# Made-up schemas: the options and field kinds of the generated code the wire contract does
# not use (each field's own step, item functions, defaults, data keys, INCLUDE and EXCLUDE).
def _not_nil(value):
    if value == uuid.UUID(int=0):
        raise ValidationError("nil")


class _Item(Schema):
    code = Text(required=True, validate=validate.Length(equal=3))
    n = fields.Integer(load_default=0, validate=validate.Range(min=0, max=9, min_inclusive=False))


class _Loose(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = Text(validate=validate.OneOf(["a", "b\x01"]))
    at = fields.DateTime()


class _Sink(Schema):
    class Meta:
        unknown = INCLUDE

    ident = fields.UUID(data_key="id", attribute="ident_")
    name = Text(multiline=True, load_default="anon", validate=[validate.Length(max=5), _not_nil])
    plain = fields.String(allow_none=True)
    kind = Text(validate=validate.OneOf(["a", "b"]))
    level = JsonInteger(validate=validate.OneOf([1, 2, [3]]))
    ratio = JsonFloat(allow_nan=True, validate=validate.Range(max=1, max_inclusive=False))
    score = JsonFloat(validate=validate.Range(min=0.5))
    flag = JsonBoolean(allow_none=True)
    when = UTCDateTime(load_default=None, validate=validate.Range(max=datetime(2030, 1, 1,
                                                                           tzinfo=UTC)))
    ids = fields.List(fields.UUID(validate=_not_nil), load_default=list,
                      validate=validate.Length(min=1, max=3))
    items = fields.List(fields.Nested(_Item, allow_none=True))
    one = fields.Nested(_Item, unknown=EXCLUDE)
    loose = fields.Nested(_Loose, allow_none=True, load_default=dict)
    tags = fields.List(Text(validate=validate.Regexp(r"[a-z]+$")))
    extra = CleanDict()
    raw = fields.Raw(allow_none=True)
    code = Text(validate=validate.Regexp(r"^[A-Z]{2}$"))


SINK_VALUES = st.one_of(
    JSON, st.sampled_from([UUID, str(uuid.UUID(int=0)), "a", "b", "b\x01", "abc", "ABC", "AB",
                           "2026-03-02T01:00:00", "2031-01-01T00:00:00Z", 0.5, 0.99, 1.0, 2, 3,
                           [3], "ab\ncd", "ab\tc"]),
    st.lists(st.sampled_from([UUID, str(uuid.UUID(int=0)), "x", "ab", None, {"code": "abc"},
                              {"code": "abc", "n": 3}, {"code": "abc", "n": "3"}]), max_size=4),
    st.fixed_dictionaries({"code": st.sampled_from(["abc", "ab"])},
                          optional={"n": st.sampled_from([1, 9, "2"]), "x": JSON,
                                    "kind": st.sampled_from(["a", "b\x01"]),
                                    "at": st.sampled_from(["2026-03-02T01:00:00", "x"])}),
)
SINK = st.dictionaries(st.sampled_from(["id", "ident", "ident_", "name", "plain", "kind", "level",
                                        "ratio", "score", "flag", "when", "ids", "items", "one",
                                        "loose", "tags", "extra", "raw", "code", "other"]),
                       SINK_VALUES, max_size=8)
# Characters near a UUID's: braces, urn, signs, underscores, spaces, a digit int() also reads.
UUID_CHARS = "0123456789abcdefABCDEFg-{}:urnid_+ \u0663"
UUID_LIKE = st.one_of(
    st.text(alphabet=UUID_CHARS, min_size=28, max_size=42),
    st.builds(lambda at, text, cut: UUID[:at] + text + UUID[at + cut:], st.integers(0, 36),
              st.text(alphabet=UUID_CHARS, max_size=5), st.integers(0, 5)),
    st.builds(lambda at, text: UUID.replace("-", "")[:at] + text, st.integers(0, 32),
              st.text(alphabet=UUID_CHARS, max_size=4)),
)
NAMES = st.text(alphabet="ab\t\n\x01é", max_size=6)
SINK_VALID = st.fixed_dictionaries({}, optional={
    "id": st.uuids().map(str), "name": NAMES, "plain": NAMES | st.none(),
    "kind": st.sampled_from(["a", "b"]), "level": st.sampled_from([1, 2, [3]]),
    "ratio": st.floats(max_value=0.99), "score": st.floats(min_value=0.5, allow_infinity=False),
    "flag": st.booleans() | st.none(),
    "when": st.sampled_from(["2026-03-02T01:00:00Z", "2026-03-02T09:00:00+08:00", None]),
    "ids": st.lists(st.uuids().map(str), min_size=1, max_size=3),
    "items": st.lists(st.none() | st.fixed_dictionaries({"code": st.just("abc")}, optional={
        "n": st.integers(1, 9)}), max_size=3),
    "one": st.fixed_dictionaries({"code": st.just("abc"), "x": JSON}),
    "loose": st.none() | st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from(["a", "b\x01"]), "at": st.just("2026-03-02T01:00:00"),
        "zzz": JSON}),
    "tags": st.lists(st.sampled_from(["ab", "c"]), max_size=2), "extra": st.just({"a": [1]}),
    "raw": JSON, "code": st.just("AB"), "other": JSON,
})
FAST_SINK = FastLoad(_Sink())


@settings(max_examples=500, deadline=None)
@given(data=st.data(), uuid_like=UUID_LIKE)
def test_every_option_of_the_generated_load_equals_schema_load(data, uuid_like):
    assert FAST_SINK.compiled
    _assert_same(FAST_SINK, data.draw(SINK_VALID | SINK_VALID.flatmap(_damaged) | SINK | JSON))
    # The quick UUID step is uuid.UUID's own, on any spelling.
    _assert_same(FAST_SINK, {"id": uuid_like, "ids": [uuid_like]})


def test_uuids_are_remembered_within_bounds_and_refused_ones_not():
    from schemas import fastload

    assert fastload._FAST_UUID  # this Python's UUID: the quick construction is checked and used
    fast = FastLoad(MutationBaseSchema())
    first, again = (fast.load({"plan_version_id": UUID.upper()})["plan_version_id"]
                    for _ in range(2))
    assert first == again == uuid.UUID(UUID) and first.is_safe is uuid.SafeUUID.unknown
    for _ in range(fastload._UUIDS_KEPT + 10):
        fresh = uuid.uuid4()
        assert fast.load({"plan_version_id": str(fresh)}) == {"plan_version_id": fresh}
        assert len(fastload._UUIDS) <= fastload._UUIDS_KEPT
    wrong = UUID[:-1] + "g"
    with pytest.raises(ValidationError):
        fast.load({"plan_version_id": wrong})
    assert wrong not in fastload._UUIDS


class _DumpItem(Schema):
    code = fields.String()
    n = fields.Integer(as_string=True)


class _DumpSink(Schema):
    id = fields.UUID()
    name = Text(dump_default="anon")
    count = fields.Integer(attribute="n", data_key="total")
    items = fields.List(fields.Nested(_DumpItem))  # a dict's own attribute: get_value finds it
    keys = fields.Raw(dump_default=list)  # a dict's own attribute too: never missing
    rank = fields.Raw(dump_default=list)
    flag = fields.Boolean()
    when = UTCDateTime()
    sub = fields.Nested(_DumpItem, allow_none=True)
    tags = ListOrEmpty(Text())
    num = fields.Float()
    many = fields.List(fields.Integer())


DUMP_VALUES = st.one_of(JSON, st.sampled_from([uuid.UUID(UUID), "x", 3, True, 1.5, None]),
                        st.lists(st.fixed_dictionaries({}, optional={"code": SCALARS,
                                                                     "n": st.integers()})),
                        st.fixed_dictionaries({}, optional={"code": SCALARS, "n": st.integers()}))


@settings(max_examples=400, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["id", "name", "n", "count", "total", "items", "keys",
                                            "rank", "flag", "when", "sub", "tags", "num", "many"]),
                           DUMP_VALUES, max_size=8))
def test_every_option_of_the_generated_dump_equals_schema_dump(obj):
    schema = _DumpSink()
    fast = FastDump(schema)
    assert fast.compiled

    def outcome(dump):
        try:
            return "dumped", dump(obj)
        except Exception as error:  # noqa: BLE001 (both must fail alike on what cannot be dumped)
            return "raised", type(error)

    assert outcome(fast.dump) == outcome(schema.dump)


class _Tree(Schema):
    name = Text(required=True)
    kids = fields.List(fields.Nested(lambda: _Tree()), load_default=list)
    parent = fields.Nested(lambda: _Tree(), allow_none=True)


TREES = st.recursive(st.fixed_dictionaries({"name": st.sampled_from(["a", "b\x00"])}),
                     lambda inner: st.fixed_dictionaries(
                         {"name": st.just("n")}, optional={"kids": st.lists(inner, max_size=2),
                                                           "parent": inner | st.none()}),
                     max_leaves=6)


@settings(max_examples=100, deadline=None)
@given(tree=TREES | JSON)
def test_a_schema_nested_in_itself_and_an_odd_class_name(tree):
    # The nested self takes its own step (Schema.load); the schema itself is still compiled.
    fast = FastLoad(_Tree())
    assert fast.compiled
    _assert_same(fast, tree)
    odd = FastLoad(type("odd name-1", (_Item,), {})())
    assert odd.compiled and odd.load({"code": "abc"}) == {"code": "abc", "n": 0}
    assert FastDump(type("odd name-2", (_DumpItem,), {})()).dump({"n": 1}) == {"n": "1"}
