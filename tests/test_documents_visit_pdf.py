"""The spot-check record of one visit as PDF: headings, names, checks and the seal (R10)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from server.extensions import db
from server.services.visit_pdf import build_visit_pdf
from tests.documents_support import BASE_REP_NAME, INSPECTOR_NAME, make_visit


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_of_a_flagged_visit_holds_headings_names_checks_and_seal(world, tmp_path):
    visit = make_visit(world, "a")
    data = build_visit_pdf(visit)
    (tmp_path / "visit.pdf").write_bytes(data)
    text = pdf_text(data)
    assert "培训班次现场抽查记录表" in text
    for expected in ("潍坊市技师学院", "奎文区", "车工", "技师", "a理论老师", "代课张老师",
                     INSPECTOR_NAME, BASE_REP_NAME, "培训基地负责人", "抽查人员", "不一致",
                     "无法核实", "714", "授课教师与备案不一致", "dev-inspector-a", "存在问题"):
        assert expected in text, expected
    assert visit.seal in text.replace("\n", "")
    assert "封签校验" in text and "通过：服务器重新计算的封签与记录一致" in text
    # Arrival in Asia/Shanghai: the session starts 08:30 local and the inspector came 20 min later.
    assert "08:50" in text
    assert "王检查、赵同行" in text
    # Photos and signatures are embedded as images (2 photos + 3 signatures).
    images = [img for page in PdfReader(io.BytesIO(data)).pages for img in page.images]
    assert len(images) == 5


def test_pdf_says_when_the_seal_does_not_verify(world):
    visit = make_visit(world, "a", mismatch=False)
    visit.payload = {**visit.payload, "verdict": "could_not_inspect"}  # changed after sealing
    db.session.commit()
    text = pdf_text(build_visit_pdf(visit))
    assert "不通过" in text
    assert "符合计划" not in text and "未能实施检查" in text


def test_pdf_names_media_not_yet_uploaded(world):
    visit = make_visit(world, "a", with_media=False)
    visit.payload = {**visit.payload, "photos": [{"sha256": "ab" * 32, "caption": "门口"}]}
    text = pdf_text(build_visit_pdf(visit))
    assert "照片文件尚未上传" in text and "无签名" in text
