"""Plan filing (R5/R7): classes, plan versions, sessions, rosters, sites and teachers."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import (
    CalendarDate,
    JsonBoolean,
    JsonFloat,
    JsonInteger,
    StrictSchema,
    Text,
    UTCDateTime,
)

# A certificate held three years before a class may well have been issued before 2000.
CERTIFICATE_EARLIEST = date(1950, 1, 1)
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
    level = JsonInteger(required=True, validate=validate.OneOf([1, 2]),
                        metadata={"description": "2 = 技师, 1 = 高级技师"})
    start_date = CalendarDate(required=True)
    end_date = CalendarDate(required=True)
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
                             metadata={"description": "keep it to mark the same session across "
                                                      "versions"})
    date = CalendarDate(required=True)
    start = fields.Time(required=True, format="%H:%M")
    end = fields.Time(required=True, format="%H:%M")
    category = _text(required=True, validate=validate.OneOf(CATEGORIES))
    topic = _text(required=True, validate=validate.Length(min=1, max=256))
    teacher_id = fields.UUID(required=True)
    site_id = fields.UUID(required=True)
    online = JsonBoolean(load_default=False)

    @validates_schema
    def _end_after_start(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ValidationError("结束时间须晚于开始时间", "end")


class SessionAddSchema(SessionInSchema):
    """One session, or the same session on several consecutive days."""

    repeat_days = JsonInteger(load_default=1, validate=validate.Range(min=1, max=60))


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
    certificate_date = CalendarDate(required=True, earliest=CERTIFICATE_EARLIEST)
    employer = _text(load_default="", validate=validate.Length(max=128))
    employer_kind = _text(required=True, validate=validate.OneOf(EMPLOYER_KINDS))
    phone = _text(load_default="", validate=validate.Length(max=32))


class TraineeCorrectSchema(StrictSchema):
    """A correction of one enrolled trainee's details (the ID number is who they are: not here)."""

    name = _text(required=True, validate=validate.Length(min=1, max=64))
    gender = _text(load_default="", validate=validate.OneOf(["", "男", "女"]))
    education = _text(required=True, validate=validate.OneOf(EDUCATIONS))
    certificate_level = _text(required=True, validate=validate.OneOf(CERTIFICATE_LEVELS))
    certificate_date = CalendarDate(required=True, earliest=CERTIFICATE_EARLIEST)
    employer = _text(load_default="", validate=validate.Length(max=128))
    employer_kind = _text(required=True, validate=validate.OneOf(EMPLOYER_KINDS))


