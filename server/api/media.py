"""Media uploads, tus 1.0.0 (creation, checksum, expiration, termination), and missing media.

Creation of a file the server already holds answers 201 with `Upload-Offset` equal to
`Upload-Length` (and `"complete": true` in the JSON body): the client has nothing to send,
and a HEAD on the Location says the same. Expired unfinished uploads answer 410.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request, url_for
from werkzeug.http import http_date

from schemas.common import load_or_422
from schemas.media import (
    MissingRequestSchema,
    MissingResponseSchema,
    UploadCreateHeadersSchema,
    UploadPatchHeadersSchema,
    UploadSchema,
)
from server.api.auth import token_required
from server.api.docs import api_doc
from server.errors import ApiError
from server.services import media_uploads
from server.services.media_uploads import UploadState

bp = Blueprint("api_media", __name__, url_prefix="/media")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
OFFSET_STREAM = "application/offset+octet-stream"
TUS_HEADER = {"Tus-Resumable": {"required": True,
                                "schema": {"type": "string", "enum": [TUS_VERSION]}}}
TUS_ERRORS = (410, 412, 460)
# Evidence comes from inspectors' phones; nobody else uploads through tus or asks what is held.
MEDIA_ROLES = ("inspector",)
# Built once: a schema's construction copies its fields, dearer than loading three headers.
CREATE_HEADERS = UploadCreateHeadersSchema()
PATCH_HEADERS = UploadPatchHeadersSchema()
UPLOAD = UploadSchema()


@bp.after_request
def add_tus_headers(response):
    """Every response names the protocol version; a version refusal lists what we speak."""
    response.headers["Tus-Resumable"] = TUS_VERSION
    if response.status_code == 412:
        response.headers["Tus-Version"] = TUS_VERSION
    return response


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiError("media.tus_version")


def _upload_headers(upload: UploadState) -> dict[str, str]:
    return {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": http_date(upload.expires_at),
        "Cache-Control": "no-store",
    }


def _upload_body(upload: UploadState) -> dict:
    return UPLOAD.dump({
        "id": upload.id, "sha256": upload.sha256, "mime": upload.mime, "length": upload.length,
        "offset": upload.offset, "expires_at": upload.expires_at,
        "complete": upload.complete,
    })


@bp.route("/uploads", methods=["OPTIONS"])
@api_doc("tus discovery: version, extensions, size limit, checksum algorithms",
         responses={204: None}, auth=False, tags=["media"])
def tus_options():
    """Describe this tus server."""
    return "", 204, {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(current_app.config["MEDIA_MAX_BYTES"]),
        "Tus-Checksum-Algorithm": "sha1,sha256",
    }


@bp.route("/uploads", methods=["POST"], provide_automatic_options=False)
@token_required(*MEDIA_ROLES)
@api_doc("Create an upload (Upload-Length; Upload-Metadata with sha256 and mime)",
         responses={201: UploadSchema}, tags=["media"], errors=TUS_ERRORS, headers={
             **TUS_HEADER,
             "Upload-Length": {"required": True, "schema": {"type": "integer", "minimum": 0}},
             "Upload-Metadata": {"required": True, "schema": {"type": "string"}},
         })
def create_upload():
    """Start an upload; 201 with Location (Upload-Offset = length if the file is already held)."""
    _require_tus()
    headers = {k: request.headers[k] for k in ("Upload-Length", "Upload-Metadata")
               if k in request.headers}
    data = load_or_422(CREATE_HEADERS, headers)
    meta = data["metadata"]
    upload = media_uploads.create_upload(g.user, meta["sha256"], meta["mime"], data["length"])
    location = url_for("api_media.upload_head", upload_id=upload.id)
    return _upload_body(upload), 201, {**_upload_headers(upload), "Location": location}


@bp.route("/uploads/<uuid:upload_id>", methods=["HEAD"])
@token_required(*MEDIA_ROLES)
@api_doc("Where an upload stands: Upload-Offset, Upload-Length, Upload-Expires", tags=["media"],
         headers=TUS_HEADER, errors=TUS_ERRORS)
def upload_head(upload_id):
    """Report the upload's offset (HEAD has no body)."""
    _require_tus()
    upload = media_uploads.get_upload(g.user, upload_id)
    return "", 200, _upload_headers(upload)


@bp.route("/uploads/<uuid:upload_id>", methods=["PATCH"])
@token_required(*MEDIA_ROLES)
@api_doc("Append a chunk at Upload-Offset (optional Upload-Checksum: sha1|sha256 <base64>)",
         raw_body=OFFSET_STREAM, responses={204: None}, tags=["media"], errors=TUS_ERRORS,
         headers={
             **TUS_HEADER,
             "Upload-Offset": {"required": True, "schema": {"type": "integer", "minimum": 0}},
             "Upload-Checksum": {"schema": {"type": "string"}},
         })
def upload_patch(upload_id):
    """Append the body at Upload-Offset; the last byte completes and stores the file."""
    _require_tus()
    if request.mimetype != OFFSET_STREAM:
        raise ApiError("unsupported_media_type", "media.offset_stream_required")
    headers = {k: request.headers[k] for k in ("Upload-Offset", "Content-Length", "Upload-Checksum")
               if k in request.headers}
    data = load_or_422(PATCH_HEADERS, headers)
    upload = media_uploads.append_chunk(g.user, upload_id, data["offset"], request.stream,
                                        data["content_length"], data.get("checksum"))
    return "", 204, _upload_headers(upload)


@bp.route("/uploads/<uuid:upload_id>", methods=["DELETE"])
@token_required(*MEDIA_ROLES)
@api_doc("Terminate an upload (stored media are never deleted)", responses={204: None},
         tags=["media"], headers=TUS_HEADER, errors=TUS_ERRORS)
def upload_delete(upload_id):
    """Terminate the upload and free its bytes."""
    _require_tus()
    media_uploads.terminate_upload(g.user, upload_id)
    return "", 204


@bp.post("/missing")
@token_required(*MEDIA_ROLES)
@api_doc("Which of these SHA-256 the server lacks, and this user's uploads in progress",
         body=MissingRequestSchema, responses={200: MissingResponseSchema}, tags=["media"])
def missing_media():
    """Return the missing hashes and resumable offsets."""
    data = load_or_422(MissingRequestSchema(), request.get_json(silent=True))
    return MissingResponseSchema().dump(media_uploads.find_missing(g.user, data["sha256"]))
