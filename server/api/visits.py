"""Visits as the server judged them: reviewers in their scope, inspectors their own."""

from __future__ import annotations

import uuid

from flask import Blueprint, g, request

from schemas.common import ErrorSchema, load_or_422
from schemas.visits import (
    SelfSigninListSchema,
    SelfSigninQuerySchema,
    VisitListQuerySchema,
    VisitSummaryListSchema,
)
from server.api.auth import token_required
from server.api.docs import api_doc
from server.services import selfsignin as selfsignin_service
from server.services import visits as visit_service

bp = Blueprint("api_visits", __name__, url_prefix="/visits")


@bp.get("")
@token_required("inspector", "county_admin", "city_admin")
@api_doc("List visits with their checks, flags and whether all their media arrived",
         query=VisitListQuerySchema, responses={200: VisitSummaryListSchema, 403: ErrorSchema},
         tags=["visits"])
def list_visits():
    """List the visits the caller may see, optionally for one class and since a time."""
    query = VisitListQuerySchema().load(request.args.to_dict())
    visits = visit_service.list_visits(g.user, query["class_id"], query["since"])
    return VisitSummaryListSchema().dump({"visits": visits})


@bp.get("/<uuid:visit_id>/self-signins")
@token_required("inspector")
@api_doc("The self sign-ins trainees made on their own phones from your codes for a visit "
         "(pushed yet or not), for the phone's attendance step",
         query=SelfSigninQuerySchema,
         responses={200: SelfSigninListSchema, 404: ErrorSchema, 422: ErrorSchema},
         tags=["visits"])
def self_signins(visit_id: uuid.UUID):
    """List the self sign-ins the caller's codes took for a visit (404 outside its scope)."""
    query = load_or_422(SelfSigninQuerySchema(), request.args.to_dict())
    rows = selfsignin_service.visit_self_signins(g.user, query["class_id"], visit_id)
    return SelfSigninListSchema().dump({"signins": rows})
