"""Bureau pages: dashboard, draws, visit review, rectifications (and the base's answer).

Reviewers (county admins for their county, city admins for all) use every page; base staff
only see rectifications of their base and its visits after the fact, never draws or assignments.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, ValidationError

from schemas.bureau import (
    AnswerSchema,
    CloseSchema,
    DashboardQuerySchema,
    DecisionSchema,
    DrawFormSchema,
    RectificationPageQuerySchema,
    RectificationRequestSchema,
    RectificationReturnSchema,
    ReinspectSchema,
    VisitQuerySchema,
)
from server.errors import ApiError, field_error
from server.extensions import db
from server.i18n import translate
from server.models import County, TrainingBase
from server.services import coverage as coverage_service
from server.services import draw as draw_service
from server.services import geofence_sketch, media_store, team_checks
from server.services import review as review_service
from server.services.beside_plan import beside_plan
from server.services.clock import local_today
from server.services.scope import counties_in_scope, is_covert, is_reviewer, require_reviewer
from server.web.forms import form_values, keep_refused_form
from sync.judge import CHECK_RULES

bp = Blueprint("bureau", __name__, url_prefix="/bureau")


def _reviewer() -> None:
    require_reviewer(current_user)


def _back_on_error(view: Callable) -> Callable:
    """On a refused form, roll back, say why and go back to the page the form was on."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except (ApiError, ValidationError) as error:
            db.session.rollback()
            if isinstance(error, ApiError) and error.status in (403, 404):
                raise
            errors = error.errors if isinstance(error, ApiError) else error.normalized_messages()
            words = keep_refused_form(errors if isinstance(errors, dict) else {})
            message = error.message if isinstance(error,
                                                  ApiError) else translate("bureau.form_invalid")
            flash(f"{message}：{words}" if words else message, "error")
            back = request.referrer or ""
            # Only ever back to a page of this site.
            if not back.startswith(request.host_url):
                back = url_for("bureau.dashboard")
            return redirect(back)

    return wrapper


def _form(schema: Schema) -> dict[str, Any]:
    """Load a submitted form through the API's schema (after the one conversion step)."""
    return schema.load(form_values(schema))


def _query(schema: Schema) -> dict[str, Any]:
    """Load a filter query string through its schema; empty fields and `lang` are ignored."""
    return schema.load({k: v for k, v in request.args.items() if v != "" and k != "lang"})


def _counties_in_scope() -> list[County]:
    return counties_in_scope(current_user)


def _years(today_year: int) -> list[int]:
    """The years a dashboard offers: this one and the five before (the archive's R12 span)."""
    return list(range(today_year, today_year - 6, -1))


@bp.get("/")
@login_required
def dashboard():
    """Reviewers: coverage, charts, deadlines and each base's downloads. A base: its home."""
    args = _query(DashboardQuerySchema())
    today = draw_service.local_today()
    year = args["year"] or today.year
    if current_user.role == "base_staff":
        return render_template(
            "bureau/base_home.html", year=year, years=_years(today.year),
            row=coverage_service.base_rows(current_user, year)[0], today=today,
            orders=review_service.list_rectifications(current_user, due=None),
            visits=review_service.list_visits(current_user)[:5])
    _reviewer()
    result = coverage_service.compute_coverage(current_user, year)
    return render_template(
        "bureau/dashboard.html", coverage=result, year=year, years=_years(today.year),
        county_id=args["county_id"], base_id=args["base_id"],
        deadlines=coverage_service.compute_deadlines(current_user, result.year),
        bases=coverage_service.base_rows(current_user, year),
        findings=review_service.findings_by_check(current_user, year),
        check_rules=CHECK_RULES,
        rects=coverage_service.rectification_counts(current_user, today))


@bp.get("/draws")
@login_required
def draws():
    """Draws in scope and the form to make one."""
    _reviewer()
    return render_template("bureau/draws.html", draws=draw_service.list_draws(current_user),
                           counties=_counties_in_scope(), today=local_today(),
                           county_names={c.id: c.name for c in _counties_in_scope()})


