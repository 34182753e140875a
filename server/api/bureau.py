"""Bureau JSON API: draws, assignments, coverage, visit review and rectifications.

Reviewers (county and city admins) only, except rectifications, which the base's staff read and
answer. Base staff never see a draw or an assignment (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, g, request

from schemas.bureau import (
    AnswerSchema,
    AssignmentListSchema,
    CloseSchema,
    CoverageQuerySchema,
    CoverageSchema,
    DecisionSchema,
    DrawListSchema,
    DrawOutSchema,
    DrawRequestSchema,
    DrawVerifySchema,
    RectificationListSchema,
    RectificationOutSchema,
    RectificationQuerySchema,
    RectificationRequestSchema,
    RectificationReturnSchema,
    ReinspectSchema,
    ReviewOutSchema,
    VisitDetailSchema,
    VisitListSchema,
    VisitQuerySchema,
)
from schemas.common import load_or_422
from server.api.auth import token_required
from server.api.docs import api_doc
from server.extensions import db
from server.models import County, Draw, Visit
from server.services import coverage as coverage_service
from server.services import draw as draw_service
from server.services import review as review_service
from server.services.scope import REVIEWER_ROLES

bp = Blueprint("api_bureau", __name__, url_prefix="/bureau")
TAGS = ["bureau"]


# --- presenters (model → plain dict for the schemas) ------------------------------------


def draw_dict(draw: Draw, full: bool = True) -> dict[str, Any]:
    """A draw; the seed only once its period is over."""
    data = {"id": draw.id, "county": db.session.get(County, draw.county_id).name,
            "period_from": draw.period_from, "period_to": draw.period_to,
            "seed_sha256": draw.seed_sha256, "seed": draw_service.public_seed(draw),
            "created_at": draw.created_at}
    if full:
        data.update(class_list=draw.class_list, inspector_list=draw.inspector_list,
                    assignments=draw_service.draw_assignments(draw))
    return data


def visit_row(visit: Visit) -> dict[str, Any]:
    """A visit's list row, as the caller may see it (a base: no pending re-inspection)."""
    s = review_service.visit_summary(visit, g.user)
    return {"id": visit.id, "class_id": visit.class_id, "class_name": s["class"].name,
            "base": s["base"].name, "county": s["county"].name, "started_at": visit.started_at,
            "verdict": visit.verdict, "review_status": s["review_status"], "issues": s["issues"]}


def review_dict(review, assignment=None, rectification=None) -> dict[str, Any]:
    """A decision, with the assignment or rectification it made."""
    return {"id": review.id, "visit_id": review.visit_id, "decision": review.decision,
            "comment": review.comment, "at": review.at,
            "assignment_id": assignment.id if assignment else None,
            "rectification_id": rectification.id if rectification else None}


# --- draws -------------------------------------------------------------------------------


@bp.get("/draws")
@token_required(*REVIEWER_ROLES)
@api_doc("Draws in the caller's scope, newest first", responses={200: DrawListSchema}, tags=TAGS)
def list_draws():
    """List draws."""
    draws = draw_service.list_draws(g.user)
    return DrawListSchema().dump({"items": [draw_dict(d, full=False) for d in draws]})


@bp.post("/draws")
@token_required(*REVIEWER_ROLES)
@api_doc("Make an auditable random draw for a period (R10)", body=DrawRequestSchema,
         responses={201: DrawOutSchema}, tags=TAGS)
def create_draw():
    """Draw one unannounced visit per active class and assign the teams."""
    data = load_or_422(DrawRequestSchema(), request.get_json(silent=True))
    county = draw_service.county_to_draw(g.user, data["county_id"])
    draw = draw_service.draw_visits(county, data["period_from"], data["period_to"], actor=g.user)
    db.session.commit()
    return DrawOutSchema().dump(draw_dict(draw)), 201


@bp.get("/draws/<uuid:draw_id>")
@token_required(*REVIEWER_ROLES)
@api_doc("One draw with its lists and assignments", responses={200: DrawOutSchema}, tags=TAGS)
def get_draw(draw_id: uuid.UUID):
    """Show a draw."""
    return DrawOutSchema().dump(draw_dict(draw_service.get_draw(g.user, draw_id)))


@bp.get("/draws/<uuid:draw_id>/verify")
@token_required(*REVIEWER_ROLES)
@api_doc("Recompute a draw from its seed and lists", responses={200: DrawVerifySchema}, tags=TAGS)
def verify_draw(draw_id: uuid.UUID):
    """Verify a draw."""
    problems = draw_service.draw_problems(draw_service.get_draw(g.user, draw_id))
    return DrawVerifySchema().dump({"verified": not problems, "problems": problems})


@bp.get("/assignments")
@token_required(*REVIEWER_ROLES)
@api_doc("Drawn assignments in the caller's scope", responses={200: AssignmentListSchema},
         tags=TAGS)
def list_assignments():
    """List the assignments of every draw in scope."""
    items = [a for d in draw_service.list_draws(g.user) for a in draw_service.draw_assignments(d)]
    return AssignmentListSchema().dump({"items": items})


# --- coverage ----------------------------------------------------------------------------


@bp.get("/coverage")
@token_required(*REVIEWER_ROLES)
@api_doc("Coverage per county and deadlines of the year", query=CoverageQuerySchema,
         responses={200: CoverageSchema}, tags=TAGS)
def coverage():
    """Coverage of the spot checks."""
    year = CoverageQuerySchema().load(request.args)["year"]
    result = coverage_service.compute_coverage(g.user, year)
    deadlines = coverage_service.compute_deadlines(g.user, result.year)
    return CoverageSchema().dump(coverage_service.coverage_dict(result, deadlines))


# --- visits and decisions -----------------------------------------------------------------


