"""Trainee identity (the one unmasked view)."""

from marshmallow import fields

from schemas.common import StrictSchema, Text


class TraineeIdentitySchema(StrictSchema):
    id = fields.UUID(required=True)
    name = Text(required=True)
    id_number = Text(required=True, metadata={"description": "unmasked; every read is audited"})
