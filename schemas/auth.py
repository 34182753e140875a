"""Token login."""

from marshmallow import fields, validate

from schemas.common import StrictSchema, Text, UTCDateTime


class TokenRequestSchema(StrictSchema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, validate=validate.Length(min=1, max=256))
    device_id = Text(required=True, validate=validate.Length(min=1, max=64))


class TokenUserSchema(StrictSchema):
    """Who logged in: the phone keys its local data by this user."""

    id = fields.UUID(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, metadata={
        "description": "city_admin | county_admin | inspector | base_staff"})
    county_id = fields.UUID(required=True, allow_none=True)
    base_id = fields.UUID(required=True, allow_none=True)


class TokenResponseSchema(StrictSchema):
    token = Text(required=True)
    expires_at = UTCDateTime(required=True)
    user = fields.Nested(TokenUserSchema, required=True)
    device_key = Text(metadata={"description": "per-device key for rotating self sign-in codes"})
