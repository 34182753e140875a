"""Bureau side: draws (R10), coverage, review decisions and rectifications (R15)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from schemas.common import CalendarDate, ListOrEmpty, StrictSchema, Text, UTCDateTime
from sync.judge import CHECKS

SANCTIONS = ("criticism", "deadline", "recovery", "revocation")


class DrawRequestSchema(StrictSchema):
    """A draw for a period; the city admin names the county, a county admin draws for its own."""

    county_id = fields.UUID(load_default=None)
    period_from = CalendarDate(required=True, data_key="from")
    period_to = CalendarDate(required=True, data_key="to")

    @validates_schema
    def check_order(self, data, **kwargs):
        if data["period_to"] < data["period_from"]:
            # Library-style English, as every schema message; the pages word it (forms.in_words).
            raise ValidationError({"to": ["Must not be before the start date."]})


class AssignmentOutSchema(StrictSchema):
    """An assignment (dumped from the model): the drawn session, its site and the team."""

    id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    class_name = Text(required=True, attribute="training_class.name")
    session_id = fields.UUID(required=True)
    date = CalendarDate(required=True)
    start_time = fields.Time(required=True, attribute="session.start_time",
                             metadata={"description": "local time (the TIMEZONE setting)"})
    site = Text(required=True, attribute="session.site.name")
    inspectors = fields.Function(
        lambda a: sorted(user.display_name or user.username for user in a.inspectors),
        required=True, metadata={"type": "array", "items": {"type": "string"}})
    status = Text(required=True)


class DrawSummarySchema(StrictSchema):
    """A draw as listed: its period, the seed's hash and (once the period is over) the seed."""

    id = fields.UUID(required=True)
    county = Text(required=True)
    period_from = CalendarDate(required=True, data_key="from")
    period_to = CalendarDate(required=True, data_key="to")
    seed_sha256 = Text(required=True)
    seed = Text(allow_none=True, metadata={"description": "revealed once the period is over"})
    created_at = UTCDateTime(required=True)


class DrawClassEntrySchema(StrictSchema):
    """A class in a draw's canonical list and the sessions it could be drawn on."""

    class_id = Text(required=True)
    sessions = fields.List(Text(), required=True)


class DrawOutSchema(DrawSummarySchema):
    """A draw in full: the lists it drew from and the assignments it made."""

    class_list = fields.List(fields.Nested(DrawClassEntrySchema), required=True)
    inspector_list = fields.List(Text(), required=True)
    assignments = fields.List(fields.Nested(AssignmentOutSchema), required=True)


class DrawListSchema(StrictSchema):
    items = fields.List(fields.Nested(DrawSummarySchema), required=True)


class DrawVerifySchema(StrictSchema):
    verified = fields.Boolean(required=True)
    problems = fields.List(Text(), required=True)


class AssignmentListSchema(StrictSchema):
    items = fields.List(fields.Nested(AssignmentOutSchema), required=True)


