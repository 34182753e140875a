"""A quicker load (and dump) through a marshmallow schema for the push hot path: same schema,
same result.

Schema.load spends most of its time in generic machinery (an error store, a closure and a
validator chain built per field per call, a method call or more per step). FastLoad compiles
each schema once into one Python function written for its fields (source built from them and
exec'd, as dataclasses and attrs do; the source is put in linecache, so tracebacks and profiles
show it). Per member the function reads the value and takes, inline, a quick step on the usual
value of a common field of the wire contract (`_quick_load`: a string UUID, a clean string, a
finite float, an aware ISO time, a JSON object...), the very result the field's own
`_deserialize` gives (UUIDs of recent strings are remembered: a batch repeats its ids, and a
UUID is immutable), then checks the field's validators, inline where their rule is simple and
exact (Range, Length, OneOf, Regexp), else by calling them. A missing member, None and any other
value go as Field.deserialize takes them (the default, None, the field's own `_deserialize` and
validators). Nested schemas and list items have functions of their own, called.
On the first thing it does not handle, and on any error, it hands the input to Schema.load
itself: every error is the schema's own, worded the same. Schemas with hooks (pre_load,
post_load, validates...) or unusual options, and fields that change Field's own steps, always
take Schema.load.
FastDump does the same for Schema.dump (each field's value and `_serialize`; inline for a
string, an integer, a boolean, a list and a nested object as they usually come).
tests/plans/test_fastload.py checks on random inputs, for every schema compiled, that both give
the same result or the same error.
"""

from __future__ import annotations

import itertools
import linecache
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, fields, missing, validate
from marshmallow.decorators import (
    POST_DUMP,
    POST_LOAD,
    PRE_DUMP,
    PRE_LOAD,
    VALIDATES,
    VALIDATES_SCHEMA,
)

from schemas.common import (
    _CONTROL,
    _CONTROL_ONE_LINE,
    JsonBoolean,
    JsonFloat,
    JsonInteger,
    Text,
    UTCDateTime,
)

# Field types whose `_deserialize` only looks at the value itself (Nested and List have quick
# steps of their own; any other field makes its schema take Schema.load).
_PLAIN = (fields.String, fields.UUID, fields.Number, fields.Boolean, fields.DateTime,
          fields.Mapping, fields.Raw, fields.Nested, fields.List)
_Field = fields.Field


class _Fallback(Exception):  # noqa: N818 (a signal, not a failure)
    """Not handled here: Schema.load decides."""


class FastLoad:
    """Load like `schema.load(data)` (same result, same ValidationError), usually faster."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._load = _compile_load(schema)

    @property
    def compiled(self) -> bool:
        """Whether the generated function is used (otherwise every load is Schema.load)."""
        return self._load is not None

    def load(self, data: Any) -> Any:
        """Return the loaded data or raise the schema's ValidationError."""
        if self._load is not None:
            try:
                return self._load(data)
            except Exception:  # noqa: BLE001 (any surprise: the schema itself decides and words it)
                pass
        return self.schema.load(data)


