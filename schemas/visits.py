"""Visit and sign-in payloads (inside sync mutations) and the visit list."""

from marshmallow import INCLUDE, Schema, fields, validate

from schemas.common import StrictSchema, UTCDateTime

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")


class GpsSchema(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy = fields.Float(required=True, validate=validate.Range(min=0))
    captured_at = UTCDateTime(required=True)
    mocked = fields.Boolean(load_default=False)


class ObservedSchema(StrictSchema):
    teacher_matches = fields.Boolean(allow_none=True, load_default=None)
    teacher_name = fields.String(allow_none=True, validate=validate.Length(max=64))
    content_matches = fields.Boolean(allow_none=True, load_default=None)
    topic = fields.String(allow_none=True, validate=validate.Length(max=256))
    headcount = fields.Integer(allow_none=True, load_default=None, strict=True,
                               validate=validate.Range(min=0, max=10000))


class FindingSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(required=True, validate=validate.Length(max=2000))


class SignatureSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(["inspector", "base_representative"]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sha256 = fields.String(required=True, validate=SHA256)


class PhotoSchema(StrictSchema):
    sha256 = fields.String(required=True, validate=SHA256)
    caption = fields.String(allow_none=True, validate=validate.Length(max=256))


class VisitPayloadSchema(Schema):
    """The sealed visit. Members beyond these are kept (they are sealed too), not rejected."""

    class Meta:
        unknown = INCLUDE

    class_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    assignment_id = fields.UUID(allow_none=True, load_default=None)
    plan_version_id = fields.UUID(required=True)
    supersedes = fields.UUID(allow_none=True, load_default=None,
                             metadata={"description": "the visit this one corrects"})
    started_at = UTCDateTime(required=True)
    ended_at = UTCDateTime(allow_none=True, load_default=None)
    gps = fields.Nested(GpsSchema, allow_none=True, load_default=None)
    observed = fields.Nested(ObservedSchema, required=True)
    signins = fields.List(fields.UUID(), load_default=list)
    findings = fields.List(fields.Nested(FindingSchema), load_default=list)
    verdict = fields.String(required=True,
                            validate=validate.OneOf(["compliant", "issues", "could_not_inspect"]))
    signatures = fields.List(fields.Nested(SignatureSchema), load_default=list)
    photos = fields.List(fields.Nested(PhotoSchema), load_default=list)
    seal = fields.String(required=True, validate=SHA256)


class SignInPayloadSchema(StrictSchema):
    visit_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    trainee_id = fields.UUID(allow_none=True, load_default=None)
    method = fields.String(required=True, validate=validate.OneOf(["badge", "self", "manual"]))
    at = UTCDateTime(required=True)
    gps = fields.Nested(GpsSchema, allow_none=True, load_default=None)
    signature_sha256 = fields.String(allow_none=True, load_default=None, validate=SHA256)
    badge_token = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2048))


class VisitListQuerySchema(StrictSchema):
    class_id = fields.UUID(load_default=None)
    since = UTCDateTime(load_default=None, metadata={"description": "received at or after"})


class CheckSchema(Schema):
    status = fields.String(required=True, metadata={"description": "match | mismatch | unverifiable"})
    reason = fields.String()
    distance_m = fields.Float(allow_none=True)


class VisitChecksSchema(Schema):
    place = fields.Nested(CheckSchema)
    time = fields.Nested(CheckSchema)
    teacher = fields.Nested(CheckSchema)
    content = fields.Nested(CheckSchema)
    attendance = fields.Nested(CheckSchema)


class VisitSummarySchema(Schema):
    id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    session_id = fields.UUID(allow_none=True)
    plan_version_id = fields.UUID(required=True)
    inspector_id = fields.UUID()
    supersedes_id = fields.UUID(allow_none=True)
    verdict = fields.String(required=True)
    started_at = UTCDateTime()
    received_at = UTCDateTime(required=True)
    checks = fields.Nested(VisitChecksSchema, required=True)
    flags = fields.List(fields.String(), required=True)
    media_complete = fields.Boolean(required=True)


class VisitListSchema(Schema):
    visits = fields.List(fields.Nested(VisitSummarySchema), required=True)
