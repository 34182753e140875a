"""Document downloads for reviewers in scope: visit PDF, Attachment 2, subsidy summary, archive.

Base staff may download their own base's documents (they file Attachment 2, 填报单位, and keep
the archive, R12) and the records of their visits once these happened; never another base's.
"""

from __future__ import annotations

import json
from io import BytesIO
from urllib.parse import quote

from flask import Blueprint, Response, send_file
from flask_login import current_user, login_required

from schemas.documents import BaseYearSchema, VisitDocumentSchema
from server.extensions import db
from server.i18n import local_time
from server.models import utcnow
from server.services.audit import audit
from server.services.clock import local_today, local_zone
from server.services.documents import common as documents_service
from server.services.documents.archive import stream_archive
from server.services.documents.attachment2 import build_attachment2
from server.services.documents.subsidy import build_subsidy_xlsx, subsidy_summary
from server.services.documents.visit_pdf import build_visit_pdf

bp = Blueprint("documents", __name__, url_prefix="/documents")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, mime: str, name: str) -> Response:
    return send_file(BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)


def _attachment(name: str) -> str:
    """A Content-Disposition that keeps a Chinese file name (RFC 6266 `filename*`)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _base_year(base_id: str, year: str):
    args = BaseYearSchema().load({"base_id": base_id, "year": year})
    base = documents_service.base_for_documents(current_user, args["base_id"])
    return base, args["year"]


@bp.get("/visits/<visit_id>.pdf")
@login_required
def visit_pdf(visit_id: str):
    """Download the spot-check record (抽查记录表) of one visit."""
    args = VisitDocumentSchema().load({"visit_id": visit_id})
    visit = documents_service.visit_for_documents(current_user, args["visit_id"])
    data = build_visit_pdf(visit)
    audit("document.visit_pdf", "visit", visit.id, user=current_user)
    db.session.commit()
    day = local_time(visit.started_at, "%Y-%m-%d")
    return _download(data, "application/pdf", documents_service.download_name(
        visit.training_class.base.name, visit.training_class.name, day, "抽查记录表", ext="pdf"))


@bp.get("/bases/<base_id>/<year>/attachment2.xlsx")
@login_required
def attachment2(base_id: str, year: str):
    """Download Attachment 2 (培训情况统计表) of a base and year."""
    base, year_ = _base_year(base_id, year)
    data = build_attachment2(base, year_, today=local_today())
    return _download(data, XLSX, documents_service.download_name(
        base.name, f"{year_}年", "培训情况统计表（附件2）", ext="xlsx"))


@bp.get("/bases/<base_id>/<year>/subsidy.<any(xlsx, json):fmt>")
@login_required
def subsidy(base_id: str, year: str, fmt: str):
    """Download the subsidy summary (R14) as XLSX or JSON."""
    base, year_ = _base_year(base_id, year)
    summary = subsidy_summary(base, year_)
    if fmt == "json":
        return Response(json.dumps(summary, ensure_ascii=False), mimetype="application/json")
    return _download(build_subsidy_xlsx(summary), XLSX, documents_service.download_name(
        base.name, f"{year_}年", "补贴汇总", ext="xlsx"))


@bp.get("/bases/<base_id>/<year>/archive.zip")
@login_required
def archive(base_id: str, year: str):
    """Stream the base's yearly archive (R12) with its hash manifest, built as it is sent."""
    base, year_ = _base_year(base_id, year)
    stream = stream_archive(base, year_, now=utcnow(), zone=local_zone(), viewer=current_user)
    # Recorded when the download starts: the ZIP is written after this request's session ends.
    audit("archive.built", "training_base", base.id, user=current_user, year=year_,
          files=stream.file_count, via="web")
    db.session.commit()
    response = Response(stream, mimetype="application/zip")
    response.headers["Content-Disposition"] = _attachment(
        documents_service.download_name(base.name, f"{year_}年", "培训档案", ext="zip"))
    return response