@bp.post("/draws")
@login_required
@_back_on_error
def make_draw():
    """Make a draw for a period."""
    _reviewer()
    data = _form(DrawFormSchema())
    county_id = data["county_id"] if current_user.is_city else current_user.county_id
    county = db.session.get(County, county_id) if county_id else None
    if county is None or county not in _counties_in_scope():
        raise field_error("county_id", "field.county_required")
    draw = draw_service.draw_visits(county, data["period_from"], data["period_to"],
                                    actor=current_user)
    db.session.commit()
    flash(translate("bureau.draw.made", n=len(draw_service.draw_assignments(draw))))
    return redirect(url_for("bureau.draw", draw_id=draw.id))


@bp.get("/draws/<uuid:draw_id>")
@login_required
def draw(draw_id: uuid.UUID):
    """One draw: commitment, seed (after the period), assignments, itineraries, verification."""
    _reviewer()
    item = draw_service.get_draw(current_user, draw_id)
    assignments = draw_service.draw_assignments(item)
    return render_template(
        "bureau/draw.html", draw=item, assignments=assignments,
        county=db.session.get(County, item.county_id), seed=draw_service.public_seed(item),
        problems=draw_service.draw_problems(item) if request.args.get("verify") else None,
        itineraries=draw_service.itineraries(assignments))


@bp.get("/visits")
@login_required
def visits():
    """Visits with filters."""
    filters = review_service.VisitFilters(**_query(VisitQuerySchema()))
    rows = [review_service.visit_summary(v, current_user)
            for v in review_service.list_visits(current_user, filters)]
    bases = db.session.scalars(db.select(TrainingBase).order_by(TrainingBase.name)).all()
    counties = _counties_in_scope() if is_reviewer(current_user) else []
    return render_template("bureau/visits.html", rows=rows, filters=filters, counties=counties,
                           bases=[b for b in bases if b.county in counties])


@bp.get("/visits/<uuid:visit_id>")
@login_required
def visit(visit_id: uuid.UUID):
    """One visit: plan and observation side by side, media, sign-ins, seal, actions."""
    item = review_service.get_visit(current_user, visit_id)
    view = beside_plan(item)
    reviewer = is_reviewer(current_user)
    return render_template(
        "bureau/visit.html", visit=item, summary=review_service.visit_summary(item, current_user),
        view=view,
        rows=review_service.comparison(item, view),
        sign_ins=review_service.sign_in_rows(item, view),
        seal=review_service.seal_state(item), reviewer=reviewer,
        team=review_service.visit_team(item, current_user),
        # A team's records name their inspectors: for reviewers only when the check is covert.
        check=team_checks.team_check(item) if reviewer or not is_covert(item) else None,
        media=review_service.visit_media(item) if reviewer else None,
        refusal=review_service.base_refusal(item),
        sketch=geofence_sketch.visit_sketch(item, view.session),
        reviews=review_service.visit_reviews(item, current_user),
        rectifications=review_service.visit_rectifications(item),
        future_sessions=review_service.future_sessions(item.training_class) if reviewer else [],
        inspectors=draw_service.county_inspectors(item.training_class.base.county_id)
        if reviewer else [],
        sanctions=review_service.SANCTIONS)


@bp.get("/visits/<uuid:visit_id>/media/<sha256>")
@login_required
def visit_media(visit_id: uuid.UUID, sha256: str):
    """A photo or signature of a visit, for reviewers in scope only."""
    mime = review_service.media_file(current_user, sha256,
                                     visit=review_service.get_visit(current_user, visit_id))
    return media_store.store().response(sha256, mime)


@bp.post("/visits/<uuid:visit_id>/accept")
@login_required
@_back_on_error
def accept(visit_id: uuid.UUID):
    """Accept a visit."""
    data = _form(DecisionSchema())
    review_service.accept_visit(current_user, review_service.get_visit(current_user, visit_id),
                                data["comment"])
    db.session.commit()
    flash(translate("bureau.review.accepted"))
    return redirect(url_for("bureau.visit", visit_id=visit_id))


