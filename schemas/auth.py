"""Token login."""

from marshmallow import fields, validate

from schemas.common import StrictSchema, UTCDateTime


class TokenRequestSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TokenResponseSchema(StrictSchema):
    token = fields.String(required=True)
    expires_at = UTCDateTime(required=True)
    user = fields.Dict(required=True, metadata={"description": "id, username, role, county_id, base_id"})
    device_key = fields.String(metadata={"description": "per-device key for rotating self sign-in codes"})
