"""Filing pages (R5/R7): base staff draft and submit plans; county and city reviewers decide."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from io import BytesIO

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from marshmallow import Schema, ValidationError

from schemas.filing import (
    CATEGORIES,
    CERTIFICATE_LEVELS,
    DATUMS,
    EDUCATIONS,
    EMPLOYER_KINDS,
    PROFESSIONAL_TITLES,
    SKILL_QUALIFICATIONS,
    ClassCreateSchema,
    NewVersionSchema,
    ReturnSchema,
    ReviewSchema,
    RosterConfirmSchema,
    SessionAddSchema,
    SiteInSchema,
    TeacherInSchema,
    TraineeCorrectSchema,
    TraineeInSchema,
)
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate
from server.services import filed_roster, filing, roster, roster_import, rules
from server.web.forms import form_values, keep_refused_form

bp = Blueprint("filing", __name__, url_prefix="/filing")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _form(schema: Schema) -> dict:
    """Load a posted form through the API's schema (after the one conversion step)."""
    return schema.load(form_values(schema))


def _flash_error(error: ApiError | ValidationError) -> None:
    if isinstance(error, ValidationError):
        error = ApiError("validation_error", errors=error.normalized_messages())
    details = error.errors if isinstance(error.errors, dict) else {}
    words = keep_refused_form(details)
    flash(f"{error.message}{'：' + words if words else ''}", "error")


def acting(back: Callable[..., str]) -> Callable:
    """Commit a form action, or roll back, flash the error and go back to the page."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                target = view(*args, **kwargs)
                db.session.commit()
                return target
            except (ApiError, ValidationError) as error:
                db.session.rollback()
                if isinstance(error, ApiError) and error.status in (403, 404):
                    raise
                _flash_error(error)
                return redirect(back(**kwargs))

        return wrapper

    return decorate


@bp.get("/")
@login_required
def classes():
    """List the classes in scope; base staff can start a new one."""
    return render_template(
        "filing/classes.html",
        classes=[filing.class_view(k, current_user) for k in filing.list_classes(current_user)],
        occupations=filing.list_occupations(),
        teachers=filing.list_teachers(current_user) if current_user.role == "base_staff" else [])


@bp.post("/classes")
@login_required
@acting(lambda: url_for("filing.classes"))
def create_class():
    """Create a class and open its draft plan."""
    klass = filing.create_class(current_user, _form(ClassCreateSchema()))
    return redirect(url_for("filing.version", version_id=klass.plan.versions[0].id))


@bp.post("/classes/<uuid:class_id>/versions")
@login_required
@acting(lambda class_id: url_for("filing.class_page", class_id=class_id))
def new_version(class_id: uuid.UUID):
    """Start a new version (a change after filing needs a reason)."""
    version = filing.start_version(current_user, class_id, _form(NewVersionSchema())["reason"])
    return redirect(url_for("filing.version", version_id=version.id))


@bp.get("/classes/<uuid:class_id>")
@login_required
def class_page(class_id: uuid.UUID):
    """Show a class with its plan versions."""
    return render_template("filing/class.html",
                           klass=filing.class_view(filing.get_class(current_user, class_id),
                                                      current_user))


@bp.get("/versions/<uuid:version_id>")
@login_required
def version(version_id: uuid.UUID):
    """Show a plan version: editor for a draft of one's own base, decisions for reviewers."""
    return _version_page(filing.get_version(current_user, version_id))


def _version_page(plan_version, imported: dict | None = None, preview: dict | None = None) -> str:
    own = (current_user.role == "base_staff"
           and current_user.base_id == plan_version.plan.training_class.base_id)
    required = {"total": rules.MIN_TOTAL_HOURS, **rules.MIN_HOURS}
    return render_template(
        "filing/version.html", v=filing.version_view(plan_version, current_user), own=own,
        imported=imported, preview=preview, educations=EDUCATIONS, levels=CERTIFICATE_LEVELS,
        kinds=EMPLOYER_KINDS,
        categories=CATEGORIES, required=required, minutes=current_app.config["CLASS_HOUR_MINUTES"],
        teachers=filing.list_teachers(current_user) if own else [],
        sites=filing.list_sites(current_user) if own else [])


def _back_to_version(version_id: uuid.UUID, **_: object) -> str:
    return url_for("filing.version", version_id=version_id)


@bp.post("/versions/<uuid:version_id>/sessions")
@login_required
@acting(_back_to_version)
def add_sessions(version_id: uuid.UUID):
    """Add a session, or the same one on consecutive days."""
    added = filing.add_sessions(current_user, version_id, _form(SessionAddSchema()))
    flash(translate("filing.sessions_added", count=len(added)))
    return redirect(_back_to_version(version_id))


@bp.post("/versions/<uuid:version_id>/sessions/<uuid:session_id>/delete")
@login_required
@acting(_back_to_version)
def delete_session(version_id: uuid.UUID, session_id: uuid.UUID):
    """Remove a session from a draft."""
    filing.delete_session(current_user, version_id, session_id)
    return redirect(_back_to_version(version_id))


