"""The sync wire contract: push (mutations in, per-mutation results out) and pull."""

from marshmallow import fields, validate

from schemas.common import JsonInteger, OneOfShapes, StrictSchema, Text, UTCDateTime
from schemas.pull import PULL_SHAPES, JudgingSettingsSchema

MAX_BATCH = 1000


class MutationBaseSchema(StrictSchema):
    plan_version_id = fields.UUID(allow_none=True, load_default=None,
                                  metadata={"description": "the plan version the change was made "
                                                           "against"})


class MutationSchema(StrictSchema):
    mutation_id = fields.UUID(required=True)
    seq = JsonInteger(required=True, validate=validate.Range(min=1),
                      metadata={"description": "1, 2, 3, ... per device, never reused"})
    type = Text(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "visit.submit | signin.create"})
    entity_id = fields.UUID(allow_none=True, load_default=None,
                            metadata={"description": "the client-made id of the record"})
    client_time = UTCDateTime(allow_none=True, load_default=None,
                              metadata={"description": "device clock when the push is sent"})
    base = fields.Nested(MutationBaseSchema, load_default=dict)
    # Kept exactly as received: the visit seal is computed over these very values.
    payload = fields.Dict(required=True,
                          metadata={"description": "checked per type by its handler"})


class PushRequestSchema(StrictSchema):
    device_id = Text(required=True, validate=validate.Length(min=1, max=64))
    mutations = fields.List(fields.Nested(MutationSchema), required=True,
                            validate=validate.Length(max=MAX_BATCH))


class MutationResultSchema(StrictSchema):
    mutation_id = Text(required=True)
    seq = fields.Integer(required=True)
    status = Text(required=True, metadata={"description": "applied | flagged | rejected | gap"})
    replayed = fields.Boolean(required=True)
    code = Text()
    message = Text()
    flags = fields.List(Text())
    errors = fields.Raw()


class PushResponseSchema(StrictSchema):
    results = fields.List(fields.Nested(MutationResultSchema), required=True)
    last_seq = fields.Integer(required=True,
                              metadata={"description": "the device's last recorded seq"})
    resend_from = fields.Integer(metadata={
        "description": "on a gap: the next seq the server expects; re-send from it everything "
                       "still held"})


class PullQuerySchema(StrictSchema):
    cursor = Text(load_default=None, validate=validate.Length(max=512),
                           metadata={"description": "opaque; absent = from the beginning"})
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))


class ChangeSchema(StrictSchema):
    type = Text(required=True)
    id = Text(required=True)
    op = Text(required=True, validate=validate.OneOf(["put", "delete"]))
    data = OneOfShapes(tuple(PULL_SHAPES.values()), required=True, allow_none=True,
                       metadata={"description": "the entity's current state (the shape of its "
                                                "type); null for delete"})


class PullResponseSchema(StrictSchema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = Text(required=True)
    has_more = fields.Boolean(required=True)
    judging = fields.Nested(JudgingSettingsSchema, required=True, metadata={
        "description": "the server's judging settings now, on every page: the phone's checks "
                       "use these (a plan version's `judging` is as it was when published)"})