class FastDump:
    """Dump like `schema.dump(obj)` (same result), usually faster."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._dump = _compile_dump(schema)

    @property
    def compiled(self) -> bool:
        """Whether the generated function is used (otherwise every dump is Schema.dump)."""
        return self._dump is not None

    def dump(self, obj: Any) -> Any:
        """Return what schema.dump(obj) returns."""
        if self._dump is not None:
            try:
                return self._dump(obj)
            except Exception:  # noqa: BLE001 (any surprise: the schema itself decides)
                pass
        return self.schema.dump(obj)


# --- the generated source ---------------------------------------------------------------------

_serial = itertools.count(1)
_NOT_IN_NAMES = re.compile(r"\W")  # a class name may hold anything: not in a Python name


class _Source:
    """One generated module: functions' lines and the objects their names stand for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.open: set[type] = set()  # the schemas whose functions are being written
        self.names: dict[str, Any] = {
            "MISSING": missing, "FALLBACK": _Fallback, "UTC": UTC, "UUID": uuid.UUID,
            "UUIDS": _UUIDS, "NEW": object.__new__, "SETATTR": object.__setattr__,
            "UNKNOWN": uuid.SafeUUID.unknown, "ISFINITE": math.isfinite,
            "FROMISO": datetime.fromisoformat, "AWARE_UTC": _aware_utc,
        }

    @staticmethod
    def unique(hint: str) -> str:
        """A name no other generated code uses."""
        return _NOT_IN_NAMES.sub("_", hint) + f"_{next(_serial)}"

    def name(self, value: Any, hint: str) -> str:
        """A global name of the generated code standing for `value`."""
        name = self.unique(hint)
        self.names[name] = value
        return name

    def function(self, name: str, argument: str, body: list[str]) -> str:
        """Add `def name(argument):` with body; return the name."""
        self.lines += [f"def {name}({argument}):", *("    " + line for line in body), ""]
        return name

    def build(self, name: str, label: str) -> Callable[[Any], Any]:
        """Compile and run the source; return its function `name`."""
        text = "\n".join(self.lines)
        filename = f"<fastload {label} #{next(_serial)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
        exec(compile(text, filename, "exec"), self.names)  # noqa: S102 (our own source, from fields)
        return self.names[name]


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _aware_utc(moment: datetime) -> datetime:
    # AwareDateTime refuses a naive time (no default zone here); UTCDateTime then turns it to UTC,
    # and refuses a time whose UTC is outside years 1..9999 (astimezone's OverflowError).
    if moment.utcoffset() is None:
        raise _Fallback
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _Fallback from None


def _standard(field: _Field, *methods: str) -> bool:
    """Whether the field's class keeps Field's own `methods` (so the generated steps are its)."""
    return all(getattr(type(field), method) is getattr(_Field, method) for method in methods)


# Recent UUID strings and their UUIDs: a batch repeats its visit, class, plan and trainee ids.
# A UUID is immutable, so one object serves every load of its string. Emptied when full.
_UUIDS: dict[str, uuid.UUID] = {}
_UUIDS_KEPT = 1024


def _uuid_lines(dst: str, fast: bool) -> list[str]:
    """Lines setting `dst` to uuid.UUID(value) for a str `value` (its errors too), remembered.

    fast: without uuid.UUID's argument checks. Once the dashes are gone, 32 characters that
    int(text, 16) takes are the very int uuid.UUID takes (int refuses ':' and braces, the only
    things it strips first; never negative, under 2**128), and these are the two slots it sets.
    """
    make = [f"{dst} = UUID(value)"]
    if fast:
        make = ["text = value.replace('-', '')", "if len(text) != 32:", *_indent(make), "else:",
                f"    {dst} = NEW(UUID)", f"    SETATTR({dst}, 'int', int(text, 16))",
                f"    SETATTR({dst}, 'is_safe', UNKNOWN)"]
    return [f"{dst} = UUIDS.get(value)", f"if {dst} is None:", *_indent(make),
            f"    if len(UUIDS) >= {_UUIDS_KEPT}:", "        UUIDS.clear()",
            f"    UUIDS[value] = {dst}"]


def _fast_uuid_works() -> bool:
    """Whether the fast lines make the very UUIDs uuid.UUID makes on this Python."""
    source = _Source()
    source.names["UUIDS"] = {}
    made = source.build(source.function(
        "made", "value", [*_uuid_lines("made", fast=True), "return made"]), "uuid check")
    try:
        for text in ("0b7c1c3e-5d2f-4f6a-9a51-8c1e7f0f5a01", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
                     "00000000000000000000000000000000", str(uuid.uuid4())):
            ours, theirs = made(text), uuid.UUID(text)
            if (type(ours) is not uuid.UUID or ours != theirs or repr(ours) != repr(theirs)
                    or ours.__getstate__() != theirs.__getstate__()
                    or ours.is_safe != theirs.is_safe or hash(ours) != hash(theirs)):
                return False
    except Exception:  # noqa: BLE001 (another Python's UUID: use uuid.UUID itself)
        return False
    return uuid.UUID.__slots__ == ("int", "is_safe", "__weakref__")