@bp.post("/visits/<uuid:visit_id>/reinspect")
@login_required
@_back_on_error
def reinspect(visit_id: uuid.UUID):
    """Order a re-inspection."""
    data = _form(ReinspectSchema())
    review_service.order_reinspection(
        current_user, review_service.get_visit(current_user, visit_id), data["comment"],
        session_id=data["session_id"], inspector_ids=data["inspector_ids"])
    db.session.commit()
    flash(translate("bureau.review.reinspect_ordered"))
    return redirect(url_for("bureau.visit", visit_id=visit_id))


@bp.post("/visits/<uuid:visit_id>/rectification")
@login_required
@_back_on_error
def rectify(visit_id: uuid.UUID):
    """Open a rectification."""
    data = _form(RectificationRequestSchema())
    _, rectification = review_service.open_rectification(
        current_user, review_service.get_visit(current_user, visit_id), data["sanction"],
        data["order_text"], data["deadline"])
    db.session.commit()
    flash(translate("bureau.rect.opened"))
    return redirect(url_for("bureau.rectification", rectification_id=rectification.id))


@bp.get("/rectifications")
@login_required
def rectifications():
    """Rectifications in scope (base staff: their base's)."""
    args = _query(RectificationPageQuerySchema())
    items = review_service.list_rectifications(current_user, args["status"], args["due"],
                                               base_id=args["base_id"])
    return render_template("bureau/rectifications.html", items=items, filters=args)


@bp.get("/rectifications/<uuid:rectification_id>")
@login_required
def rectification(rectification_id: uuid.UUID):
    """One rectification with the answer form (base) or the closing form (reviewer)."""
    item = review_service.get_rectification(current_user, rectification_id)
    return render_template("bureau/rectification.html", item=item,
                           reviewer=is_reviewer(current_user))


@bp.post("/rectifications/<uuid:rectification_id>/answer")
@login_required
@_back_on_error
def answer(rectification_id: uuid.UUID):
    """The base answers with text and files."""
    data = _form(AnswerSchema())
    files = [review_service.AnswerFile(f.filename or "file", f.read())
             for f in request.files.getlist("files") if f and f.filename]
    review_service.answer_rectification(
        current_user, review_service.get_rectification(current_user, rectification_id),
        data["text"], files)
    db.session.commit()
    flash(translate("bureau.rect.answered"))
    return redirect(url_for("bureau.rectification", rectification_id=rectification_id))


@bp.post("/rectifications/<uuid:rectification_id>/return")
@login_required
@_back_on_error
def return_answer(rectification_id: uuid.UUID):
    """The reviewer sends the base's answer back."""
    data = _form(RectificationReturnSchema())
    review_service.return_rectification(
        current_user, review_service.get_rectification(current_user, rectification_id),
        data["comment"])
    db.session.commit()
    flash(translate("bureau.rect.returned"))
    return redirect(url_for("bureau.rectification", rectification_id=rectification_id))


@bp.post("/rectifications/<uuid:rectification_id>/close")
@login_required
@_back_on_error
def close(rectification_id: uuid.UUID):
    """The reviewer closes the rectification."""
    data = _form(CloseSchema())
    review_service.close_rectification(
        current_user, review_service.get_rectification(current_user, rectification_id),
        data["comment"])
    db.session.commit()
    flash(translate("bureau.rect.closed"))
    return redirect(url_for("bureau.rectification", rectification_id=rectification_id))


@bp.get("/rectifications/<uuid:rectification_id>/files/<sha256>")
@login_required
def rectification_file(rectification_id: uuid.UUID, sha256: str):
    """A file of the base's answer, for the base and the reviewers in scope."""
    mime = review_service.media_file(
        current_user, sha256,
        rectification=review_service.get_rectification(current_user, rectification_id))
    return media_store.store().response(sha256, mime, as_attachment=mime == "application/pdf")
