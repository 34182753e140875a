"""Media: tus 1.0.0 upload headers (loaded as dicts) and the missing-media query."""

from __future__ import annotations

import base64
import binascii

from marshmallow import ValidationError, fields, pre_load, validate

from schemas.common import StrictSchema, Text, UTCDateTime

SHA256_HEX = validate.Regexp(r"^[0-9a-f]{64}$", error="SHA-256 的十六进制小写形式 (64 chars)")
MIMES = ("image/jpeg", "image/png", "video/mp4", "video/webm")


class UploadMetadataSchema(StrictSchema):
    """The decoded Upload-Metadata pairs; `filename`/`filetype` are what tus clients add."""

    sha256 = Text(required=True, validate=SHA256_HEX)
    mime = Text(required=True)
    filename = Text(validate=validate.Length(max=255))
    filetype = Text(validate=validate.Length(max=100))


class UploadCreateHeadersSchema(StrictSchema):
    """POST /media/uploads: Upload-Length and the decoded Upload-Metadata."""

    length = fields.Integer(required=True, validate=validate.Range(min=1),
                            data_key="Upload-Length")
    metadata = fields.Nested(UploadMetadataSchema, required=True, data_key="Upload-Metadata")

    @pre_load
    def decode_metadata(self, data: dict, **kwargs) -> dict:
        """Decode tus `key base64value,key base64value` pairs into a dict."""
        raw = data.get("Upload-Metadata")
        if isinstance(raw, str):
            data = {**data, "Upload-Metadata": parse_upload_metadata(raw)}
        return data


def parse_upload_metadata(raw: str) -> dict[str, str]:
    """Parse a tus Upload-Metadata header; bad base64 or UTF-8 is a validation error."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, _, value = item.partition(" ")
        try:
            pairs[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValidationError({"Upload-Metadata": [f"{key}: not base64 UTF-8"]}) from error
    return pairs


class UploadPatchHeadersSchema(StrictSchema):
    """PATCH /media/uploads/<id>: where the chunk goes, how long it is, its optional checksum."""

    offset = fields.Integer(required=True, validate=validate.Range(min=0),
                            data_key="Upload-Offset")
    content_length = fields.Integer(required=True, validate=validate.Range(min=0),
                                    data_key="Content-Length")
    checksum = Text(data_key="Upload-Checksum",
                             validate=validate.Regexp(r"^(sha1|sha256) [A-Za-z0-9+/]+={0,2}$"))


class UploadSchema(StrictSchema):
    """An upload's state (also in the tus headers); `complete` once the file is stored."""

    id = fields.UUID(required=True)
    sha256 = Text(required=True)
    mime = Text(required=True)
    length = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    expires_at = UTCDateTime(required=True)
    complete = fields.Boolean(required=True)


class MissingRequestSchema(StrictSchema):
    """POST /media/missing: the hashes a phone holds."""

    sha256 = fields.List(Text(validate=SHA256_HEX), required=True,
                         validate=validate.Length(min=0, max=1000))


class MissingResponseSchema(StrictSchema):
    """What the server lacks; `partial` = this user's unfinished uploads (offset, upload id)."""

    missing = fields.List(Text(), required=True)
    partial = fields.Dict(keys=Text(), values=fields.Integer(), required=True)
    uploads = fields.Dict(keys=Text(), values=Text(), required=True,
                          metadata={"description": "sha256 → upload id to resume with HEAD/PATCH"})
