"""Bureau side: draws (R10), coverage, review decisions and rectifications (R15)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from schemas.common import StrictSchema, UTCDateTime

SANCTIONS = ("criticism", "deadline", "recovery", "revocation")


class DrawRequestSchema(StrictSchema):
    """A draw for a period; the city admin names the county, a county admin draws for its own."""

    county_id = fields.UUID(load_default=None)
    period_from = fields.Date(required=True, data_key="from")
    period_to = fields.Date(required=True, data_key="to")

    @validates_schema
    def check_order(self, data, **kwargs):
        if data["period_to"] < data["period_from"]:
            raise ValidationError({"to": ["结束日期早于开始日期"]})


class AssignmentOutSchema(StrictSchema):
    id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    class_name = fields.String(required=True)
    session_id = fields.UUID(required=True)
    date = fields.Date(required=True)
    start_time = fields.Time(required=True, metadata={"description": "local time, Asia/Shanghai"})
    site = fields.String(required=True)
    inspectors = fields.List(fields.String(), required=True)
    status = fields.String(required=True)


class DrawOutSchema(StrictSchema):
    id = fields.UUID(required=True)
    county = fields.String(required=True)
    period_from = fields.Date(required=True, data_key="from")
    period_to = fields.Date(required=True, data_key="to")
    seed_sha256 = fields.String(required=True)
    seed = fields.String(allow_none=True, metadata={"description": "revealed once the period is over"})
    class_list = fields.List(fields.Dict(), required=True)
    inspector_list = fields.List(fields.String(), required=True)
    created_at = UTCDateTime(required=True)
    assignments = fields.List(fields.Nested(AssignmentOutSchema), required=True)


class DrawListSchema(StrictSchema):
    items = fields.List(fields.Nested(DrawOutSchema(exclude=("class_list", "inspector_list",
                                                             "assignments"))), required=True)


class DrawVerifySchema(StrictSchema):
    verified = fields.Boolean(required=True)
    problems = fields.List(fields.String(), required=True)


class AssignmentListSchema(StrictSchema):
    items = fields.List(fields.Nested(AssignmentOutSchema), required=True)


class CoverageQuerySchema(StrictSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class CountyCoverageSchema(StrictSchema):
    county_id = fields.UUID(required=True)
    county = fields.String(required=True)
    classes = fields.Integer(required=True)
    visited = fields.Integer(required=True)
    visits = fields.Integer(required=True)
    visits_with_issues = fields.Integer(required=True)
    not_visited = fields.List(fields.Dict(), required=True,
                              metadata={"description": "class_id, name, base, end_date, days_left"})


class DeadlineSchema(StrictSchema):
    key = fields.String(required=True)
    rule = fields.String(required=True)
    due = fields.Date(required=True)
    days_left = fields.Integer(required=True)
    missing = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class CoverageSchema(StrictSchema):
    year = fields.Integer(required=True)
    classes = fields.Integer(required=True)
    visited = fields.Integer(required=True)
    visits = fields.Integer(required=True)
    visits_with_issues = fields.Integer(required=True)
    counties = fields.List(fields.Nested(CountyCoverageSchema), required=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema), required=True)


class VisitQuerySchema(StrictSchema):
    county_id = fields.UUID(load_default=None)
    base_id = fields.UUID(load_default=None)
    class_id = fields.UUID(load_default=None)
    verdict = fields.String(load_default=None, validate=validate.Length(max=24))
    flag = fields.String(load_default=None, validate=validate.Length(max=64))
    review_status = fields.String(load_default=None, validate=validate.OneOf(
        ["pending", "accepted", "reinspect", "rectification"]))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


class VisitRowSchema(StrictSchema):
    id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    class_name = fields.String(required=True)
    base = fields.String(required=True)
    county = fields.String(required=True)
    started_at = UTCDateTime(required=True)
    verdict = fields.String(required=True)
    review_status = fields.String(required=True)
    issues = fields.List(fields.String(), required=True)


class VisitListSchema(StrictSchema):
    items = fields.List(fields.Nested(VisitRowSchema), required=True)


class ComparisonRowSchema(StrictSchema):
    check = fields.String(required=True)
    planned = fields.String(required=True)
    observed = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "match | mismatch | cannot_verify"})
    reason = fields.String(required=True)


class SealStateSchema(StrictSchema):
    stored = fields.String(required=True)
    recomputed = fields.String(required=True)
    intact = fields.Boolean(required=True)
    media_total = fields.Integer(required=True)
    media_missing = fields.List(fields.String(), required=True)


class VisitDetailSchema(VisitRowSchema):
    comparison = fields.List(fields.Nested(ComparisonRowSchema), required=True)
    seal = fields.Nested(SealStateSchema, required=True)
    flags = fields.List(fields.Raw(), required=True)
    sign_ins = fields.List(fields.Dict(), required=True)


class DecisionSchema(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=1024))


class ReinspectSchema(DecisionSchema):
    session_id = fields.UUID(load_default=None)
    inspector_ids = fields.List(fields.UUID(), load_default=None)


class RectificationRequestSchema(StrictSchema):
    sanction = fields.String(required=True, validate=validate.OneOf(SANCTIONS))
    order_text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    deadline = fields.Date(load_default=None)


class ReviewOutSchema(StrictSchema):
    id = fields.UUID(required=True)
    visit_id = fields.UUID(required=True)
    decision = fields.String(required=True)
    comment = fields.String(required=True)
    at = UTCDateTime(required=True)
    assignment_id = fields.UUID(allow_none=True)
    rectification_id = fields.UUID(allow_none=True)


class RectificationOutSchema(StrictSchema):
    id = fields.UUID(required=True)
    visit_id = fields.UUID(required=True)
    base = fields.String(required=True)
    sanction = fields.String(required=True)
    order_text = fields.String(required=True)
    deadline = fields.Date(allow_none=True)
    status = fields.String(required=True)
    response_text = fields.String(required=True)
    response_media = fields.List(fields.Dict(), required=True)
    created_at = UTCDateTime(required=True)
    answered_at = UTCDateTime(allow_none=True)
    closed_at = UTCDateTime(allow_none=True)
    closing_comment = fields.String(required=True)
    return_comment = fields.String(required=True)
    returned_at = UTCDateTime(allow_none=True)


class RectificationListSchema(StrictSchema):
    items = fields.List(fields.Nested(RectificationOutSchema), required=True)


class RectificationQuerySchema(StrictSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "answered", "closed"]))


class AnswerSchema(StrictSchema):
    """The base's answer over the API: text only (files come through the page's upload form)."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=8000))


class CloseSchema(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class AnswerFormSchema(StrictSchema):
    """The page's answer form (multipart): text, plus files checked by the service."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=8000))
    csrf_token = fields.String(load_default=None)


class DrawFormSchema(StrictSchema):
    county_id = fields.UUID(load_default=None)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    csrf_token = fields.String(load_default=None)


class DecisionFormSchema(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=1024))
    csrf_token = fields.String(load_default=None)


class ReinspectFormSchema(DecisionFormSchema):
    session_id = fields.UUID(load_default=None)
    inspector_ids = fields.List(fields.UUID(), load_default=None)


class RectificationFormSchema(StrictSchema):
    sanction = fields.String(required=True, validate=validate.OneOf(SANCTIONS))
    order_text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    deadline = fields.Date(load_default=None)
    csrf_token = fields.String(load_default=None)


class CloseFormSchema(CloseSchema):
    csrf_token = fields.String(load_default=None)


class ReturnSchema(StrictSchema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ReturnFormSchema(ReturnSchema):
    csrf_token = fields.String(load_default=None)