_FAST_UUID = _fast_uuid_works()


# --- load ------------------------------------------------------------------------------------

_LOAD_HOOKS = (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA)


def _compile_load(schema: Schema) -> Callable[[Any], Any] | None:
    source = _Source()
    name = _load_function(source, schema)
    return None if name is None else source.build(name, "load " + type(schema).__name__)


def _unless_nested_in_itself(write: Callable[[_Source, Schema], str | None]) -> Callable[
        [_Source, Schema], str | None]:
    # A schema nested in itself (a tree): the inner field takes its own step (Schema.load).
    def guarded(source: _Source, schema: Schema) -> str | None:
        kind = type(schema)
        if kind in source.open:
            return None
        source.open.add(kind)
        try:
            return write(source, schema)
        finally:
            source.open.discard(kind)
    return guarded


@_unless_nested_in_itself
def _load_function(source: _Source, schema: Schema) -> str | None:
    """Add the function loading one object of `schema` (Schema._deserialize, many=False,
    partial=None, without its error bookkeeping); return its name, or None (Schema.load only).
    """
    hooks = schema._hooks  # noqa: SLF001 (read only: which processors the schema declares)
    if (schema.many or schema.partial or schema.dict_class is not dict
            or schema.unknown not in (RAISE, INCLUDE, EXCLUDE)
            or any(hooks.get(hook) for hook in _LOAD_HOOKS)):
        return None
    body = ["if type(data) is not dict:", "    raise FALLBACK", "get = data.get", "absent = 0"]
    members: list[tuple[str, str, bool]] = []  # (key, target, may stay missing)
    for index, (attr_name, field) in enumerate(schema.load_fields.items()):
        key = field.data_key if field.data_key is not None else attr_name
        target = field.attribute or attr_name
        steps = _load_field(source, field, f"v{index}", key)
        if steps is None or "." in target:
            return None
        body += [f"value = get({key!r}, MISSING)", *steps]
        members.append((key, target, not field.required and field.load_default is missing))
    keys, targets = [key for key, _, _ in members], [target for _, target, _ in members]
    if len(set(keys)) != len(keys) or len(set(targets)) != len(targets):
        return None
    # The output, in field order: a literal up to the first member that may stay missing.
    literal = list(itertools.takewhile(lambda member: not member[2], members))
    body.append("out = {" + ", ".join(f"{target!r}: v{i}"
                                      for i, (_, target, _) in enumerate(literal)) + "}")
    for index, (_, target, maybe) in enumerate(members[len(literal):], start=len(literal)):
        body += ([f"if v{index} is not MISSING:", f"    out[{target!r}] = v{index}"] if maybe
                 else [f"out[{target!r}] = v{index}"])
    if schema.unknown != EXCLUDE:
        # Each member is a field or unknown: a count tells whether any is unknown.
        body.append(f"if len(data) + absent != {len(members)}:")
        if schema.unknown == RAISE:
            body.append("    raise FALLBACK")
        else:  # INCLUDE, in the order Schema._deserialize adds them
            known = source.name(set(keys), "KNOWN")
            body += [f"    for key in set(data) - {known}:", "        out[key] = data[key]"]
    body.append("return out")
    return source.function(source.unique("load_" + type(schema).__name__), "data", body)


