"""Plan filing (R5/R7): classes, plan versions, sessions, rosters, sites and teachers."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import StrictSchema, Text, UTCDateTime

# Plans are for real years; the bound also keeps date arithmetic (repeat_days) in range.
PLAN_DATES = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))
CATEGORIES = ("politics", "theory", "practical")
DATUMS = ("wgs84", "gcj02", "bd09")
VERSION_STATES = ("draft", "submitted", "returned", "approved", "recorded")
PROFESSIONAL_TITLES = ("正高级", "副高级", "中级", "初级", "无")
SKILL_QUALIFICATIONS = ("高级技师", "技师", "高级实习指导教师", "实习指导教师", "无")
EDUCATIONS = ("小学", "初中", "高中", "中专", "技校", "职高", "大专", "本科", "硕士", "博士")
CERTIFICATE_LEVELS = ("初级工", "中级工", "高级工", "技师", "高级技师")
EMPLOYER_KINDS = ("企业", "技工院校", "职业院校", "机关", "事业单位", "其他")

_text = Text


# ---- input ---------------------------------------------------------------------------------


class ClassCreateSchema(StrictSchema):
    """A new class (班次) of the caller's base."""

    name = _text(required=True, validate=validate.Length(min=1, max=128))
    occupation_id = fields.UUID(required=True)
    level = fields.Integer(required=True, validate=validate.OneOf([1, 2]),
                           metadata={"description": "2 = 技师, 1 = 高级技师"})
    start_date = fields.Date(required=True, validate=PLAN_DATES)
    end_date = fields.Date(required=True, validate=PLAN_DATES)
    head_teacher_id = fields.UUID(load_default=None, allow_none=True)

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data["end_date"] < data["start_date"]:
            raise ValidationError("结束日期不能早于开始日期", "end_date")


class NewVersionSchema(StrictSchema):
    """Start a new draft version; a reason is required once a version was approved (R7)."""

    reason = _text(multiline=True, load_default="", validate=validate.Length(max=512))


class SessionInSchema(StrictSchema):
    """A session (课次): local date and wall times in Asia/Shanghai."""

    lineage_id = fields.UUID(load_default=None, allow_none=True,
                             metadata={"description": "keep it to mark the same session across versions"})
    date = fields.Date(required=True, validate=PLAN_DATES)
    start = fields.Time(required=True, format="%H:%M")
    end = fields.Time(required=True, format="%H:%M")
    category = _text(required=True, validate=validate.OneOf(CATEGORIES))
    topic = _text(required=True, validate=validate.Length(min=1, max=256))
    teacher_id = fields.UUID(required=True)
    site_id = fields.UUID(required=True)
    online = fields.Boolean(load_default=False)

    @validates_schema
    def _end_after_start(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ValidationError("结束时间须晚于开始时间", "end")


class SessionAddSchema(SessionInSchema):
    """One session, or the same session on several consecutive days."""

    repeat_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=60))


class SessionsReplaceSchema(StrictSchema):
    """The whole session table of a draft."""

    sessions = fields.List(fields.Nested(SessionInSchema), required=True,
                           validate=validate.Length(max=400))


class TraineeInSchema(StrictSchema):
    """A roster row; the ID number goes in and is never returned unmasked."""

    name = _text(required=True, validate=validate.Length(min=1, max=64))
    id_number = _text(required=True, validate=validate.Length(min=1, max=32))
    gender = _text(load_default="", validate=validate.OneOf(["", "男", "女"]))
    education = _text(required=True, validate=validate.OneOf(EDUCATIONS))
    occupation_name = _text(load_default="", validate=validate.Length(max=64))
    certificate_level = _text(required=True, validate=validate.OneOf(CERTIFICATE_LEVELS))
    certificate_date = fields.Date(required=True, validate=validate.Range(min=date(1950, 1, 1),
                                                                           max=date(2100, 12, 31)))
    employer = _text(load_default="", validate=validate.Length(max=128))
    employer_kind = _text(required=True, validate=validate.OneOf(EMPLOYER_KINDS))
    phone = _text(load_default="", validate=validate.Length(max=32))


