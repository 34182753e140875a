"""Plan filing API (R5/R7): classes, plan versions, sessions, rosters, review moves, sites,
teachers.
"""

from __future__ import annotations

import uuid
from io import BytesIO

from flask import Blueprint, g, request, send_file

from schemas.common import load_or_422
from schemas.filing import (
    ClassCreateSchema,
    ClassListSchema,
    ClassSchema,
    NewVersionSchema,
    OccupationListSchema,
    ReturnSchema,
    ReviewSchema,
    RosterReplaceSchema,
    RosterSchema,
    SessionAddSchema,
    SessionSchema,
    SessionsReplaceSchema,
    SiteInSchema,
    SiteListSchema,
    SitePatchSchema,
    SiteSchema,
    TeacherInSchema,
    TeacherListSchema,
    TeacherPatchSchema,
    TeacherSchema,
    VersionListSchema,
    VersionQuerySchema,
    VersionSchema,
)
from server.api.auth import token_required
from server.api.docs import api_doc
from server.extensions import db
from server.services import filing, roster

bp = Blueprint("api_filing", __name__)
TAGS = ["filing"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _body(schema):
    return load_or_422(schema, request.get_json(silent=True))


def _version(version) -> dict:
    return VersionSchema().dump(filing.version_view(version, g.user))


@bp.get("/occupations")
@token_required()
@api_doc("List the occupation catalogue (工种)", responses={200: OccupationListSchema}, tags=TAGS)
def occupations():
    """List occupations."""
    return OccupationListSchema().dump({"occupations": filing.list_occupations()})


@bp.get("/classes")
@token_required()
@api_doc("List the classes in scope", responses={200: ClassListSchema}, tags=TAGS)
def list_classes():
    """List classes in the caller's scope."""
    classes = [filing.class_view(k, g.user) for k in filing.list_classes(g.user)]
    return ClassListSchema().dump({"classes": classes})


@bp.post("/classes")
@token_required("base_staff")
@api_doc("Create a class of the caller's base, with an empty draft plan", body=ClassCreateSchema,
         responses={201: ClassSchema}, tags=TAGS)
def create_class():
    """Create a class."""
    klass = filing.create_class(g.user, _body(ClassCreateSchema()))
    db.session.commit()
    return ClassSchema().dump(filing.class_view(klass, g.user)), 201


@bp.get("/classes/<uuid:class_id>")
@token_required()
@api_doc("A class with its plan versions and the one in force", responses={200: ClassSchema},
         tags=TAGS)
def get_class(class_id: uuid.UUID):
    """Show a class."""
    return ClassSchema().dump(filing.class_view(filing.get_class(g.user, class_id), g.user))


@bp.post("/classes/<uuid:class_id>/plan-versions")
@token_required("base_staff")
@api_doc("Start a new draft version copied from the latest (a reason once one was approved)",
         body=NewVersionSchema, responses={201: VersionSchema}, tags=TAGS)
def start_version(class_id: uuid.UUID):
    """Start a new plan version."""
    version = filing.start_version(g.user, class_id, _body(NewVersionSchema())["reason"])
    db.session.commit()
    return _version(version), 201


@bp.get("/plan-versions")
@token_required()
@api_doc("Plan versions in scope, e.g. ?status=submitted for the county's queue",
         query=VersionQuerySchema, responses={200: VersionListSchema}, tags=TAGS)
def list_versions():
    """List plan versions."""
    query = load_or_422(VersionQuerySchema(), request.args.to_dict())
    versions = filing.list_versions(g.user, query["status"])
    return VersionListSchema().dump({"versions": [filing.version_summary(v) for v in versions]})


@bp.get("/plan-versions/<uuid:version_id>")
@token_required()
@api_doc("A plan version in full: sessions, masked roster, hours, violations, diff",
         responses={200: VersionSchema}, tags=TAGS)
def get_version(version_id: uuid.UUID):
    """Show a plan version."""
    return _version(filing.get_version(g.user, version_id))


@bp.put("/plan-versions/<uuid:version_id>/sessions")
@token_required("base_staff")
@api_doc("Replace a draft's session table", body=SessionsReplaceSchema,
         responses={200: VersionSchema}, tags=TAGS)
def replace_sessions(version_id: uuid.UUID):
    """Replace sessions."""
    version = filing.replace_sessions(g.user, version_id,
                                      _body(SessionsReplaceSchema())["sessions"])
    db.session.commit()
    return _version(version)


@bp.post("/plan-versions/<uuid:version_id>/sessions")
@token_required("base_staff")
@api_doc("Add a session to a draft (or the same one on consecutive days)", body=SessionAddSchema,
         responses={201: SessionSchema(many=True)}, tags=TAGS)
def add_sessions(version_id: uuid.UUID):
    """Add sessions."""
    added = filing.add_sessions(g.user, version_id, _body(SessionAddSchema()))
    db.session.commit()
    return SessionSchema(many=True).dump([filing.session_view(s) for s in added]), 201


@bp.delete("/plan-versions/<uuid:version_id>/sessions/<uuid:session_id>")
@token_required("base_staff")
@api_doc("Remove a session from a draft", responses={204: None}, tags=TAGS)
def delete_session(version_id: uuid.UUID, session_id: uuid.UUID):
    """Delete a session."""
    filing.delete_session(g.user, version_id, session_id)
    db.session.commit()
    return "", 204


@bp.get("/plan-versions/<uuid:version_id>/roster")
@token_required()
@api_doc("The roster of a version, masked, with each trainee's violations",
         responses={200: RosterSchema}, tags=TAGS)
def get_roster(version_id: uuid.UUID):
    """Show a roster."""
    rows = filing.roster_rows(filing.get_version(g.user, version_id))
    return RosterSchema().dump({"enrolled": len(rows), "skipped": 0, "rows": rows})


@bp.put("/plan-versions/<uuid:version_id>/roster")
@token_required("base_staff")
@api_doc("Replace a draft's roster from a JSON list; each row's violations come back",
         body=RosterReplaceSchema, responses={200: RosterSchema}, tags=TAGS)
def replace_roster(version_id: uuid.UUID):
    """Replace a roster."""
    result = filing.replace_roster(g.user, version_id, _body(RosterReplaceSchema())["trainees"])
    db.session.commit()
    return RosterSchema().dump(result.as_dict())


@bp.post("/plan-versions/<uuid:version_id>/roster.xlsx")
@token_required("base_staff")
@api_doc("Replace a draft's roster from the XLSX template (the file's bytes as the body, any "
         "content type, or multipart `file`); each row's violations come back",
         raw_body="application/octet-stream", responses={200: RosterSchema}, tags=TAGS)
def import_roster(version_id: uuid.UUID):
    """Import a roster spreadsheet."""
    upload = request.files.get("file")
    stream = upload.stream if upload else BytesIO(request.get_data())
    result = filing.import_roster_xlsx(g.user, version_id, stream)
    db.session.commit()
    return RosterSchema().dump(result.as_dict())


@bp.get("/roster-template.xlsx")
@token_required()
@api_doc("Download the roster template (花名册模板)", responses={200: XLSX}, tags=TAGS)
def roster_template():
    """Download the roster template."""
    return send_file(BytesIO(roster.roster_template()), mimetype=XLSX, as_attachment=True,
                     download_name="roster-template.xlsx")


def _move(action, schema):
    version = action(g.user, _version_id(), **_body(schema))
    db.session.commit()
    return _version(version)


def _version_id() -> uuid.UUID:
    return request.view_args["version_id"]


@bp.post("/plan-versions/<uuid:version_id>/submit")
@token_required("base_staff")
@api_doc("Submit a draft to the county; 422 plan.has_violations lists what breaks the rules",
         responses={200: VersionSchema}, tags=TAGS)
def submit(version_id: uuid.UUID):
    """Submit a plan version."""
    version = filing.submit(g.user, version_id)
    db.session.commit()
    return _version(version)


@bp.post("/plan-versions/<uuid:version_id>/approve")
@token_required()
@api_doc("County approval (seal): publishes the version to inspectors' phones", body=ReviewSchema,
         responses={200: VersionSchema}, tags=TAGS)
def approve(version_id: uuid.UUID):
    """Approve a plan version."""
    return _move(filing.approve, ReviewSchema())


@bp.post("/plan-versions/<uuid:version_id>/return")
@token_required()
@api_doc("County returns a submitted version with a comment", body=ReturnSchema,
         responses={200: VersionSchema}, tags=TAGS)
def return_version(version_id: uuid.UUID):
    """Return a plan version."""
    return _move(filing.return_version, ReturnSchema())


@bp.post("/plan-versions/<uuid:version_id>/record")
@token_required()
@api_doc("City re-check and record (备案) of an approved version", body=ReviewSchema,
         responses={200: VersionSchema}, tags=TAGS)
def record(version_id: uuid.UUID):
    """Record a plan version."""
    return _move(filing.record, ReviewSchema())


@bp.get("/sites")
@token_required()
@api_doc("Sites of the bases in scope (WGS-84, with what was entered)",
         responses={200: SiteListSchema}, tags=TAGS)
def list_sites():
    """List sites."""
    return SiteListSchema().dump({"sites": [filing.site_view(s)
                                            for s in filing.list_sites(g.user)]})


@bp.post("/sites")
@token_required("base_staff")
@api_doc("Add a site; coordinates in wgs84, gcj02 or bd09 are stored as WGS-84",
         body=SiteInSchema, responses={201: SiteSchema}, tags=TAGS)
def create_site():
    """Create a site."""
    site = filing.create_site(g.user, _body(SiteInSchema()))
    db.session.commit()
    return SiteSchema().dump(filing.site_view(site)), 201


@bp.patch("/sites/<uuid:site_id>")
@token_required("base_staff")
@api_doc("Change a site", body=SitePatchSchema, responses={200: SiteSchema}, tags=TAGS)
def update_site(site_id: uuid.UUID):
    """Update a site."""
    site = filing.update_site(g.user, site_id, _body(SitePatchSchema()))
    db.session.commit()
    return SiteSchema().dump(filing.site_view(site))


@bp.get("/teachers")
@token_required()
@api_doc("Teachers of the bases in scope, with what R4 lets them teach",
         responses={200: TeacherListSchema}, tags=TAGS)
def list_teachers():
    """List teachers."""
    teachers = [filing.teacher_view(t) for t in filing.list_teachers(g.user)]
    return TeacherListSchema().dump({"teachers": teachers})


@bp.post("/teachers")
@token_required("base_staff")
@api_doc("Add a teacher to the caller's base", body=TeacherInSchema,
         responses={201: TeacherSchema}, tags=TAGS)
def create_teacher():
    """Create a teacher."""
    teacher = filing.create_teacher(g.user, _body(TeacherInSchema()))
    db.session.commit()
    return TeacherSchema().dump(filing.teacher_view(teacher)), 201


@bp.patch("/teachers/<uuid:teacher_id>")
@token_required("base_staff")
@api_doc("Change a teacher", body=TeacherPatchSchema, responses={200: TeacherSchema}, tags=TAGS)
def update_teacher(teacher_id: uuid.UUID):
    """Update a teacher."""
    teacher = filing.update_teacher(g.user, teacher_id, _body(TeacherPatchSchema()))
    db.session.commit()
    return TeacherSchema().dump(filing.teacher_view(teacher))
