"""Visits as the server judged them: reviewers in their scope, inspectors their own."""

from __future__ import annotations

from flask import Blueprint, g, request

from schemas.common import ErrorSchema
from schemas.visits import VisitListQuerySchema, VisitSummaryListSchema
from server.api.auth import token_required
from server.api.docs import api_doc
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
