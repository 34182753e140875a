"""Canonical JSON and the visit seal.

Canonical JSON here is RFC 8785 (JCS) in practice: object keys sorted (by UTF-16 code units,
as JavaScript sorts them), no insignificant whitespace, UTF-8 with non-ASCII kept, and numbers
written the way JavaScript's JSON.stringify writes them (so 5.0 is "5" and 1e-7 is "1e-7").
The field app seals in JavaScript and the server re-seals in Python: both must produce the
same bytes for the same value. Beyond JSON's values, a uuid.UUID is written as the string str()
gives it (lowercase, hyphenated): the server's record seals hand their ids over as they are.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import orjson

_encode_string = json.JSONEncoder(ensure_ascii=False).encode
# orjson writes the same bytes as _write for every value `_fast_form` accepts: exact dicts,
# lists and tuples, str keys whose code-point order is their UTF-16 order, strings, ints,
# booleans, None, UUIDs, floats whose shortest form is JavaScript's (see _c_float), and integral
# floats below 2**53 given as their int. What it cannot write (an int beyond 64 bits, a lone
# surrogate, deep nesting) it refuses, and _write decides. tests/sync/test_canonical_cursor.py
# compares the two.
_SORT_KEYS = orjson.OPT_SORT_KEYS


def _number(value: float) -> str:
    """Write a float as ECMAScript Number::toString does (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, the same digits JavaScript picks.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = exponent + k  # value = 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        e = n - 1
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, uuid.UUID):
        out.append(f'"{value}"')
    elif isinstance(value, dict):
        out.append("{")
        if not all(isinstance(key, str) for key in value):
            raise TypeError("object keys must be strings")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(_encode_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def _c_float(value: float) -> bool:
    # repr and orjson write 1e-4 <= |x| < 1e16 positionally with the shortest round-trip
    # digits, as JavaScript does; only an integral float differs there (orjson "5.0", JS "5").
    return 1e-4 <= abs(value) < 1e16 and not value.is_integer()


# Below 2**53 an integral float is exactly its int, and JavaScript writes it as the int's digits
# (5.0 as "5", -0.0 as "0"); above, its shortest digits end in zeros the int does not have.
_EXACT_INT = 2.0**53


def _bmp(key: str) -> bool:
    # Python sorts keys by code point, JavaScript by UTF-16 unit: the same order unless a key
    # holds a character beyond U+FFFF (written as two surrogates in UTF-16).
    return all(ord(c) < 0x10000 for c in key)


# Leaf types orjson writes as _write does, whatever their value (an int beyond 64 bits aside,
# which orjson refuses).
_C_LEAVES = frozenset((str, int, bool, type(None), uuid.UUID))
# _fast_form's answer for a value only _write writes canonically.
_SLOW = object()


def _fast_form(value: Any) -> Any:
    """Return value as orjson writes it exactly as _write does, or _SLOW (then _write decides).

    The same object unless it holds an integral float below 2**53, which becomes its int; a
    dict, list or tuple holding one is copied (a tuple as a list), never changed.
    """
    kind = type(value)
    if kind is dict:
        return _fast_dict(value, keys_known=False)
    if kind is list or kind is tuple:
        items = None
        for index, item in enumerate(value):
            form = _fast_form(item)
            if form is _SLOW:
                return _SLOW
            if form is not item:
                if items is None:
                    items = list(value)
                items[index] = form
        return value if items is None else items
    if kind in _C_LEAVES:
        return value
    if kind is float:
        if _c_float(value):
            return value
        if value.is_integer() and abs(value) < _EXACT_INT:
            return int(value)
    return _SLOW


def canonical_json(value: Any) -> bytes:
    """Serialise a JSON value canonically: sorted keys, no whitespace, UTF-8, JS number form.

    value: JSON values (dict with str keys, list, tuple, str, int, float, bool, None) and UUIDs.
    Raises TypeError for a value with no JSON form, ValueError for NaN and infinities.
    Values orjson writes identically (_fast_form) go through it (a sign-in's record seal:
    11 -> 0.7 µs).
    """
    form = _fast_form(value)
    if form is not _SLOW:
        try:
            return orjson.dumps(form, option=_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # the reference writer writes it or raises the error this function promises
    return _canonical_slow(value)


def canonical_json_fields(body: dict[str, Any]) -> bytes:
    """canonical_json(body) for an object whose keys are known ASCII strings (a record's field
    names, fixed by the caller): only its values are gated (_fast_form), not its keys.

    body: str keys of ASCII characters only (not checked; other keys may sort differently);
    values as canonical_json takes them. Same bytes and errors as canonical_json(body).
    """
    form = _fast_dict(body, keys_known=True)
    if form is not _SLOW:
        try:
            return orjson.dumps(form, option=_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return _canonical_slow(body)


def _fast_dict(value: dict, keys_known: bool) -> Any:
    """_fast_form of a dict; keys_known: its keys are ASCII strings already (not checked)."""
    copy = None
    for key, item in value.items():
        if not keys_known and (type(key) is not str or not (key.isascii() or _bmp(key))):
            return _SLOW
        kind = type(item)
        if kind in _C_LEAVES or kind is float and _c_float(item):
            continue
        form = _fast_form(item)
        if form is _SLOW:
            return _SLOW
        if form is not item:
            if copy is None:
                copy = dict(value)
            copy[key] = form
    return value if copy is None else copy


def _canonical_slow(value: Any) -> bytes:
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def compute_seal(payload: dict[str, Any]) -> str:
    """Return the SHA-256 hex of the canonical JSON of a payload without its `seal` field."""
    unsealed = {k: v for k, v in payload.items() if k != "seal"}
    return hashlib.sha256(canonical_json(unsealed)).hexdigest()


def seal_matches(payload: dict[str, Any]) -> bool:
    """True when the payload's `seal` is the seal of the rest of the payload."""
    seal = payload.get("seal")
    if not isinstance(seal, str):
        return False
    try:
        return compute_seal(payload) == seal.lower()
    except (TypeError, ValueError):
        return False