def _load_field(source: _Source, field: _Field, dst: str, key: str | None) -> list[str] | None:
    """Lines setting `dst` from `value` as Field.deserialize does (key None: a list's item).

    Only the usual, valid values are handled; anything else raises (and Schema.load decides).
    """
    if (field.pre_load or field.post_load or not isinstance(field, _PLAIN)
            or not _standard(field, "deserialize", "_validate", "_validate_all",
                             "_validate_missing")):
        return None
    validators = list(field.validators)
    quick = _quick_load(source, field, dst, validators)
    lines: list[str] = []
    if quick is not None:
        condition, steps = quick
        lines += [f"if {condition}:", *_indent(steps), *_indent(_checks(source, validators, dst))]
    lines.append(("elif" if lines else "if") + " value is MISSING:")
    if key is not None:
        lines.append("    absent += 1")
    default = field.load_default
    if field.required or key is None:  # an item is never missing: Schema.load decides
        lines.append("    raise FALLBACK")
    elif default is missing or default is None:
        lines.append(f"    {dst} = {'MISSING' if default is missing else 'None'}")
    else:
        call = "()" if callable(default) else ""
        lines.append(f"    {dst} = {source.name(default, 'DEFAULT')}{call}")
    lines += ["elif value is None:",
              f"    {dst} = None" if field.allow_none else "    raise FALLBACK"]
    # The field's own step on any other value (the very call Field.deserialize makes).
    own = source.name(field._deserialize, "OWN")  # noqa: SLF001
    context = f"{key!r}, data" if key is not None else "None, None"
    lines += ["else:", f"    {dst} = {own}(value, {context})",
              f"    if {dst} is MISSING:", "        raise FALLBACK",
              *_indent(_checks(source, list(field.validators), dst))]
    return lines


def _quick_load(source: _Source, field: _Field, dst: str,
                validators: list[Any]) -> tuple[str, list[str]] | None:
    """(condition on `value`, lines setting `dst`) for the usual input of an exact field type:
    what its own `_deserialize` returns for it. May take out of `validators` one it implies.
    """
    kind = type(field)
    if kind is fields.UUID:
        # UUID._validated: uuid.UUID(value) for a string.
        return "type(value) is str", _uuid_lines(dst, _FAST_UUID)
    if kind is Text or kind is fields.String:
        # String._deserialize returns a str as it is; Text then refuses control characters,
        # which no clean choice of a OneOf holds.
        if kind is fields.String:
            return "type(value) is str", [f"{dst} = value"]
        search = (_CONTROL if field.multiline else _CONTROL_ONE_LINE).search
        for validator in validators:
            choices = _clean_choices(validator, search)
            if choices is not None:
                validators.remove(validator)
                return f"type(value) is str and value in {source.name(choices, 'CHOICES')}", [
                    f"{dst} = value"]
        return f"type(value) is str and {_clean(source, search)}", [f"{dst} = value"]
    if kind is JsonFloat and field.allow_nan is False:
        # Float._validated: float(value) (the value itself), NaN and infinities refused.
        return "type(value) is float and ISFINITE(value)", [f"{dst} = value"]
    if kind is JsonInteger or kind is JsonBoolean:
        # A value of exactly their type is returned as it is.
        return f"type(value) is {'int' if kind is JsonInteger else 'bool'}", [f"{dst} = value"]
    if kind is UTCDateTime and field.format == "iso" and field.default_timezone is None:
        # A clean one-line string, datetime.fromisoformat (the "iso" format), aware, in UTC
        # (astimezone(UTC) of a time already in UTC is that time).
        return f"type(value) is str and {_clean(source, _CONTROL_ONE_LINE.search)}", [
            f"{dst} = FROMISO(value)", f"if {dst}.tzinfo is not UTC:",
            f"    {dst} = AWARE_UTC({dst})"]
    if (kind is fields.Dict and field.key_field is None and field.value_field is None
            and field.mapping_type is dict):
        # Mapping._deserialize without key or value fields: a copy of the mapping.
        return "type(value) is dict", [f"{dst} = value.copy()"]
    if kind is fields.Nested:
        name = _nested_load(source, field)
        return None if name is None else ("type(value) is dict", [f"{dst} = {name}(value)"])
    if kind is fields.List:
        item = _load_item(source, field.inner)
        return None if item is None else (
            "type(value) is list", [f"{dst} = [{item}(one) for one in value]"])
    return None


