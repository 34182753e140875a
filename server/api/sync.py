"""Sync: push a device's mutations, pull the changes in the user's scope (DESIGN §4)."""

from __future__ import annotations

from flask import Blueprint, g, request

from schemas.common import ErrorSchema, load_or_422
from schemas.fastload import FastDump, FastLoad
from schemas.sync import PullQuerySchema, PullResponseSchema, PushRequestSchema, PushResponseSchema
from server.api.auth import token_required
from server.api.docs import api_doc
from server.errors import ApiError
from server.i18n import error_text, flag_text
from server.services import pull as pull_service
from server.services import sync_store

bp = Blueprint("api_sync", __name__, url_prefix="/sync")
# The push body is the hot path: the same schema, walked quickly (schemas/fastload.py).
PUSH_REQUEST = FastLoad(PushRequestSchema())
PUSH_RESPONSE = FastDump(PushResponseSchema())
PULL_QUERY = PullQuerySchema()
PULL_RESPONSE = PullResponseSchema()


@bp.post("/push")
@token_required("inspector")
@api_doc("Push a device's mutations; each seq is applied exactly once", body=PushRequestSchema,
         responses={200: PushResponseSchema, 403: ErrorSchema, 422: ErrorSchema}, tags=["sync"],
         errors=(503,))
def push():
    """Apply a batch from the token's own device and return per-mutation results."""
    data = load_or_422(PUSH_REQUEST, request.get_json(silent=True))
    if data["device_id"] != g.device_id:
        # A token speaks for one device: another device's seqs are not this one's to consume.
        raise ApiError("sync.device_mismatch")
    response = sync_store.push(g.user, g.device_id, data["mutations"])
    return PUSH_RESPONSE.dump(push_words(response.to_dict()))


def push_words(body: dict) -> dict:
    """Give each result with a code its `message`, in the request's language (codes stay)."""
    for result in body["results"]:
        detail, params = result.pop("detail", None), result.pop("params", None)
        if result["status"] == "flagged":
            result["message"] = flag_text(result["code"], params)
        elif detail or result.get("code"):
            result["message"] = error_text(detail or result["code"], params)
    return body


@bp.get("/pull")
@token_required(*pull_service.PULL_ROLES)
@api_doc("Pull the changes in your scope after a cursor", query=PullQuerySchema,
         responses={200: PullResponseSchema, 409: ErrorSchema}, tags=["sync"])
def pull():
    """Return one page of changes and the cursor to continue from."""
    query = PULL_QUERY.load(request.args.to_dict())
    page = pull_service.pull(g.user, query["cursor"], query["limit"])
    return PULL_RESPONSE.dump(page)
