"""The pull's entity shapes: what a phone caches for each change type (`data` of a `put`).

server/services/pull.py reads each entity and dumps it through the schema named here; the
OpenAPI document lists these shapes as the possible `data` of a change. Every field is required:
a shape is the whole current state of its entity, never a partial update.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from schemas.common import StrictSchema, UTCDateTime


class SortedList(fields.List):
    """A list dumped in a fixed order (`sort_key`), so every pull of an entity is the same."""

    def __init__(self, inner: fields.Field, *, sort_key: Any, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.sort_key = sort_key

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        ordered = None if value is None else sorted(value, key=self.sort_key)
        return super()._serialize(ordered, attr, obj, **kwargs)


class CountyDataSchema(StrictSchema):
    """type `county` (县市区)."""

    name = fields.String(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True)


class BaseDataSchema(StrictSchema):
    """type `base` (培训基地)."""

    name = fields.String(required=True)
    county_id = fields.UUID(required=True)
    status = fields.String(required=True)


class SiteDataSchema(StrictSchema):
    """type `site`: WGS-84 coordinates and the geofence radius."""

    name = fields.String(required=True)
    address = fields.String(required=True)
    base_id = fields.UUID(required=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    radius_m = fields.Float(required=True)


class TeacherDataSchema(StrictSchema):
    """type `teacher`: the card the inspector compares with the person teaching."""

    name = fields.String(required=True)
    base_id = fields.UUID(required=True)
    professional_title = fields.String(required=True)
    skill_qualification = fields.String(required=True)


class TrainingClassDataSchema(StrictSchema):
    """type `training_class` (班次)."""

    name = fields.String(required=True)
    base_id = fields.UUID(required=True)
    level = fields.Integer(required=True, metadata={"description": "2 = 技师, 1 = 高级技师"})
    occupation = fields.String(required=True, attribute="occupation.name")
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)


class PulledSessionSchema(StrictSchema):
    """A session of a pulled plan version: local date and wall times (the TIMEZONE setting)."""

    id = fields.UUID(required=True)
    lineage_id = fields.UUID(required=True)
    date = fields.Date(required=True)
    start = fields.Time(required=True, format="%H:%M", attribute="start_time")
    end = fields.Time(required=True, format="%H:%M", attribute="end_time")
    category = fields.String(required=True)
    topic = fields.String(required=True)
    teacher_id = fields.UUID(required=True)
    site_id = fields.UUID(required=True)
    # The window as instants and the zone its wall times are in, resolved by the server's one
    # clock (services/clock.py, the TIMEZONE setting): the phone needs no zone rules of its own.
    start_at = fields.String(required=True, dump_only=True,
                             metadata={"format": "date-time", "description": "UTC, ends in Z"})
    end_at = fields.String(required=True, dump_only=True,
                           metadata={"format": "date-time", "description": "UTC, ends in Z"})
    zone = fields.String(required=True, dump_only=True, metadata={"example": "Asia/Shanghai"})


class PulledRosterEntrySchema(StrictSchema):
    """A trainee on a pulled roster: id, name and the ID number's last four characters, as the
    version's roster shows them (frozen at submission, R7)."""

    trainee_id = fields.UUID(required=True)
    name = fields.String(required=True)
    # The last four characters of the ID (already in the masked form) let an inspector check a
    # person against the roster; the rest of the number never leaves the server.
    id_tail = fields.Function(lambda entry: entry.id_masked[-4:], required=True,
                              metadata={"type": "string"})


class JudgingSettingsSchema(StrictSchema):
    """The server's settings for judging a visit (services/visits.py judging_settings), so the
    phone's own checks give the answer the server will."""

    gps_max_accuracy_m = fields.Float(
        required=True, dump_only=True,
        metadata={"description": "metres; a worse fix cannot verify the place"})
    attendance_min_rate = fields.Float(required=True, dump_only=True,
                                       metadata={"description": "0..1 of the roster signed in"})
    time_tolerance_minutes = fields.Integer(required=True, dump_only=True)
    evidence_tolerance_minutes = fields.Integer(
        required=True, dump_only=True,
        metadata={"description": "a fix, photo or sign-in captured further outside the visit "
                                 "is stale and cannot verify it"})


class PlanVersionDataSchema(StrictSchema):
    """type `plan_version`: the filed sessions and the roster, by trainee name."""

    class_id = fields.UUID(required=True, attribute="plan.class_id")
    version = fields.Integer(required=True, attribute="number")
    status = fields.String(required=True)
    sessions = fields.List(fields.Nested(PulledSessionSchema), required=True)
    # The version's roster as services/filed_roster.py gives it: frozen once filed.
    roster = SortedList(fields.Nested(PulledRosterEntrySchema), required=True,
                        sort_key=lambda e: (e.name, str(e.trainee_id)))
    judging = fields.Nested(JudgingSettingsSchema, required=True, dump_only=True)


class TeamMemberSchema(StrictSchema):
    """An inspector of an assignment's team."""

    id = fields.UUID(required=True)
    name = fields.Function(lambda user: user.display_name or user.username, required=True,
                           metadata={"type": "string"})


class AssignmentDataSchema(StrictSchema):
    """type `assignment`: the drawn session and the team (sent only to the team)."""

    class_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    date = fields.Date(required=True)
    status = fields.String(required=True)
    inspector_ids = fields.Function(
        lambda assignment: sorted(str(user.id) for user in assignment.inspectors), required=True,
        metadata={"type": "array", "items": {"type": "string", "format": "uuid"}})
    # The team by name: one labelled signature slot per member on the phone.
    inspectors = SortedList(fields.Nested(TeamMemberSchema), required=True,
                            sort_key=lambda user: str(user.id))


class VisitReviewDataSchema(StrictSchema):
    """type `visit_review`: a reviewer's decision on one of the inspector's visits."""

    visit_id = fields.UUID(required=True)
    decision = fields.String(required=True)
    comment = fields.String(required=True)
    visit_ids = fields.List(fields.UUID(), required=True,
                            metadata={"description": "every record of the check it decides"})
    at = UTCDateTime(required=True)


class JwkSchema(StrictSchema):
    """A public key as a JWK (WebCrypto `importKey("jwk", ...)`): Ed25519 (OKP) or P-256 (EC)."""

    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    y = fields.String(metadata={"description": "P-256 only"})
    kid = fields.String(required=True)


class BadgeKeyDataSchema(StrictSchema):
    """type `badge_key`: the key phones verify trainees' QR badges with, offline."""

    kid = fields.String(required=True)
    alg = fields.String(required=True, metadata={"description": "Ed25519 | ES256"})
    token_version = fields.Integer(required=True)
    jwk = fields.Nested(JwkSchema, required=True)


# The shape of each change type's `data` (the OpenAPI document lists them in this order; a test
# holds every pulled change to the shape of its own type).
PULL_SHAPES: dict[str, type[StrictSchema]] = {
    "county": CountyDataSchema, "base": BaseDataSchema, "site": SiteDataSchema,
    "teacher": TeacherDataSchema, "training_class": TrainingClassDataSchema,
    "plan_version": PlanVersionDataSchema, "assignment": AssignmentDataSchema,
    "visit_review": VisitReviewDataSchema, "badge_key": BadgeKeyDataSchema,
}