def _clean(source: _Source, search: Callable[[str], Any]) -> str:
    """A condition: the str `value` holds no character the control regex finds (printable
    ASCII, the usual text, has none: the regex looks only at what is not)."""
    search_name = source.name(search, "SEARCH")
    return f"(value.isascii() and value.isprintable() or {search_name}(value) is None)"


def _load_item(source: _Source, inner: _Field) -> str | None:
    """The name of a function loading one item of a list (List._deserialize's inner step)."""
    if (type(inner) is fields.Nested and not inner.allow_none and not inner.validators
            and not inner.pre_load and not inner.post_load
            and _standard(inner, "deserialize", "_validate", "_validate_all", "_validate_missing")):
        # The nested schema's own function: it raises on anything but an object (None included).
        name = _nested_load(source, inner)
        if name is not None:
            return name
    steps = _load_field(source, inner, "item", None)
    if steps is None:
        return None
    return source.function(source.unique("item"), "value", [*steps, "return item"])


def _nested_load(source: _Source, field: fields.Nested) -> str | None:
    """The name of the function loading a Nested field's object (Nested._deserialize, one
    object, the nested schema's own `unknown`)."""
    if field.many or field.unknown is not None or field.schema.many:
        return None
    return _load_function(source, field.schema)


def _clean_choices(validator: Any, search: Callable[[str], Any]) -> frozenset[str] | None:
    """A OneOf's choices when they are all plain strings the field's control check lets pass."""
    if type(validator) is not validate.OneOf or type(validator.choices) not in (
            list, tuple, set, frozenset):
        return None
    choices = validator.choices
    if all(type(choice) is str and search(choice) is None for choice in choices):
        return frozenset(choices)
    return None


def _checks(source: _Source, validators: list[Any], value: str) -> list[str]:
    """Lines raising when `value` fails one of the validators (Field._validate's And, inline)."""
    lines: list[str] = []
    for validator in validators:
        kind = type(validator)
        if kind is validate.Range:
            if validator.min is not None:
                low = _literal(source, validator.min, "MIN")
                operator = "<" if validator.min_inclusive else "<="
                lines += [f"if {value} {operator} {low}:", "    raise FALLBACK"]
            if validator.max is not None:
                high = _literal(source, validator.max, "MAX")
                operator = ">" if validator.max_inclusive else ">="
                lines += [f"if {value} {operator} {high}:", "    raise FALLBACK"]
        elif kind is validate.Length:
            bounds = ([("!=", validator.equal)] if validator.equal is not None else
                      [(op, bound) for op, bound in (("<", validator.min), (">", validator.max))
                       if bound is not None])
            lines += [line for op, bound in bounds for line in (
                f"if len({value}) {op} {_literal(source, bound, 'LEN')}:", "    raise FALLBACK")]
        elif kind is validate.OneOf and type(validator.choices) in (list, tuple, set, frozenset):
            # A set answers `in` for what the list does (or, never wrongly, does not: fallback).
            choices = validator.choices
            try:
                container: Any = frozenset(choices)
            except TypeError:
                container = tuple(choices)
            lines += [f"if {value} not in {source.name(container, 'CHOICES')}:",
                      "    raise FALLBACK"]
        elif kind is validate.Regexp:
            match = source.name(validator.regex.match, "MATCH")
            lines += [f"if {match}({value}) is None:", "    raise FALLBACK"]
        else:
            lines.append(f"{source.name(validator, 'VALIDATOR')}({value})")
    return lines


