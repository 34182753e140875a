"""A quicker walk through a marshmallow schema for the push hot path: same schema, same result.

Schema.load spends most of its time in generic machinery (an error store, a closure and a
validator chain built per field per call). FastLoad walks the same schema's fields and calls
what Schema.load would call for each of them (the field's own `_deserialize`, then its
validators), nested schemas included. On the first thing it does not handle, and on any error,
it hands the input to Schema.load itself: every error is the schema's own, worded the same.
Schemas with hooks (pre_load, post_load, validates...) or unusual options always take Schema.load.
Common fields of the wire contract take a quick step on their usual input (`_QUICK`: a string
UUID, a clean string, a finite float, an aware ISO time...), the very result their own
`_deserialize` gives; anything else goes through the field's `_deserialize` as before.
FastDump does the same for Schema.dump (each field's get_value and `_serialize`).
tests/test_fastload.py checks on random inputs that both give the same result or the same error.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, fields, missing
from marshmallow.decorators import (
    POST_DUMP,
    POST_LOAD,
    PRE_DUMP,
    PRE_LOAD,
    VALIDATES,
    VALIDATES_SCHEMA,
)
from marshmallow.utils import is_collection

from schemas.common import (
    _CONTROL,
    _CONTROL_ONE_LINE,
    JsonBoolean,
    JsonFloat,
    JsonInteger,
    Text,
    UTCDateTime,
)

# Field types whose `_deserialize` only looks at the value itself (Nested and List are walked).
_PLAIN = (fields.String, fields.UUID, fields.Number, fields.Boolean, fields.DateTime,
          fields.Mapping, fields.Raw)
_Step = Callable[[Any, Any, Any], Any]


class _Fallback(Exception):  # noqa: N818 (a signal, not a failure)
    """Not handled here: Schema.load decides."""


class FastLoad:
    """Load like `schema.load(data)` (same result, same ValidationError), usually faster."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._load = _compile_schema(schema)

    @property
    def compiled(self) -> bool:
        """Whether the quick walk is used (otherwise every load is Schema.load)."""
        return self._load is not None

    def load(self, data: Any) -> Any:
        """Return the loaded data or raise the schema's ValidationError."""
        if self._load is not None:
            try:
                return self._load(data)
            except Exception:  # noqa: BLE001 (any surprise: the schema itself decides and words it)
                pass
        return self.schema.load(data)


def _compile_schema(schema: Schema) -> Callable[[Any], Any] | None:
    hooks = schema._hooks  # noqa: SLF001 (read only: which processors the schema declares)
    if (schema.many or schema.partial or schema.unknown not in (RAISE, INCLUDE, EXCLUDE)
            or any(hooks.get(name) for name in (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA))):
        return None
    steps: list[tuple[str, str, _Step]] = []
    for attr_name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else attr_name
        target = field.attribute or attr_name
        step = _compile_field(field)
        if step is None or "." in target:
            return None
        steps.append((key, target, step))
    known = {key for key, _, _ in steps}
    dict_class, unknown = schema.dict_class, schema.unknown

    def load(data: Any) -> Any:
        # Schema._deserialize (many=False, partial=None), without its error bookkeeping.
        if type(data) is not dict and not isinstance(data, Mapping):
            raise _Fallback
        out = dict_class()
        present = 0  # members of data that are fields: when all are, nothing is unknown
        for key, target, step in steps:
            raw = data.get(key, missing)
            if raw is not missing:
                present += 1
            value = step(raw, key, data)
            if value is not missing:
                out[target] = value
        if unknown != EXCLUDE and present != len(data):
            extra = set(data) - known
            if extra and unknown == RAISE:
                raise _Fallback
            for key in extra:
                out[key] = data[key]
        return out

    return load


