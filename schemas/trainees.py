"""Trainee identity (the one unmasked view)."""

from marshmallow import fields

from schemas.common import StrictSchema


class TraineeIdentitySchema(StrictSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "unmasked; every read is audited"})