class RosterConfirmSchema(StrictSchema):
    """The sealed preview of a roster file the clerk confirms (see services/roster_import.py)."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=2_000_000))


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
    lat = JsonFloat(required=True, validate=validate.Range(min=-90, max=90))
    lon = JsonFloat(required=True, validate=validate.Range(min=-180, max=180))
    datum = _text(load_default="wgs84", validate=validate.OneOf(DATUMS),
                  metadata={"description": "wgs84 (GPS), gcj02 (高德/腾讯), bd09 (百度)"})
    radius_m = JsonFloat(load_default=150.0, validate=validate.Range(min=20, max=2000))


class SitePatchSchema(StrictSchema):
    """Change a site; coordinates come as a pair with their datum."""

    name = _text(validate=validate.Length(min=1, max=128))
    address = _text(validate=validate.Length(min=1, max=256))
    lat = JsonFloat(validate=validate.Range(min=-90, max=90))
    lon = JsonFloat(validate=validate.Range(min=-180, max=180))
    datum = _text(validate=validate.OneOf(DATUMS))
    radius_m = JsonFloat(validate=validate.Range(min=20, max=2000))

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

    id = fields.UUID(required=True)
    name = Text(required=True)


class OccupationSchema(Schema):
    id = fields.UUID(required=True)
    code = Text(required=True)
    name = Text(required=True)


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
    id = fields.UUID(required=True)
    number = fields.Integer(required=True)
    status = Text(required=True)
    class_id = fields.UUID(required=True)
    class_name = Text(required=True)
    base = fields.Nested(RefSchema, required=True)
    county = fields.Nested(RefSchema, required=True)
    reason = Text(required=True)
    review_comment = Text(required=True)
    created_at = UTCDateTime(required=True)
    submitted_at = UTCDateTime(allow_none=True, required=True)
    approved_at = UTCDateTime(allow_none=True, required=True)
    recorded_at = UTCDateTime(allow_none=True, required=True)


class VersionListSchema(Schema):
    versions = fields.List(fields.Nested(VersionSummarySchema), required=True)


class ClassSchema(Schema):
    id = fields.UUID(required=True)
    name = Text(required=True)
    base = fields.Nested(RefSchema, required=True)
    county = fields.Nested(RefSchema, required=True)
    occupation = fields.Nested(OccupationSchema, required=True)
    level = fields.Integer(required=True)
    level_name = Text(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    head_teacher = fields.Nested(RefSchema, allow_none=True, required=True)
    versions = fields.List(fields.Nested(VersionSummarySchema), required=True)
    in_force = fields.Nested(VersionSummarySchema, allow_none=True,
                             metadata={"description": "the latest approved or recorded version"},
                             required=True)


class ClassListSchema(Schema):
    classes = fields.List(fields.Nested(ClassSchema), required=True)


class SessionSchema(Schema):
    id = fields.UUID(required=True)
    lineage_id = fields.UUID(required=True)
    date = fields.Date(required=True)
    start = fields.Time(format="%H:%M", required=True)
    end = fields.Time(format="%H:%M", required=True)
    category = Text(required=True)
    topic = Text(required=True)
    teacher = fields.Nested(RefSchema, required=True)
    site = fields.Nested(RefSchema, required=True)
    online = fields.Boolean(required=True)
    hours = fields.Float(metadata={"description": "学时, from the times"}, required=True)


class RosterRowSchema(Schema):
    """A roster entry with its violations; the ID number only masked."""

    row = fields.Integer(allow_none=True,
                         metadata={"description": "spreadsheet row, when imported"}, required=True)
    trainee_id = fields.UUID(allow_none=True, required=True)
    name = Text(required=True)
    id_masked = Text(required=True)
    gender = Text(required=True)
    education = Text(required=True)
    certificate_level = Text(required=True)
    certificate_date = fields.Date(allow_none=True, required=True)
    employer = Text(required=True)
    employer_kind = Text(required=True)
    enrolled = fields.Boolean(required=True)
    violations = fields.List(fields.Nested(ViolationSchema), required=True)


class RosterSchema(Schema):
    """A roster import result or the roster of a version."""

    enrolled = fields.Integer(required=True)
    skipped = fields.Integer(metadata={"description": "rows that could not be enrolled (bad ID, "
                                                      "missing field)"}, required=True)
    rows = fields.List(fields.Nested(RosterRowSchema), required=True)


class HoursSchema(Schema):
    total = fields.Float(required=True)
    politics = fields.Float(required=True)
    theory = fields.Float(required=True)
    practical = fields.Float(required=True)


class CrossBaseRosterSchema(Schema):
    """One filed roster naming a flagged person (the city's view only)."""

    base = Text(required=True)
    county = Text(required=True)
    class_id = fields.UUID(required=True)
    class_name = Text(required=True)
    version_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    status = Text(required=True)
    name = Text(required=True, metadata={"description": "the name as that base filed it"})


class CrossBaseFlagSchema(Schema):
    """A person on this roster whom another base filed the same year (flag trainee.cross_base)."""

    code = Text(required=True, metadata={"example": "trainee.cross_base"})
    year = fields.Integer(required=True)
    raised_at = UTCDateTime(required=True)
    name = Text(required=True)
    id_masked = Text(required=True)
    rosters = fields.List(fields.Nested(CrossBaseRosterSchema), required=True)


class VersionSchema(VersionSummarySchema):
    """A plan version in full: sessions, roster, hours, live violations and the diff."""

    editable = fields.Boolean(required=True)
    sessions = fields.List(fields.Nested(SessionSchema), required=True)
    roster = fields.List(fields.Nested(RosterRowSchema), required=True)
    hours = fields.Nested(HoursSchema, required=True)
    violations = fields.List(fields.Nested(ViolationSchema), required=True)
    diff = fields.Dict(metadata={"description": "sessions added/removed/changed by lineage, "
                                                "roster, teachers"}, required=True)
    approved_by = Text(allow_none=True, required=True)
    recorded_by = Text(allow_none=True, required=True)
    cross_base_flags = fields.List(
        fields.Nested(CrossBaseFlagSchema), required=True,
        metadata={"description": "the city only (empty for everyone else): people on this "
                                 "roster on another base's filed roster the same year (R7)"})


class SiteSchema(Schema):
    id = fields.UUID(required=True)
    base = fields.Nested(RefSchema, required=True)
    name = Text(required=True)
    address = Text(required=True)
    lat = fields.Float(metadata={"description": "WGS-84"}, required=True)
    lon = fields.Float(metadata={"description": "WGS-84"}, required=True)
    radius_m = fields.Float(required=True)
    entered_datum = Text(required=True)
    entered_lat = fields.Float(allow_none=True, required=True)
    entered_lon = fields.Float(allow_none=True, required=True)
    converted_from = Text(allow_none=True,
                                   metadata={"description": "the datum converted from, null for "
                                                            "WGS-84"}, required=True)
    shift_m = fields.Float(metadata={"description": "distance between the entered and the WGS-84 "
                                                    "point"}, required=True)


class SiteListSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema), required=True)


class TeacherSchema(Schema):
    id = fields.UUID(required=True)
    base = fields.Nested(RefSchema, required=True)
    name = Text(required=True)
    professional_title = Text(required=True)
    skill_qualification = Text(required=True)
    certificate_no = Text(required=True)
    phone = Text(required=True)
    theory_qualified = fields.Boolean(metadata={"description": "R4: may teach theory"},
                                      required=True)
    practical_qualified = fields.Boolean(metadata={"description": "R4: may teach practical skills"},
                                         required=True)


class TeacherListSchema(Schema):
    teachers = fields.List(fields.Nested(TeacherSchema), required=True)


class OccupationListSchema(Schema):
    occupations = fields.List(fields.Nested(OccupationSchema), required=True)
