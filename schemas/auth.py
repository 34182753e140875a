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


PASSWORD = validate.Length(min=10, max=256, error="密码须为 10 至 256 个字符")


class PasswordChangeSchema(StrictSchema):
    """A user changes their own password (API): every session and token of the account ends."""

    current_password = Text(required=True, validate=validate.Length(min=1, max=256))
    new_password = Text(required=True, validate=PASSWORD)


class DeviceSchema(StrictSchema):
    device_id = Text(required=True)
    last_login_at = UTCDateTime(required=True)
    live_tokens = fields.Integer(required=True)
    expires_at = UTCDateTime(allow_none=True)


class WebSessionSchema(StrictSchema):
    id = Text(required=True)
    created_at = UTCDateTime(required=True)
    last_seen_at = UTCDateTime(required=True)
    user_agent = Text(required=True)
    live = fields.Boolean(required=True)


class UserDevicesSchema(StrictSchema):
    """A user's devices (bearer tokens by device id) and page sessions, for an administrator."""

    devices = fields.List(fields.Nested(DeviceSchema), required=True)
    sessions = fields.List(fields.Nested(WebSessionSchema), required=True)


class RevokedSchema(StrictSchema):
    revoked = fields.Integer(required=True, metadata={"description": "tokens and sessions ended"})
