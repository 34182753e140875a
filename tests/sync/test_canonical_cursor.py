"""Canonical JSON, seal and cursor: pure functions, no app."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.canonical import (
    _SLOW,
    _canonical_slow,
    _fast_form,
    canonical_json,
    compute_seal,
    seal_matches,
)
from sync.cursor import Cursor, CursorError, decode_cursor, encode_cursor, scope_fingerprint


def test_keys_sorted_no_whitespace_non_ascii_kept():
    assert canonical_json({"b": 1, "a": [True, None], "名": "抽查"}) == \
        '{"a":[true,null],"b":1,"名":"抽查"}'.encode()


@pytest.mark.parametrize(("value", "text"), [
    (5.0, "5"), (0.1, "0.1"), (1e-7, "1e-7"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (-0.000001, "-0.000001"), (36.7075, "36.7075"), (0.0, "0"), (2.5e-5, "0.000025"),
])
def test_numbers_are_written_as_javascript_writes_them(value, text):
    assert canonical_json(value) == text.encode()


def test_seal_is_sha256_of_the_payload_without_seal():
    payload = {"verdict": "compliant", "gps": {"lat": 36.7, "lon": 119.1}}
    expected = hashlib.sha256(b'{"gps":{"lat":36.7,"lon":119.1},"verdict":"compliant"}').hexdigest()
    assert compute_seal(payload) == expected
    assert seal_matches({**payload, "seal": expected})
    assert not seal_matches({**payload, "verdict": "issues", "seal": expected})
    assert not seal_matches(payload)


def test_nan_has_no_canonical_form():
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


@pytest.mark.parametrize("value", [{1: "x"}, {"a": {None: 1}}, {"a": object()}, b"bytes"])
def test_a_value_with_no_json_form_is_a_type_error(value):
    with pytest.raises(TypeError):
        canonical_json(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12)


@settings(max_examples=50, deadline=None)
@given(json_values)
def test_canonical_json_round_trips_and_is_stable(value):
    text = canonical_json(value)
    reparsed = json.loads(text)
    assert canonical_json(reparsed) == text


# Leaves the fast path sees: UUIDs, floats in and around the range it takes, integral floats
# around 2**53 (below, written as their int), ints around 64 bits
# (beyond them orjson refuses and the reference writer decides), control characters, characters
# beyond U+FFFF (in keys they change the order) and lone surrogates (no UTF-8 form).
fast_leaves = (st.uuids() | st.floats(1e-5, 1e17) | st.floats(-1e17, -1e-5)
               | st.integers(-2**54, 2**54).map(float) | st.sampled_from([-0.0, 2.0**53, 1e16])
               | st.integers(-2**65, 2**65) | st.text(st.characters(max_codepoint=0x1F), max_size=4)
               | st.text(st.characters(min_codepoint=0xFFF0), max_size=3))
fast_values = st.recursive(
    st.none() | st.booleans() | st.text() | fast_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3) | st.text(st.characters(min_codepoint=0xFFF0),
                                                     max_size=2), inner, max_size=6),
    max_leaves=16)


@settings(max_examples=600, deadline=None)
@given(json_values | fast_values)
def test_the_fast_path_writes_what_the_reference_writer_writes(value):
    try:
        expected = _canonical_slow(value)
    except (TypeError, ValueError) as error:  # a lone surrogate has no UTF-8 form
        with pytest.raises(type(error)):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


def test_a_uuid_is_written_as_its_string_on_both_paths():
    value = uuid.UUID("0B7E5C1E-3A55-4C8E-9A51-0F6E1C2D3B4A")
    text = b'{"a":"0b7e5c1e-3a55-4c8e-9a51-0f6e1c2d3b4a","b":1}'
    assert _fast_form({"b": 1, "a": value}) is not _SLOW
    assert canonical_json({"b": 1, "a": value}) == text
    assert canonical_json({"b": 1.0, "a": value}) == text  # 1.0: the reference writer
    assert _canonical_slow({"b": 1, "a": value}) == text


@pytest.mark.parametrize("value", [2**64, -2**63 - 1, "\ud800", [1, {"a": "\udfff"}]])
def test_what_orjson_refuses_the_reference_writer_decides(value):
    assert _fast_form(value) is value
    try:
        expected = _canonical_slow(value)
    except ValueError:  # UnicodeEncodeError: no UTF-8 form, as before orjson
        with pytest.raises(ValueError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected == str(value).encode()


@pytest.mark.parametrize("value", [
    {"lat": 36.70751234, "lon": 119.161, "accuracy": 12.5, "captured_at": "2026-03-02T01:00:00Z",
     "mocked": False, "名": ["抽查", 1, None, True]},
    [0.0001, 123456789012345.6, -7.25],
])
def test_ordinary_values_take_the_fast_path_as_they_are(value):
    assert _fast_form(value) is value
    assert canonical_json(value) == _canonical_slow(value)


def test_integral_floats_take_the_fast_path_as_ints_and_the_value_is_not_changed():
    value = {"gps": {"lat": 36.7, "accuracy": 20.0}, "rate": 1.0, "at": ("x", -0.0, 5), "n": 3}
    form = _fast_form(value)
    assert form == {"gps": {"lat": 36.7, "accuracy": 20}, "rate": 1, "at": ["x", 0, 5], "n": 3}
    assert type(form["rate"]) is int and type(form["gps"]["accuracy"]) is int
    assert value["rate"] == 1.0 and type(value["rate"]) is float  # the caller's value kept
    assert type(value["gps"]["accuracy"]) is float and value["at"] == ("x", -0.0, 5)
    assert canonical_json(value) == _canonical_slow(value) == \
        b'{"at":["x",0,5],"gps":{"accuracy":20,"lat":36.7},"n":3,"rate":1}'


@pytest.mark.parametrize("value", [
    1e-5, 2.0**53, 1e16, 1e21, float("nan"), float("inf"), {"a\U00010000": 1, "a\uffff": 2},
    {1: "x"}, {"a": (1, 2.5e-5)}, [1, object()],
])
def test_values_the_fast_path_writes_otherwise_take_the_reference_writer(value):
    assert _fast_form(value) is _SLOW


def test_cursor_round_trip_and_garbage():
    cursor = Cursor(epoch="e1", seq=42, scope=scope_fingerprint(["u", "inspector", None]))
    assert decode_cursor(encode_cursor(cursor)) == cursor
    assert cursor.is_current("e1", cursor.scope)
    assert not cursor.is_current("e2", cursor.scope)
    for garbage in ["", "abc", "YzE6ZTE6eDpz", "YzE6ZTE6LTE6cw"]:
        with pytest.raises(CursorError):
            decode_cursor(garbage)


def test_scope_fingerprint_changes_with_the_scope():
    assert scope_fingerprint(["u", "inspector", "county-a"]) != scope_fingerprint(["u", "inspector",
                                                                                   "county-b"])