class RosterReplaceSchema(StrictSchema):
    """The whole roster of a draft, as a JSON list."""

    trainees = fields.List(fields.Nested(TraineeInSchema), required=True,
                           validate=validate.Length(max=500))


class ReviewSchema(StrictSchema):
    """A reviewer's decision: approve and record take an optional comment."""

    comment = _text(multiline=True, load_default="", validate=validate.Length(max=512))


class ReturnSchema(StrictSchema):
    """Returning a version needs a comment saying what to fix."""

    comment = _text(multiline=True, required=True, validate=validate.Length(min=1, max=512))


class VersionQuerySchema(StrictSchema):
    """Filter plan versions in scope."""

    status = _text(load_default=None, validate=validate.OneOf(VERSION_STATES))


class SiteInSchema(StrictSchema):
    """A training site; coordinates in the datum of the map they were read from."""

    name = _text(required=True, validate=validate.Length(min=1, max=128))
    address = _text(required=True, validate=validate.Length(min=1, max=256))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    datum = _text(load_default="wgs84", validate=validate.OneOf(DATUMS),
                  metadata={"description": "wgs84 (GPS), gcj02 (高德/腾讯), bd09 (百度)"})
    radius_m = fields.Float(load_default=150.0, validate=validate.Range(min=20, max=2000))


class SitePatchSchema(StrictSchema):
    """Change a site; coordinates come as a pair with their datum."""

    name = _text(validate=validate.Length(min=1, max=128))
    address = _text(validate=validate.Length(min=1, max=256))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    datum = _text(validate=validate.OneOf(DATUMS))
    radius_m = fields.Float(validate=validate.Range(min=20, max=2000))

    @validates_schema
    def _pair(self, data, **kwargs):
        given = {k for k in ("lat", "lon", "datum") if k in data}
        if given and given != {"lat", "lon", "datum"}:
            raise ValidationError("lat, lon and datum go together", "lat")


class TeacherInSchema(StrictSchema):
    """A teacher and the qualifications R4 asks for."""

    name = _text(required=True, validate=validate.Length(min=1, max=64))
    professional_title = _text(load_default="无", validate=validate.OneOf(PROFESSIONAL_TITLES))
    skill_qualification = _text(load_default="无", validate=validate.OneOf(SKILL_QUALIFICATIONS))
    certificate_no = _text(load_default="", validate=validate.Length(max=64))
    phone = _text(load_default="", validate=validate.Length(max=32))


class TeacherPatchSchema(StrictSchema):
    """Change a teacher."""

    name = _text(validate=validate.Length(min=1, max=64))
    professional_title = _text(validate=validate.OneOf(PROFESSIONAL_TITLES))
    skill_qualification = _text(validate=validate.OneOf(SKILL_QUALIFICATIONS))
    certificate_no = _text(validate=validate.Length(max=64))
    phone = _text(validate=validate.Length(max=32))


# ---- output --------------------------------------------------------------------------------


class RefSchema(Schema):
    """A referenced record: id and name."""

    id = fields.UUID()
    name = Text()


class OccupationSchema(Schema):
    id = fields.UUID()
    code = Text()
    name = Text()


class ViolationSchema(Schema):
    """One broken rule: stable code, Chinese and English message, the row and field it concerns."""

    code = Text(required=True, metadata={"description": "e.g. R3.age, R6.total_hours"})
    message = Text()
    message_en = Text()
    row = fields.Raw(allow_none=True)
    field = Text(allow_none=True)
    column = Text(allow_none=True, metadata={"description": "spreadsheet column, on import"})
    entity_id = Text(allow_none=True, metadata={"description": "trainee, teacher or base"})
    subject = Text(allow_none=True, metadata={"description": "the trainee's or teacher's name"})


class VersionSummarySchema(Schema):
    id = fields.UUID()
    number = fields.Integer()
    status = Text()
    class_id = fields.UUID()
    class_name = Text()
    base = fields.Nested(RefSchema)
    county = fields.Nested(RefSchema)
    reason = Text()
    review_comment = Text()
    created_at = UTCDateTime()
    submitted_at = UTCDateTime(allow_none=True)
    approved_at = UTCDateTime(allow_none=True)
    recorded_at = UTCDateTime(allow_none=True)


