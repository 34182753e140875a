"""Path parameters of the document downloads (visit PDF, Attachment 2, subsidy, archive)."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.common import StrictSchema


class VisitDocumentSchema(StrictSchema):
    """A visit whose record (抽查记录表) is asked for."""

    visit_id = fields.UUID(required=True)


class BaseYearSchema(StrictSchema):
    """A base and a reporting year."""

    base_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=False, validate=validate.Range(2000, 2100))
