"""Visit and sign-in payloads (inside sync mutations) and the visit list."""

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import JsonBoolean, JsonFloat, JsonInteger, StrictSchema, Text, UTCDateTime

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")
# Evidence times are real times: a wrong phone clock far off is refused at the door (a smaller
# error is judged: time check `unverifiable`, flag `clock.skew`, see services/visits.py).
EVIDENCE_TIMES = validate.Range(min=datetime(2000, 1, 1, tzinfo=UTC),
                                max=datetime(2100, 1, 1, tzinfo=UTC),
                                error="not a plausible time")


class GpsSchema(StrictSchema):
    lat = JsonFloat(required=True, validate=validate.Range(min=-90, max=90))
    lon = JsonFloat(required=True, validate=validate.Range(min=-180, max=180))
    accuracy = JsonFloat(required=True, validate=validate.Range(min=0, max=100000))
    captured_at = UTCDateTime(required=True, validate=EVIDENCE_TIMES)
    mocked = JsonBoolean(load_default=False)


class ObservedSchema(StrictSchema):
    teacher_matches = JsonBoolean(allow_none=True, load_default=None)
    teacher_name = Text(allow_none=True, validate=validate.Length(max=64))
    content_matches = JsonBoolean(allow_none=True, load_default=None)
    topic = Text(allow_none=True, validate=validate.Length(max=256))
    headcount = JsonInteger(allow_none=True, load_default=None,
                            validate=validate.Range(min=0, max=10000))


class FindingSchema(StrictSchema):
    code = Text(required=True, validate=validate.Length(min=1, max=64))
    text = Text(multiline=True, required=True, validate=validate.Length(max=2000))


class SignatureSchema(StrictSchema):
    role = Text(required=True, validate=validate.OneOf(["inspector", "base_representative"]))
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    sha256 = Text(required=True, validate=SHA256)


class PhotoSchema(StrictSchema):
    sha256 = Text(required=True, validate=SHA256)
    caption = Text(allow_none=True, validate=validate.Length(max=256))
    taken_at = UTCDateTime(allow_none=True, validate=EVIDENCE_TIMES, metadata={
        "description": "the photo's own capture time (EXIF DateTimeOriginal, read before the "
                       "phone re-encodes it)"})


class BaseRefusalSchema(StrictSchema):
    name = Text(allow_none=True, load_default=None, validate=validate.Length(max=64))
    reason = Text(multiline=True, required=True, validate=validate.Length(min=1, max=500))


class VisitPayloadSchema(StrictSchema):
    """The sealed visit: exactly these members, each in its JSON type (the seal covers them all)."""

    class_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    assignment_id = fields.UUID(allow_none=True, load_default=None)
    plan_version_id = fields.UUID(required=True)
    supersedes = fields.UUID(allow_none=True, load_default=None,
                             metadata={"description": "the visit this one corrects"})
    started_at = UTCDateTime(required=True, validate=EVIDENCE_TIMES)
    ended_at = UTCDateTime(allow_none=True, load_default=None, validate=EVIDENCE_TIMES)
    gps = fields.Nested(GpsSchema, allow_none=True, load_default=None)
    observed = fields.Nested(ObservedSchema, required=True)
    present = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000),
                          metadata={"description": "trainees the inspector marked present"})
    signins = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000))
    findings = fields.List(fields.Nested(FindingSchema), load_default=list,
                           validate=validate.Length(max=100))
    verdict = Text(required=True,
                            validate=validate.OneOf(["compliant", "issues", "could_not_inspect"]))
    signatures = fields.List(fields.Nested(SignatureSchema), load_default=list,
                             validate=validate.Length(max=20))
    photos = fields.List(fields.Nested(PhotoSchema), load_default=list,
                         validate=validate.Length(max=200))
    base_refused = fields.Nested(BaseRefusalSchema, allow_none=True, load_default=None, metadata={
        "description": "拒签: the base representative refused to sign (no base signature then), "
                       "and why"})
    seal = Text(required=True, validate=SHA256)

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data.get("ended_at") is not None and data["ended_at"] < data["started_at"]:
            raise ValidationError("must not be before started_at", "ended_at")


class SignInPayloadSchema(StrictSchema):
    visit_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    trainee_id = fields.UUID(allow_none=True, load_default=None)
    method = Text(required=True, validate=validate.OneOf(["badge", "self", "manual"]))
    at = UTCDateTime(required=True, validate=EVIDENCE_TIMES)
    gps = fields.Nested(GpsSchema, allow_none=True, load_default=None)
    signature_sha256 = Text(allow_none=True, load_default=None, validate=SHA256)
    badge_token = Text(allow_none=True, load_default=None, validate=validate.Length(max=2048))


class SelfSigninQuerySchema(StrictSchema):
    class_id = fields.UUID(required=True, metadata={"description": "the visit's class"})


class SelfSigninSchema(Schema):
    id = fields.UUID(required=True)
    trainee_id = fields.UUID(required=True)
    at = UTCDateTime(required=True)
    flags = fields.List(Text(), required=True,
                        metadata={"description": "the server's flags (e.g. signin.outside_site)"})


class SelfSigninListSchema(Schema):
    signins = fields.List(fields.Nested(SelfSigninSchema), required=True)


class VisitListQuerySchema(StrictSchema):
    class_id = fields.UUID(load_default=None)
    since = UTCDateTime(load_default=None, metadata={"description": "received at or after"})


class CheckSchema(Schema):
    status = Text(required=True, metadata={"description": "match | mismatch | unverifiable"})
    reason = Text(metadata={"description": "the judge's reasons in words, request language"})
    codes = fields.List(Text(), metadata={"description": "the reasons' catalogue codes"})
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
    session_id = fields.UUID(required=True, allow_none=True)
    plan_version_id = fields.UUID(required=True)
    inspector_id = fields.UUID(required=True)
    supersedes_id = fields.UUID(required=True, allow_none=True)
    verdict = Text(required=True)
    started_at = UTCDateTime(required=True)
    received_at = UTCDateTime(required=True)
    checks = fields.Nested(VisitChecksSchema, required=True)
    flags = fields.List(Text(), required=True)
    media_complete = fields.Boolean(required=True)


class VisitSummaryListSchema(Schema):
    """GET /api/v1/visits: the caller's visits as the server judged them."""

    visits = fields.List(fields.Nested(VisitSummarySchema), required=True)
