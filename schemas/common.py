"""Shared schema pieces: strict base class, the error body, aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields


class StrictSchema(Schema):
    """Unknown fields are rejected, never silently dropped."""

    class Meta:
        unknown = RAISE


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 time with a zone on the way in, UTC with `Z` on the way out."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.astimezone(UTC)

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ErrorSchema(Schema):
    """The one error shape of every 4xx and 5xx response."""

    code = fields.String(required=True, metadata={"description": "stable code from the catalogue"})
    message = fields.String(required=True)
    errors = fields.Raw(metadata={"description": "field errors, by field name"})
    details = fields.Dict()


def load_or_422(schema: Schema, data: Any) -> Any:
    """Load data through a schema; a non-object body is a validation error, not a crash."""
    if data is None:
        raise ValidationError({"_schema": ["request body must be JSON"]})
    return schema.load(data)