def _literal(source: _Source, value: Any, hint: str) -> str:
    """A number as a literal in the source (the very same value), anything else as a name."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return source.name(value, hint)


# --- dump ------------------------------------------------------------------------------------

def _compile_dump(schema: Schema) -> Callable[[Any], Any] | None:
    source = _Source()
    name = _dump_function(source, schema)
    return None if name is None else source.build(name, "dump " + type(schema).__name__)


@_unless_nested_in_itself
def _dump_function(source: _Source, schema: Schema) -> str | None:
    """Add the function dumping one dict through `schema` (Schema._serialize, many=False, with
    Field.serialize and utils.get_value as they go for a dict); return its name, or None.
    """
    hooks = schema._hooks  # noqa: SLF001 (read only: which processors the schema declares)
    if (schema.many or hooks.get(PRE_DUMP) or hooks.get(POST_DUMP) or schema.dict_class is not dict
            or type(schema).get_attribute is not Schema.get_attribute):
        return None
    body = ["if type(obj) is not dict:", "    raise FALLBACK", "get = obj.get", "out = {}"]
    for attr_name, field in schema.dump_fields.items():
        if (not field._CHECK_ATTRIBUTE  # noqa: SLF001
                or not _standard(field, "serialize", "get_value")):
            return None
        name = attr_name if field.attribute is None else field.attribute
        key = field.data_key if field.data_key is not None else attr_name
        if not isinstance(name, str) or "." in name:
            return None
        # utils.get_value on a dict: the item, else the attribute (a dict has only its methods).
        body.append(f"value = obj[{name!r}] if {name!r} in obj else getattr(obj, {name!r}, MISSING)"
                    if hasattr(dict, name) else f"value = get({name!r}, MISSING)")
        default = field.dump_default
        if default is not missing:
            call = "()" if callable(default) else ""
            body += ["if value is MISSING:", f"    value = {source.name(default, 'DEFAULT')}{call}"]
        quick = _quick_dump(source, field, "value", attr_name)
        own = source.name(field._serialize, "SERIALIZE")  # noqa: SLF001
        slow = [f"value = {own}(value, {attr_name!r}, obj)", "if value is not MISSING:",
                f"    out[{key!r}] = value"]
        body.append("if value is not MISSING:")
        if quick is None:
            body += _indent(slow)
        elif quick[0] == "True":
            body.append(f"    out[{key!r}] = {quick[1]}")
        else:
            body += _indent([f"if {quick[0]}:", f"    out[{key!r}] = {quick[1]}", "else:",
                             *_indent(slow)])
    body.append("return out")
    return source.function(source.unique("dump_" + type(schema).__name__), "obj", body)


def _quick_dump(source: _Source, field: _Field, value: str,
                attr: str) -> tuple[str, str] | None:
    """(condition on `value`, expression) giving what the field's `_serialize` gives for its
    usual value, for an exact field type whose `_serialize` is its class's own."""
    kind, serialize = type(field), type(field)._serialize  # noqa: SLF001
    if serialize is _Field._serialize:  # noqa: SLF001 (Raw and the like: the value itself)
        return "True", value
    if serialize is fields.String._serialize:  # noqa: SLF001 (ensure_text_type: str(value))
        return f"type({value}) is str", value
    if (serialize is fields.Number._serialize and not field.as_string  # noqa: SLF001
            and field.num_type is int
            and type(field)._format_num is fields.Number._format_num):  # noqa: SLF001
        return f"type({value}) is int", value  # int(value) of an int is that int
    if (serialize is fields.Boolean._serialize  # noqa: SLF001
            and field.truthy is fields.Boolean.truthy and field.falsy is fields.Boolean.falsy):
        return f"type({value}) is bool", value  # True is truthy, False falsy
    if kind is fields.Nested and not field.many and not field.schema.many:
        name = _dump_function(source, field.schema)
        return None if name is None else (f"type({value}) is dict", f"{name}({value})")
    if kind is fields.List and serialize is fields.List._serialize:  # noqa: SLF001
        # List._serialize: each item through the inner field's _serialize (the list's attr).
        inner = field.inner
        item = _quick_dump(source, inner, "one", attr)
        own = source.name(inner._serialize, "SERIALIZE")  # noqa: SLF001
        slow = f"{own}(one, {attr!r}, obj)"
        each = (slow if item is None else item[1] if item[0] == "True"
                else f"{item[1]} if {item[0]} else {slow}")
        return f"type({value}) is list", f"[{each} for one in {value}]"
    return None