@bp.get("/visits")
@token_required(*REVIEWER_ROLES, "base_staff")
@api_doc("Visits with filters (base staff: their base, after the fact)", query=VisitQuerySchema,
         responses={200: VisitListSchema}, tags=TAGS)
def list_visits():
    """List visits."""
    filters = review_service.VisitFilters(**VisitQuerySchema().load(request.args))
    visits = review_service.list_visits(g.user, filters)
    return VisitListSchema().dump({"items": [visit_row(v) for v in visits]})


@bp.get("/visits/<uuid:visit_id>")
@token_required(*REVIEWER_ROLES)
@api_doc("One visit beside its filed plan, with the seal's state",
         responses={200: VisitDetailSchema},
         tags=TAGS)
def get_visit(visit_id: uuid.UUID):
    """Show a visit."""
    visit = review_service.get_visit(g.user, visit_id)
    return VisitDetailSchema().dump(review_service.visit_detail_dict(visit, visit_row(visit)))


@bp.post("/visits/<uuid:visit_id>/accept")
@token_required(*REVIEWER_ROLES)
@api_doc("Accept a visit", body=DecisionSchema, responses={201: ReviewOutSchema}, tags=TAGS)
def accept_visit(visit_id: uuid.UUID):
    """Accept."""
    data = load_or_422(DecisionSchema(), request.get_json(silent=True))
    review = review_service.accept_visit(g.user, review_service.get_visit(g.user, visit_id),
                                         data["comment"])
    db.session.commit()
    return ReviewOutSchema().dump(review_dict(review)), 201


@bp.post("/visits/<uuid:visit_id>/reinspect")
@token_required(*REVIEWER_ROLES)
@api_doc("Order a re-inspection (a new assignment)", body=ReinspectSchema,
         responses={201: ReviewOutSchema}, tags=TAGS)
def reinspect_visit(visit_id: uuid.UUID):
    """Order a re-inspection."""
    data = load_or_422(ReinspectSchema(), request.get_json(silent=True))
    review, assignment = review_service.order_reinspection(
        g.user, review_service.get_visit(g.user, visit_id), data["comment"],
        session_id=data["session_id"], inspector_ids=data["inspector_ids"])
    db.session.commit()
    return ReviewOutSchema().dump(review_dict(review, assignment=assignment)), 201


@bp.post("/visits/<uuid:visit_id>/rectification")
@token_required(*REVIEWER_ROLES)
@api_doc("Open a rectification with a sanction from R15", body=RectificationRequestSchema,
         responses={201: ReviewOutSchema}, tags=TAGS)
def open_rectification(visit_id: uuid.UUID):
    """Open a rectification."""
    data = load_or_422(RectificationRequestSchema(), request.get_json(silent=True))
    review, rectification = review_service.open_rectification(
        g.user, review_service.get_visit(g.user, visit_id), data["sanction"], data["order_text"],
        data["deadline"])
    db.session.commit()
    return ReviewOutSchema().dump(review_dict(review, rectification=rectification)), 201


# --- rectifications -----------------------------------------------------------------------


@bp.get("/rectifications")
@token_required(*REVIEWER_ROLES, "base_staff")
@api_doc("Rectifications in scope (base staff: their base's)", query=RectificationQuerySchema,
         responses={200: RectificationListSchema}, tags=TAGS)
def list_rectifications():
    """List rectifications."""
    status = RectificationQuerySchema().load(request.args)["status"]
    items = review_service.list_rectifications(g.user, status)
    return RectificationListSchema().dump({"items": items})


@bp.get("/rectifications/<uuid:rectification_id>")
@token_required(*REVIEWER_ROLES, "base_staff")
@api_doc("One rectification", responses={200: RectificationOutSchema}, tags=TAGS)
def get_rectification(rectification_id: uuid.UUID):
    """Show a rectification."""
    rectification = review_service.get_rectification(g.user, rectification_id)
    return RectificationOutSchema().dump(rectification)


@bp.post("/rectifications/<uuid:rectification_id>/answer")
@token_required("base_staff")
@api_doc("The base answers (text; files through the page)", body=AnswerSchema,
         responses={200: RectificationOutSchema}, tags=TAGS)
def answer_rectification(rectification_id: uuid.UUID):
    """Answer a rectification."""
    data = load_or_422(AnswerSchema(), request.get_json(silent=True))
    rectification = review_service.answer_rectification(
        g.user, review_service.get_rectification(g.user, rectification_id), data["text"])
    db.session.commit()
    return RectificationOutSchema().dump(rectification)


@bp.post("/rectifications/<uuid:rectification_id>/return")
@token_required(*REVIEWER_ROLES)
@api_doc("Send an answer back to the base as not enough (it answers again)",
         body=RectificationReturnSchema,
         responses={200: RectificationOutSchema}, tags=TAGS)
def return_rectification(rectification_id: uuid.UUID):
    """Return an answered rectification to the base."""
    data = load_or_422(RectificationReturnSchema(), request.get_json(silent=True))
    rectification = review_service.return_rectification(
        g.user, review_service.get_rectification(g.user, rectification_id), data["comment"])
    db.session.commit()
    return RectificationOutSchema().dump(rectification)


@bp.post("/rectifications/<uuid:rectification_id>/close")
@token_required(*REVIEWER_ROLES)
@api_doc("Close an answered rectification", body=CloseSchema,
         responses={200: RectificationOutSchema}, tags=TAGS)
def close_rectification(rectification_id: uuid.UUID):
    """Close a rectification."""
    data = load_or_422(CloseSchema(), request.get_json(silent=True))
    rectification = review_service.close_rectification(
        g.user, review_service.get_rectification(g.user, rectification_id), data["comment"])
    db.session.commit()
    return RectificationOutSchema().dump(rectification)