@bp.post("/versions/<uuid:version_id>/roster")
@login_required
@acting(_back_to_version)
def import_roster(version_id: uuid.UUID):
    """Preview a roster spreadsheet: each row's verdict, what would be added, changed, removed."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError("validation_error", errors={"file": [translate("filing.choose_file")]})
    preview = roster_import.preview_roster(current_user, version_id,
                                           upload.stream.read(roster.READ_LIMITS.max_uncompressed
                                                              + 1))
    return _version_page(filing.get_version(current_user, version_id),
                         preview=roster_import.preview_view(preview))


@bp.post("/versions/<uuid:version_id>/roster/confirm")
@login_required
@acting(_back_to_version)
def confirm_roster(version_id: uuid.UUID):
    """Apply the previewed roster: rejected rows are never enrolled."""
    token = _form(RosterConfirmSchema())["token"]
    enrolled, skipped = roster_import.confirm_roster(current_user, version_id, token)
    flash(translate("pages.roster.confirmed", enrolled=enrolled, skipped=skipped))
    return redirect(url_for("filing.version", version_id=version_id, _anchor="roster"))


@bp.post("/versions/<uuid:version_id>/roster/trainees")
@login_required
@acting(_back_to_version)
def add_trainee(version_id: uuid.UUID):
    """Add one trainee to the draft's roster."""
    trainee = roster_import.add_trainee(current_user, version_id, _form(TraineeInSchema()))
    flash(translate("pages.roster.added", name=trainee.name))
    return redirect(url_for("filing.version", version_id=version_id, _anchor="roster"))


@bp.post("/versions/<uuid:version_id>/roster/trainees/<uuid:trainee_id>")
@login_required
@acting(_back_to_version)
def correct_trainee(version_id: uuid.UUID, trainee_id: uuid.UUID):
    """Correct one enrolled trainee's details."""
    trainee = roster_import.correct_trainee(current_user, version_id, trainee_id,
                                            _form(TraineeCorrectSchema()))
    flash(translate("pages.roster.corrected", name=trainee.name))
    return redirect(url_for("filing.version", version_id=version_id, _anchor="roster"))


@bp.post("/versions/<uuid:version_id>/roster/trainees/<uuid:trainee_id>/remove")
@login_required
@acting(_back_to_version)
def remove_trainee(version_id: uuid.UUID, trainee_id: uuid.UUID):
    """Take one trainee off the draft's roster."""
    roster_import.remove_trainee(current_user, version_id, trainee_id)
    flash(translate("pages.roster.removed"))
    return redirect(url_for("filing.version", version_id=version_id, _anchor="roster"))


def _decide(action: Callable, version_id: uuid.UUID, schema: Schema | None, done: str):
    kwargs = _form(schema) if schema is not None else {}
    action(current_user, version_id, **kwargs)
    flash(translate(done))
    return redirect(_back_to_version(version_id))


@bp.post("/versions/<uuid:version_id>/submit")
@login_required
@acting(_back_to_version)
def submit(version_id: uuid.UUID):
    """Submit a draft to the county."""
    return _decide(filing.submit, version_id, None, "filing.done.submitted")


@bp.post("/versions/<uuid:version_id>/approve")
@login_required
@acting(_back_to_version)
def approve(version_id: uuid.UUID):
    """County approval (seal)."""
    return _decide(filing.approve, version_id, ReviewSchema(), "filing.done.approved")


@bp.post("/versions/<uuid:version_id>/return")
@login_required
@acting(_back_to_version)
def return_version(version_id: uuid.UUID):
    """County returns a version with a comment."""
    return _decide(filing.return_version, version_id, ReturnSchema(), "filing.done.returned")


@bp.post("/versions/<uuid:version_id>/record")
@login_required
@acting(_back_to_version)
def record(version_id: uuid.UUID):
    """City records (备案) an approved version."""
    return _decide(filing.record, version_id, ReviewSchema(), "filing.done.recorded")


@bp.get("/queue")
@login_required
def queue():
    """Versions waiting for this reviewer: submitted for counties, approved for the city."""
    status = "approved" if current_user.role == "city_admin" else "submitted"
    versions = filing.list_versions(current_user, status)
    return render_template("filing/queue.html", queue_status=status,
                           versions=[filing.version_summary(v) for v in versions],
                           flagged=filed_roster.flagged_version_ids(
                               current_user, [v.id for v in versions]))


@bp.get("/sites")
@login_required
def sites():
    """Sites in scope; base staff add sites in any map datum."""
    return render_template("filing/sites.html", datums=DATUMS,
                           sites=[filing.site_view(s) for s in filing.list_sites(current_user)])


@bp.post("/sites")
@login_required
@acting(lambda: url_for("filing.sites"))
def create_site():
    """Add a site; the page says which datum it was converted from."""
    site = filing.create_site(current_user, _form(SiteInSchema()))
    view = filing.site_view(site)
    if view["converted_from"]:
        flash(translate("filing.site.converted",
                        datum=translate(f"filing.datum.{view['converted_from']}"),
                        shift=view["shift_m"]))
    return redirect(url_for("filing.sites"))


@bp.get("/teachers")
@login_required
def teachers():
    """Teachers in scope, with what R4 lets them teach."""
    return render_template("filing/teachers.html", titles=PROFESSIONAL_TITLES,
                           skills=SKILL_QUALIFICATIONS,
                           teachers=[filing.teacher_view(t)
                                     for t in filing.list_teachers(current_user)])


@bp.post("/teachers")
@login_required
@acting(lambda: url_for("filing.teachers"))
def create_teacher():
    """Add a teacher."""
    filing.create_teacher(current_user, _form(TeacherInSchema()))
    return redirect(url_for("filing.teachers"))


@bp.get("/roster-template.xlsx")
@login_required
def roster_template():
    """Download the roster template."""
    return send_file(BytesIO(roster.roster_template()), mimetype=XLSX, as_attachment=True,
                     download_name="花名册模板.xlsx")
