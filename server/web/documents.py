"""Document downloads for reviewers in scope: visit PDF, Attachment 2, subsidy summary, archive.

Base staff may download their own base's Attachment 2 (they file it, 填报单位) and nothing else.
"""

from __future__ import annotations

import json
import tempfile
from io import BytesIO

from flask import Blueprint, Response, send_file
from flask_login import current_user, login_required

from schemas.documents import BaseYearSchema, VisitDocumentSchema
from server.extensions import db
from server.models import utcnow
from server.services.audit import audit
from server.services.documents import common as documents_service
from server.services.documents.archive import build_archive
from server.services.documents.attachment2 import build_attachment2
from server.services.documents.subsidy import build_subsidy_xlsx, subsidy_summary
from server.services.documents.visit_pdf import build_visit_pdf

bp = Blueprint("documents", __name__, url_prefix="/documents")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, mime: str, name: str) -> Response:
    return send_file(BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)


def _base_year(base_id: str, year: str, *, base_staff: bool = False):
    args = BaseYearSchema().load({"base_id": base_id, "year": year})
    base = documents_service.base_for_documents(current_user, args["base_id"],
                                                base_staff=base_staff)
    return base, args["year"]


@bp.get("/visits/<visit_id>.pdf")
@login_required
def visit_pdf(visit_id: str):
    """Download the spot-check record (抽查记录表) of one visit."""
    args = VisitDocumentSchema().load({"visit_id": visit_id})
    visit = documents_service.visit_for_reviewer(current_user, args["visit_id"])
    data = build_visit_pdf(visit)
    audit("document.visit_pdf", "visit", visit.id, user=current_user)
    db.session.commit()
    return _download(data, "application/pdf", f"visit-{visit.id}-抽查记录表.pdf")


@bp.get("/bases/<base_id>/<year>/attachment2.xlsx")
@login_required
def attachment2(base_id: str, year: str):
    """Download Attachment 2 (培训情况统计表) of a base and year."""
    base, year_ = _base_year(base_id, year, base_staff=True)
    data = build_attachment2(base, year_, today=documents_service.today_local())
    return _download(data, XLSX, f"attachment2-{year_}-{base.name}.xlsx")


@bp.get("/bases/<base_id>/<year>/subsidy.<any(xlsx, json):fmt>")
@login_required
def subsidy(base_id: str, year: str, fmt: str):
    """Download the subsidy summary (R14) as XLSX or JSON."""
    base, year_ = _base_year(base_id, year)
    summary = subsidy_summary(base, year_)
    if fmt == "json":
        return Response(json.dumps(summary, ensure_ascii=False), mimetype="application/json")
    return _download(build_subsidy_xlsx(summary), XLSX, f"subsidy-{year_}-{base.name}.xlsx")


@bp.get("/bases/<base_id>/<year>/archive.zip")
@login_required
def archive(base_id: str, year: str):
    """Build and download the base's yearly archive (R12) with its hash manifest."""
    base, year_ = _base_year(base_id, year)
    spool = tempfile.TemporaryFile()  # send_file closes it, which deletes it
    manifest = build_archive(base, year_, spool, now=utcnow())
    audit("archive.built", "training_base", base.id, user=current_user, year=year_,
          files=len(manifest["files"]), files_sha256=manifest["files_sha256"], via="web")
    db.session.commit()
    spool.seek(0)
    return send_file(spool, mimetype="application/zip", as_attachment=True,
                     download_name=f"archive-{year_}-{base.name}.zip")
