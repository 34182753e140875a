"""Token login."""

from marshmallow import fields, validate

from schemas.common import StrictSchema, Text, UTCDateTime


class TokenRequestSchema(StrictSchema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, validate=validate.Length(min=1, max=256))
    device_id = Text(required=True, validate=validate.Length(min=1, max=64))


class TokenResponseSchema(StrictSchema):
    token = Text(required=True)
    expires_at = UTCDateTime(required=True)
    user = fields.Dict(required=True, metadata={"description": "id, username, role, county_id, base_id"})
    device_key = Text(metadata={"description": "per-device key for rotating self sign-in codes"})
