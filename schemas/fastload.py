"""A quicker walk through a marshmallow schema for the push hot path: same schema, same result.

Schema.load spends most of its time in generic machinery (an error store, a closure and a
validator chain built per field per call). FastLoad walks the same schema's fields and calls
what Schema.load would call for each of them (the field's own `_deserialize`, then its
validators), nested schemas included. On the first thing it does not handle, and on any error,
it hands the input to Schema.load itself: every error is the schema's own, worded the same.
Schemas with hooks (pre_load, post_load, validates...) or unusual options always take Schema.load.
FastDump does the same for Schema.dump (each field's get_value and `_serialize`).
tests/test_fastload.py checks on random inputs that both give the same result or the same error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
        if not isinstance(data, Mapping):
            raise _Fallback
        out = dict_class()
        for key, target, step in steps:
            value = step(data.get(key, missing), key, data)
            if value is not missing:
                out[target] = value
        if unknown != EXCLUDE:
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

    def deserialize(value: Any, attr: Any, data: Any) -> Any:
        # Field.deserialize: missing, None, _deserialize, then every validator.
        if value is missing:
            if required:
                raise _Fallback
            return default() if callable(default) else default
        if value is None:
            if allow_none:
                return None
            raise _Fallback
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
        return field._deserialize  # noqa: SLF001 (the very step Field.deserialize runs)
    return None


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