class VersionListSchema(Schema):
    versions = fields.List(fields.Nested(VersionSummarySchema))


class ClassSchema(Schema):
    id = fields.UUID()
    name = Text()
    base = fields.Nested(RefSchema)
    county = fields.Nested(RefSchema)
    occupation = fields.Nested(OccupationSchema)
    level = fields.Integer()
    level_name = Text()
    start_date = fields.Date()
    end_date = fields.Date()
    head_teacher = fields.Nested(RefSchema, allow_none=True)
    versions = fields.List(fields.Nested(VersionSummarySchema))
    in_force = fields.Nested(VersionSummarySchema, allow_none=True,
                             metadata={"description": "the latest approved or recorded version"})


class ClassListSchema(Schema):
    classes = fields.List(fields.Nested(ClassSchema))


class SessionSchema(Schema):
    id = fields.UUID()
    lineage_id = fields.UUID()
    date = fields.Date()
    start = fields.Time(format="%H:%M")
    end = fields.Time(format="%H:%M")
    category = Text()
    topic = Text()
    teacher = fields.Nested(RefSchema)
    site = fields.Nested(RefSchema)
    online = fields.Boolean()
    hours = fields.Float(metadata={"description": "学时, from the times"})


class RosterRowSchema(Schema):
    """A roster entry with its violations; the ID number only masked."""

    row = fields.Integer(allow_none=True, metadata={"description": "spreadsheet row, when imported"})
    trainee_id = fields.UUID(allow_none=True)
    name = Text()
    id_masked = Text()
    gender = Text()
    education = Text()
    certificate_level = Text()
    certificate_date = fields.Date(allow_none=True)
    employer = Text()
    employer_kind = Text()
    enrolled = fields.Boolean()
    violations = fields.List(fields.Nested(ViolationSchema))


class RosterSchema(Schema):
    """A roster import result or the roster of a version."""

    enrolled = fields.Integer()
    skipped = fields.Integer(metadata={"description": "rows that could not be enrolled (bad ID, missing field)"})
    rows = fields.List(fields.Nested(RosterRowSchema))


class HoursSchema(Schema):
    total = fields.Float()
    politics = fields.Float()
    theory = fields.Float()
    practical = fields.Float()


class VersionSchema(VersionSummarySchema):
    """A plan version in full: sessions, roster, hours, live violations and the diff."""

    editable = fields.Boolean()
    sessions = fields.List(fields.Nested(SessionSchema))
    roster = fields.List(fields.Nested(RosterRowSchema))
    hours = fields.Nested(HoursSchema)
    violations = fields.List(fields.Nested(ViolationSchema))
    diff = fields.Dict(metadata={"description": "sessions added/removed/changed by lineage, roster, teachers"})
    approved_by = Text(allow_none=True)
    recorded_by = Text(allow_none=True)


class SiteSchema(Schema):
    id = fields.UUID()
    base = fields.Nested(RefSchema)
    name = Text()
    address = Text()
    lat = fields.Float(metadata={"description": "WGS-84"})
    lon = fields.Float(metadata={"description": "WGS-84"})
    radius_m = fields.Float()
    entered_datum = Text()
    entered_lat = fields.Float(allow_none=True)
    entered_lon = fields.Float(allow_none=True)
    converted_from = Text(allow_none=True,
                                   metadata={"description": "the datum converted from, null for WGS-84"})
    shift_m = fields.Float(metadata={"description": "distance between the entered and the WGS-84 point"})


class SiteListSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema))


class TeacherSchema(Schema):
    id = fields.UUID()
    base = fields.Nested(RefSchema)
    name = Text()
    professional_title = Text()
    skill_qualification = Text()
    certificate_no = Text()
    phone = Text()
    theory_qualified = fields.Boolean(metadata={"description": "R4: may teach theory"})
    practical_qualified = fields.Boolean(metadata={"description": "R4: may teach practical skills"})


class TeacherListSchema(Schema):
    teachers = fields.List(fields.Nested(TeacherSchema))


class OccupationListSchema(Schema):
    occupations = fields.List(fields.Nested(OccupationSchema))
