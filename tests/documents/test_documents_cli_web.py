"""The document commands (export, archive, assessment import) and the reviewers' downloads."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from urllib.parse import quote

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from server.extensions import db
from server.models import AssessmentResult, AuditEvent
from server.services.documents.archive import verify_archive
from server.services.pii import decrypt_id_number
from tests.conftest import TEST_PASSWORD
from tests.documents.support import make_visit, record_results


def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def year(world) -> str:
    return str(world.classes["a"].start_date.year)


def test_export_visit_pdf_writes_the_record(world, runner, tmp_path):
    visit = make_visit(world, "a")
    out = tmp_path / "v.pdf"
    result = runner.invoke(args=["export", "visit-pdf", "--visit", str(visit.id), "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "培训班次现场抽查记录表" in PdfReader(out).pages[0].extract_text()
    missing = runner.invoke(args=["export", "visit-pdf", "--visit", "nope", "--out", str(out)])
    assert missing.exit_code == 2 and "not_found" in missing.output


def test_export_attachment2_and_subsidy(world, runner, tmp_path, year):
    record_results(world, "a", passed=2, failed=1)
    xlsx = tmp_path / "a2.xlsx"
    result = runner.invoke(args=["export", "attachment2", "--base", "潍坊市技师学院",
                                 "--year", year, "--out", str(xlsx)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(xlsx).active
    assert [sheet.cell(5, c).value for c in range(1, 6)] == ["车工", 5, 2, 0, 0]
    out = tmp_path / "s.json"
    result = runner.invoke(args=["export", "subsidy", "--base", "潍坊市技师学院", "--year", year,
                                 "--out", str(out)])
    assert result.exit_code == 0 and "passed 2 of 5" in result.output
    assert json.loads(out.read_text("utf-8"))["passed"] == 2
    result = runner.invoke(args=["export", "subsidy", "--base", "潍坊市技师学院", "--year", year,
                                 "--out", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 0 and load_workbook(tmp_path / "s.xlsx")["合格学员"].max_row == 3
    unknown = runner.invoke(args=["export", "attachment2", "--base", "没有这个基地",
                                  "--year", year, "--out", str(xlsx)])
    assert unknown.exit_code == 2
    bad_year = runner.invoke(args=["export", "attachment2", "--base", "潍坊市技师学院",
                                   "--year", "1900", "--out", str(xlsx)])
    assert bad_year.exit_code == 2 and "validation_error" in bad_year.output


def test_archive_build_then_verify_and_a_tampered_copy_fails(world, runner, tmp_path, year):
    make_visit(world, "a")
    out = tmp_path / "archive.zip"
    result = runner.invoke(args=["archive", "build", "--base", "潍坊市技师学院", "--year", year,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"] > 10
    assert db.session.execute(db.select(AuditEvent).where(
        AuditEvent.action == "archive.built")).scalar_one().details["year"] == int(year)
    ok = runner.invoke(args=["archive", "verify", str(out)])
    assert ok.exit_code == 0 and "OK" in ok.output

    with zipfile.ZipFile(out) as zin:
        target = next(n for n in zin.namelist() if n.endswith("roster_v1.csv"))
        tampered = tmp_path / "tampered.zip"
        with zipfile.ZipFile(tampered, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == target:
                    data = data.replace("潍柴".encode(), "潍坊".encode(), 1)
                zout.writestr(info, data)
    failed = runner.invoke(args=["archive", "verify", str(tampered)])
    assert failed.exit_code == 1
    assert f"FAIL {target}: sha256 mismatch" in failed.output
    assert failed.output.count("FAIL") == 1


def test_assessment_import_is_all_or_nothing(world, runner, tmp_path):
    trainees = sorted((e.trainee for e in world.versions["a"].enrollments), key=lambda t: t.name)
    book = Workbook()
    book.active.append(["班次", "身份证号", "结果", "考核日期", "证书编号"])
    for i, trainee in enumerate(trainees[:3]):
        book.active.append([world.classes["a"].name, decrypt_id_number(trainee.id_number_enc),
                            "合格" if i else "不合格", date(2026, 12, 20), f"C{i}" if i else ""])
    good = tmp_path / "good.xlsx"
    book.save(good)
    book.active.append([world.classes["a"].name, "110101199001011234", "合格", "2026-12-20", "C9"])
    bad = tmp_path / "bad.xlsx"
    book.save(bad)

    refused = runner.invoke(args=["assessment", "import", str(bad)])
    assert refused.exit_code == 2 and "第5行" in refused.output
    assert db.session.execute(db.select(AssessmentResult)).first() is None
    result = runner.invoke(args=["assessment", "import", str(good)])
    assert result.exit_code == 0 and "recorded 3" in result.output
    results = db.session.execute(db.select(AssessmentResult)).scalars().all()
    assert sorted(r.passed for r in results) == [False, True, True]


def test_county_reviewer_downloads_in_scope_only(world, client, year):
    visit_a, visit_b = make_visit(world, "a"), make_visit(world, "b")
    login(client, "county_a")
    response = client.get(f"/documents/visits/{visit_a.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert visit_a.seal in PdfReader(io.BytesIO(response.data)).pages[-1].extract_text().replace(
        "\n", "")
    assert client.get(f"/documents/visits/{visit_b.id}.pdf").status_code == 404
    base_a, base_b = world.bases["a"].id, world.bases["b"].id
    response = client.get(f"/documents/bases/{base_a}/{year}/attachment2.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data)).active["B3"].value == "技师（人）"
    assert client.get(f"/documents/bases/{base_b}/{year}/attachment2.xlsx").status_code == 404
    record_results(world, "a", passed=1)
    assert client.get(f"/documents/bases/{base_a}/{year}/subsidy.json").get_json()["passed"] == 1
    assert client.get(f"/documents/bases/{base_a}/{year}/subsidy.xlsx").status_code == 200
    response = client.get(f"/documents/bases/{base_a}/{year}/archive.zip")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + quote(
        f"{world.bases['a'].name}-{year}年-培训档案.zip") in disposition
    assert verify_archive(io.BytesIO(response.data)) == []
    built = db.session.execute(db.select(AuditEvent).where(
        AuditEvent.action == "archive.built")).scalar_one()
    assert built.details["via"] == "web" and built.details["year"] == int(year)
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        assert built.details["files"] == len(json.loads(zf.read("manifest.json"))["files"])
    assert client.get(f"/documents/bases/{base_a}/1900/archive.zip").status_code == 422
    assert client.get(f"/documents/bases/not-a-uuid/{year}/archive.zip").status_code == 422


def test_base_staff_get_their_own_documents_and_no_other_base(world, client, year):
    visit, other = make_visit(world, "a"), make_visit(world, "b")
    login(client, "base_a")
    base_a, base_b = world.bases["a"].id, world.bases["b"].id
    for name in ("attachment2.xlsx", "subsidy.xlsx", "archive.zip"):
        assert client.get(f"/documents/bases/{base_a}/{year}/{name}").status_code == 200, name
        assert client.get(f"/documents/bases/{base_b}/{year}/{name}").status_code == 404, name
    assert client.get(f"/documents/visits/{visit.id}.pdf").status_code == 200
    assert client.get(f"/documents/visits/{other.id}.pdf").status_code == 404


def test_an_inspector_downloads_no_document(world, client, year):
    visit = make_visit(world, "a")
    login(client, "inspector_a")
    assert client.get(f"/documents/visits/{visit.id}.pdf").status_code == 403
    assert client.get(
        f"/documents/bases/{world.bases['a'].id}/{year}/archive.zip").status_code == 403


def test_downloads_need_a_login(world, client, year):
    response = client.get(f"/documents/bases/{world.bases['a'].id}/{year}/archive.zip")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