def _compile_field(field: fields.Field) -> _Step | None:
    if field.pre_load or field.post_load:
        return None
    core = _core(field)
    if core is None:
        return None
    required, allow_none, default = field.required, field.allow_none, field.load_default
    validators = tuple(field.validators)

    def absent(value: Any) -> Any:
        # Field.deserialize on a missing member or None.
        if value is missing:
            if required:
                raise _Fallback
            return default() if callable(default) else default
        if allow_none:
            return None
        raise _Fallback

    if not validators:
        def deserialize(value: Any, attr: Any, data: Any) -> Any:
            return absent(value) if value is missing or value is None else core(value, attr, data)
        return deserialize
    if len(validators) == 1:
        (validator,) = validators

        def deserialize(value: Any, attr: Any, data: Any) -> Any:
            if value is missing or value is None:
                return absent(value)
            output = core(value, attr, data)
            validator(output)
            return output
        return deserialize

    def deserialize(value: Any, attr: Any, data: Any) -> Any:
        # Field.deserialize: missing, None, _deserialize, then every validator.
        if value is missing or value is None:
            return absent(value)
        output = core(value, attr, data)
        for validator in validators:
            validator(output)
        return output

    return deserialize


def _core(field: fields.Field) -> _Step | None:
    if isinstance(field, fields.Nested):
        if type(field) is not fields.Nested or field.many or field.unknown is not None:
            return None
        nested = field.schema
        inner = None if nested.many else _compile_schema(nested)
        return None if inner is None else (lambda value, attr, data: inner(value))
    if isinstance(field, fields.List):
        item = _compile_field(field.inner) if type(field) is fields.List else None
        if item is None:
            return None

        def each(value: Any, attr: Any, data: Any) -> list[Any]:
            # List._deserialize: a collection, each item through the inner field.
            if not is_collection(value):
                raise _Fallback
            return [item(one, None, None) for one in value]

        return each
    if isinstance(field, _PLAIN):
        own = field._deserialize  # noqa: SLF001 (the very step Field.deserialize runs)
        quick = _QUICK.get(type(field))
        return (quick(field, own) if quick else None) or own
    return None


def _quick_uuid(field: fields.Field, own: _Step) -> _Step | None:
    # UUID._validated: a string goes to uuid.UUID (a ValueError: the schema words the error).
    def step(value: Any, attr: Any, data: Any) -> Any:
        return uuid.UUID(value) if type(value) is str else own(value, attr, data)
    return step


def _quick_text(field: fields.Field, own: _Step) -> _Step | None:
    # String._deserialize returns a str as it is; Text then refuses control characters.
    search = (_CONTROL if field.multiline else _CONTROL_ONE_LINE).search

    def step(value: Any, attr: Any, data: Any) -> Any:
        if type(value) is str and search(value) is None:
            return value
        return own(value, attr, data)
    return step


def _quick_float(field: fields.Field, own: _Step) -> _Step | None:
    # Float._validated: float(value), then NaN and infinities refused when allow_nan is False.
    if field.allow_nan is not False:
        return None

    def step(value: Any, attr: Any, data: Any) -> Any:
        if type(value) is float and math.isfinite(value):
            return value
        return own(value, attr, data)
    return step


def _quick_same(kind: type) -> Callable[[fields.Field, _Step], _Step]:
    # JsonInteger and JsonBoolean return a value of exactly their type as it is.
    def quick(field: fields.Field, own: _Step) -> _Step:
        def step(value: Any, attr: Any, data: Any) -> Any:
            return value if type(value) is kind else own(value, attr, data)
        return step
    return quick


def _quick_utc(field: fields.Field, own: _Step) -> _Step | None:
    # UTCDateTime: a clean one-line string, datetime.fromisoformat (the "iso" format), aware,
    # in UTC. Anything else, naive times included, goes through the field itself.
    if field.format != "iso" or field.default_timezone is not None:
        return None
    search, parse = _CONTROL_ONE_LINE.search, datetime.fromisoformat

    def step(value: Any, attr: Any, data: Any) -> Any:
        if type(value) is str and search(value) is None:
            parsed = parse(value)
            if parsed.utcoffset() is not None:
                return parsed.astimezone(UTC)
        return own(value, attr, data)
    return step