class CoverageQuerySchema(StrictSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class NotVisitedClassSchema(StrictSchema):
    """A class with no spot check yet, and the days left until it ends."""

    class_id = fields.UUID(required=True)
    name = Text(required=True)
    base = Text(required=True)
    end_date = CalendarDate(required=True)
    days_left = fields.Integer(required=True)


class CountyCoverageSchema(StrictSchema):
    county_id = fields.UUID(required=True)
    county = Text(required=True)
    classes = fields.Integer(required=True)
    visited = fields.Integer(required=True)
    visits = fields.Integer(required=True)
    visits_with_issues = fields.Integer(required=True)
    not_visited = fields.List(fields.Nested(NotVisitedClassSchema), required=True)


class DeadlineSchema(StrictSchema):
    key = Text(required=True)
    rule = Text(required=True)
    due = CalendarDate(required=True)
    days_left = fields.Integer(required=True)
    missing = fields.Dict(keys=Text(), values=fields.Integer(), required=True)


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
    verdict = Text(load_default=None, validate=validate.Length(max=24))
    flag = Text(load_default=None, validate=validate.Length(max=64))
    review_status = Text(load_default=None, validate=validate.OneOf(
        ["pending", "accepted", "reinspect", "rectification"]))
    date_from = CalendarDate(load_default=None)
    date_to = CalendarDate(load_default=None)
    mismatch = fields.String(load_default=None, validate=validate.OneOf(CHECKS))
    class_year = fields.Integer(
        load_default=None, strict=False, validate=validate.Range(2000, 2100),
        metadata={"description": "visits (of any date) of the classes running in this year, "
                                 "as the coverage counts them (R10)"})
    issues = fields.Boolean(
        load_default=False,
        metadata={"description": "only visits with an issue: a mismatched check, a flag or a "
                                 "verdict other than compliant"})


class DashboardQuerySchema(StrictSchema):
    """The year a dashboard (or a base's home) shows, and the county (and base) its lists of
    classes narrow to."""

    year = fields.Integer(load_default=None, strict=False, validate=validate.Range(2000, 2100))
    county_id = fields.UUID(load_default=None)
    # A base's "visited" figure opens the dashboard's #visited narrowed to that base.
    base_id = fields.UUID(load_default=None)


class RectificationPageQuerySchema(StrictSchema):
    """The rectification list's filters on the page (the dashboard's chart links to them)."""

    status = fields.String(load_default=None,
                           validate=validate.OneOf(["open", "answered", "closed"]))
    due = fields.String(load_default=None, validate=validate.OneOf(
        ["unfinished", "overdue", "week", "later", "none"]))
    base_id = fields.UUID(load_default=None)


class VisitRowSchema(StrictSchema):
    id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    class_name = Text(required=True)
    base = Text(required=True)
    county = Text(required=True)
    started_at = UTCDateTime(required=True)
    verdict = Text(required=True)
    review_status = Text(required=True)
    issues = fields.List(Text(), required=True)


class VisitListSchema(StrictSchema):
    items = fields.List(fields.Nested(VisitRowSchema), required=True)


class ComparisonRowSchema(StrictSchema):
    check = Text(required=True)
    planned = Text(required=True)
    observed = Text(required=True)
    status = Text(required=True, metadata={"description": "match | mismatch | cannot_verify"})
    reason = Text(required=True, metadata={"description": "in words, request language"})
    codes = fields.List(Text(), metadata={"description": "the reasons' catalogue codes"})


class SealStateSchema(StrictSchema):
    stored = Text(required=True)
    recomputed = Text(required=True)
    intact = fields.Boolean(required=True)
    media_total = fields.Integer(required=True)
    media_missing = fields.List(Text(), required=True)


class AttendanceSchema(StrictSchema):
    roster = fields.Integer(required=True,
                            metadata={"description": "trainees on the roster judged against"})
    counted = fields.Integer(required=True, allow_none=True,
                             metadata={
                                 "description": "headcount taken on site (null: not recorded)"})
    signed_in = fields.Integer(required=True,
                               metadata={"description": "distinct roster trainees with a sign-in"})
    absent = fields.Integer(required=True,
                            metadata={"description": "roster trainees without a sign-in"})
    duplicates = fields.Integer(required=True,
                                metadata={
                                    "description": "repeated scans of a trainee (an anomaly)"})
    unknown = fields.Integer(required=True,
                             metadata={"description": "sign-ins of persons not on the roster (an "
                                                      "anomaly)"})
    anomalies = fields.Integer(required=True, metadata={"description": "duplicates + unknown"})


class SignInRowSchema(StrictSchema):
    """A sign-in of the visit: who, how, when, and its flags."""

    name = Text(required=True)
    method = Text(required=True, metadata={"description": "badge | self | manual"})
    at = UTCDateTime(required=True)
    flags = fields.List(Text(), required=True)


class VisitDetailSchema(VisitRowSchema):
    judged_session_id = fields.UUID(required=True, allow_none=True,
                                    metadata={"description": "the filed session the visit was "
                                                             "judged against"})
    judged_plan_version_id = fields.UUID(required=True,
                                         metadata={"description": "the plan version it was judged "
                                                                  "against"})
    attendance = fields.Nested(AttendanceSchema, required=True)
    comparison = fields.List(fields.Nested(ComparisonRowSchema), required=True)
    seal = fields.Nested(SealStateSchema, required=True)
    flags = fields.List(fields.Raw(), required=True)
    sign_ins = fields.List(fields.Nested(SignInRowSchema), required=True)


class DecisionSchema(StrictSchema):
    comment = Text(multiline=True, load_default="", validate=validate.Length(max=1024))


class ReinspectSchema(DecisionSchema):
    session_id = fields.UUID(load_default=None)
    inspector_ids = fields.List(fields.UUID(), load_default=None)


class RectificationRequestSchema(StrictSchema):
    sanction = Text(required=True, validate=validate.OneOf(SANCTIONS))
    order_text = Text(multiline=True, required=True, validate=validate.Length(min=1, max=4000))
    deadline = CalendarDate(load_default=None)


class ReviewOutSchema(StrictSchema):
    id = fields.UUID(required=True)
    visit_id = fields.UUID(required=True)
    decision = Text(required=True)
    comment = Text(required=True)
    at = UTCDateTime(required=True)
    assignment_id = fields.UUID(allow_none=True)
    rectification_id = fields.UUID(allow_none=True)


class AnswerFileSchema(StrictSchema):
    """A file the base sent with its answer."""

    sha256 = Text(required=True)
    mime = Text(required=True)
    name = Text(required=True)
    size = fields.Integer(required=True)


class RectificationOutSchema(StrictSchema):
    """A rectification (dumped from the model): the order, the base's answer, its closure."""

    id = fields.UUID(required=True)
    visit_id = fields.UUID(required=True)
    base = Text(required=True, attribute="visit.training_class.base.name")
    sanction = Text(required=True)
    order_text = Text(required=True)
    deadline = CalendarDate(allow_none=True)
    status = Text(required=True)
    response_text = Text(required=True)
    response_media = ListOrEmpty(fields.Nested(AnswerFileSchema), required=True)
    created_at = UTCDateTime(required=True)
    answered_at = UTCDateTime(allow_none=True)
    closed_at = UTCDateTime(allow_none=True)
    closing_comment = Text(required=True)
    return_comment = Text(required=True)
    returned_at = UTCDateTime(allow_none=True)


class RectificationListSchema(StrictSchema):
    items = fields.List(fields.Nested(RectificationOutSchema), required=True)


class RectificationQuerySchema(StrictSchema):
    status = Text(load_default=None, validate=validate.OneOf(["open", "answered", "closed"]))


class AnswerSchema(StrictSchema):
    """The base's answer: its text (the page's form may add files, which the service checks)."""

    text = Text(multiline=True, required=True, validate=validate.Length(min=1, max=8000))


class CloseSchema(StrictSchema):
    comment = Text(multiline=True, load_default="", validate=validate.Length(max=4000))


class DrawFormSchema(StrictSchema):
    """The page's draw form (its fields are named period_from and period_to)."""

    county_id = fields.UUID(load_default=None)
    period_from = CalendarDate(required=True)
    period_to = CalendarDate(required=True)


class RectificationReturnSchema(StrictSchema):
    comment = Text(multiline=True, required=True, validate=validate.Length(min=1, max=4000))
