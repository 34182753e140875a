"""Document commands: `flask --app wsgi export visit-pdf|attachment2|subsidy|assessments` and
`flask --app wsgi archive build|verify` (R10–R14)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from flask.cli import AppGroup

from server.errors import ApiError
from server.extensions import db
from server.models import Visit, utcnow
from server.services.assessment import import_results_xlsx
from server.services.audit import audit
from server.services.clock import local_today
from server.services.documents.archive import (
    archive_problems,
    archive_public_key_pem,
    build_archive,
)
from server.services.documents.attachment2 import build_attachment2
from server.services.documents.common import check_year, find_base
from server.services.documents.subsidy import build_subsidy_xlsx, subsidy_summary
from server.services.documents.visit_pdf import build_visit_pdf

export_cli = AppGroup("export", help="Export documents: visit PDF, Attachment 2, subsidy summary.")
archive_cli = AppGroup("archive", help="Build and verify a base's yearly archive (R12).")
assessment_cli = AppGroup("assessment", help="Assessment results (R11).")


def _fail(error: ApiError) -> None:
    db.session.rollback()
    click.echo(json.dumps(error.body(), ensure_ascii=False), err=True)
    sys.exit(2)


def _write(out: str, data: bytes) -> None:
    Path(out).write_bytes(data)
    click.echo(f"wrote {out} ({len(data)} bytes)")


@export_cli.command("visit-pdf")
@click.option("--visit", "visit_id", required=True, help="Visit id (UUID)")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True))
def visit_pdf_command(visit_id: str, out: str) -> None:
    """Write the spot-check record (抽查记录表) of one visit as PDF."""

    try:
        visit = db.session.get(Visit, uuid.UUID(visit_id))
    except ValueError:
        visit = None
    if visit is None:
        _fail(ApiError("not_found", "visit.not_found", params={"id": visit_id}))
    _write(out, build_visit_pdf(visit))


@export_cli.command("attachment2")
@click.option("--base", "base_name", required=True, help="Training base name (培训基地)")
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True))
def attachment2_command(base_name: str, year: int, out: str) -> None:
    """Write Attachment 2 (培训情况统计表) of a base and year as XLSX."""

    try:
        data = build_attachment2(find_base(base_name), check_year(year), today=local_today())
    except ApiError as error:
        _fail(error)
    _write(out, data)


@export_cli.command("subsidy")
@click.option("--base", "base_name", required=True, help="Training base name (培训基地)")
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="FILE.xlsx, or FILE.json for JSON")
def subsidy_command(base_name: str, year: int, out: str) -> None:
    """Write the subsidy summary (R14): trainees in the filed plan who passed."""

    try:
        summary = subsidy_summary(find_base(base_name), check_year(year))
    except ApiError as error:
        _fail(error)
    if out.lower().endswith(".json"):
        _write(out, json.dumps(summary, ensure_ascii=False, indent=2).encode("utf-8"))
    else:
        _write(out, build_subsidy_xlsx(summary))
    click.echo(f"passed {summary['passed']} of {summary['enrolled']} enrolled")


@archive_cli.command("build")
@click.option("--base", "base_name", required=True, help="Training base name (培训基地)")
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True))
def archive_build_command(base_name: str, year: int, out: str) -> None:
    """Write the base's yearly archive ZIP with its SHA-256 manifest."""

    try:
        base = find_base(base_name)
        manifest = build_archive(base, check_year(year), Path(out), now=utcnow())
    except ApiError as error:
        _fail(error)
    audit("archive.built", "training_base", base.id, year=year, files=len(manifest["files"]),
          files_sha256=manifest["files_sha256"], via="cli")
    db.session.commit()
    click.echo(json.dumps({"out": out, "files": len(manifest["files"]),
                           "files_sha256": manifest["files_sha256"],
                           "media_not_on_server": len(manifest["media_not_on_server"])}))


@archive_cli.command("key")
def archive_key_command() -> None:
    """Print the public key (PEM, Ed25519) that verifies this server's archive manifests."""
    click.echo(archive_public_key_pem(), nl=False)


@archive_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="public key PEM (from `archive key`); default: this server's key")
def archive_verify_command(path: str, key_path: str | None) -> None:
    """Exit 0 when the signature, every file hash and every seal hold; else name each failure."""
    public_key = (serialization.load_pem_public_key(Path(key_path).read_bytes())
                  if key_path else None)
    try:
        problems = archive_problems(Path(path), public_key)
    except ApiError as error:
        _fail(error)
    for name, problem in problems:
        click.echo(f"FAIL {name}: {problem}")
    if problems:
        sys.exit(1)
    click.echo("OK: the signature, every file and every seal match the manifest")


@assessment_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def assessment_import_command(path: str) -> None:
    """Import results from XLSX (columns 班次, 身份证号, 结果, 考核日期, 证书编号); all or nothing.
    """

    recorded, errors = import_results_xlsx(Path(path))
    if errors:
        for line in errors:
            click.echo(line, err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"recorded {recorded} results")