def _quick_dict(field: fields.Field, own: _Step) -> _Step | None:
    # Mapping._deserialize without key or value fields: a copy of the mapping.
    if field.key_field is not None or field.value_field is not None:
        return None

    def step(value: Any, attr: Any, data: Any) -> Any:
        return dict(value) if type(value) is dict else own(value, attr, data)
    return step


# Exact field type -> its quick step (a subclass may change the rule: it takes its own path).
_QUICK: dict[type, Callable[[fields.Field, _Step], _Step | None]] = {
    fields.UUID: _quick_uuid, Text: _quick_text, JsonFloat: _quick_float,
    JsonInteger: _quick_same(int), JsonBoolean: _quick_same(bool), UTCDateTime: _quick_utc,
    fields.Dict: _quick_dict,
}


class FastDump:
    """Dump like `schema.dump(obj)` (same result), usually faster."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._dump = _compile_dump(schema)

    @property
    def compiled(self) -> bool:
        """Whether the quick walk is used (otherwise every dump is Schema.dump)."""
        return self._dump is not None

    def dump(self, obj: Any) -> Any:
        """Return what schema.dump(obj) returns."""
        if self._dump is not None:
            try:
                return self._dump(obj)
            except Exception:  # noqa: BLE001 (any surprise: the schema itself decides)
                pass
        return self.schema.dump(obj)


def _compile_dump(schema: Schema) -> Callable[[Any], Any] | None:
    hooks = schema._hooks  # noqa: SLF001 (read only: which processors the schema declares)
    if schema.many or hooks.get(PRE_DUMP) or hooks.get(POST_DUMP):
        return None
    steps: list[tuple[str, str, fields.Field, Callable[[Any, str, Any], Any]]] = []
    for attr_name, field in schema.dump_fields.items():
        serialize = _serializer(field)
        if serialize is None or not field._CHECK_ATTRIBUTE:  # noqa: SLF001
            return None
        key = field.data_key if field.data_key is not None else attr_name
        steps.append((attr_name, key, field, serialize))
    dict_class, accessor = schema.dict_class, schema.get_attribute
    # A plain dict is read as utils.get_value reads it (no dots, no attribute renames, the
    # schema's accessor not overridden).
    plain = (type(schema).get_attribute is Schema.get_attribute
             and all(field.attribute is None and "." not in name for name, _, field, _ in steps))

    def dump(obj: Any) -> Any:
        # Schema._serialize (many=False) with Field.serialize inlined.
        out = dict_class()
        by_key = plain and type(obj) is dict
        for attr_name, key, field, serialize in steps:
            if by_key:  # what utils.get_value does for a dict: the item, else the attribute
                value = obj[attr_name] if attr_name in obj else getattr(obj, attr_name, missing)
            else:
                value = field.get_value(obj, attr_name, accessor=accessor)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = serialize(value, attr_name, obj)
        return out

    return dump


def _serializer(field: fields.Field) -> Callable[[Any, str, Any], Any] | None:
    if isinstance(field, fields.Nested):
        if type(field) is not fields.Nested or field.many or field.schema.many:
            return None
        inner = _compile_dump(field.schema)
        return None if inner is None else (
            lambda value, attr, obj: None if value is None else inner(value))
    if isinstance(field, fields.List):
        item = _serializer(field.inner) if type(field) is fields.List else None
        if item is None:
            return None
        # List._serialize: each item through the inner field's _serialize.
        return lambda value, attr, obj: (
            None if value is None else [item(one, attr, obj) for one in value])
    if isinstance(field, _PLAIN):
        return field._serialize  # noqa: SLF001 (the very step Field.serialize runs)
    return None
