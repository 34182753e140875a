"""Sign-in wire shapes: the self sign-in form, the sign-in record and the attendance summary."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from schemas.common import StrictSchema, Text

PNG_DATA_URL = "data:image/png;base64,"


class GpsSchema(StrictSchema):
    """A location fix in WGS-84 as the browser reports it."""

    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 100000))


class SelfSignInFormSchema(StrictSchema):
    """The trainee's form at /s/<code>: name, last 6 ID characters, signature, location."""

    csrf_token = Text(load_default="")
    ticket = Text(required=True, validate=validate.Length(min=1, max=512))
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    id_last6 = Text(required=True, validate=validate.Regexp(
        r"^\s*\d{5}[\dXxＸｘ]\s*$", error="请输入身份证号后6位"))
    signature = Text(required=True, validate=validate.Length(min=1, max=400_000))
    lat = Text(load_default="")
    lon = Text(load_default="")
    accuracy = Text(load_default="")
    geo_error = Text(load_default="", validate=validate.Length(max=200))

    @validates_schema(skip_on_field_errors=False)
    def check_signature(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The signature must be a PNG data URL (the canvas's toDataURL)."""
        if not data.get("signature", "").startswith(PNG_DATA_URL):
            raise ValidationError("请在签名框内签名", "signature")

    @post_load
    def decode(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Decode the signature PNG and the location into their real types."""
        try:
            data["signature_png"] = base64.b64decode(
                data.pop("signature")[len(PNG_DATA_URL):], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError("签名图像无法读取", "signature") from error
        data["id_last6"] = data["id_last6"].strip().upper()
        data["name"] = data["name"].strip()
        gps = None
        if data["lat"] and data["lon"]:
            raw = {"lat": data["lat"], "lon": data["lon"]}
            if data["accuracy"]:
                raw["accuracy"] = data["accuracy"]
            gps = GpsSchema().load(raw)
        for key in ("lat", "lon", "accuracy", "csrf_token"):
            data.pop(key)
        data["gps"] = gps
        return data
