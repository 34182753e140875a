"""The spot-check record of one visit as PDF: headings, names, checks and the seal (R10)."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, time, timedelta

from pypdf import PdfReader

from server.extensions import db
from server.i18n import check_text
from server.models import Visit
from server.services.documents.visit_pdf import build_visit_pdf
from sync.judge import (
    GpsFix,
    judge_attendance,
    judge_observation,
    judge_place,
    judge_time,
    session_window,
)
from tests.documents.support import (
    BASE_REP_NAME,
    INSPECTOR_NAME,
    make_visit,
    photo_bytes,
    signature_bytes,
    store_media,
)
from tests.sync.client import session_start, visit_payload
from tests.sync.fixtures import phone, publish_world, today_session


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


def test_a_base_refusal_to_sign_is_on_the_record_and_the_review_page(world, client):
    # The phone seals 拒签 and its reason in place of the base's signature; the 抽查记录表 and the
    # review page showed an empty base row, as if nobody had been asked.
    from tests.conftest import TEST_PASSWORD

    visit = make_visit(world, "a")
    payload = dict(visit.payload)
    payload["signatures"] = [s for s in payload["signatures"] if s["role"] == "inspector"]
    payload["base_refused"] = {"reason": "负责人称需请示领导，拒绝签字", "name": "周主任"}
    visit.payload = payload
    db.session.commit()
    text = pdf_text(build_visit_pdf(visit)).replace("\n", "")
    assert "拒签：负责人称需请示领导，拒绝签字" in text and "周主任" in text
    assert "Refused to sign: 负责人称需请示领导" in pdf_text(
        build_visit_pdf(visit, lang="en")).replace("\n", " ")
    client.post("/login", data={"username": "county_a", "password": TEST_PASSWORD})
    page = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert "周主任 拒签：负责人称需请示领导，拒绝签字" in page


def test_a_visit_pushed_from_a_phone_prints_with_a_verified_seal(world, client):
    """The real path: photos and signatures stored, sign-ins and the sealed visit pushed."""
    publish_world(world)
    device = phone(client)
    klass, version = world.classes["a"], world.versions["a"]
    visit_id = uuid.uuid4()
    session = today_session(world)
    during = session_start(session.date, session.start_time) + timedelta(minutes=35)
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=e.trainee_id,
                                 at=during)["entity_id"] for e in version.enrollments[:3]]
    photo = store_media(photo_bytes("#228833", "教室"), "image/jpeg")
    ink = store_media(signature_bytes(4), "image/png")
    db.session.commit()
    payload = visit_payload(class_id=klass.id, session=today_session(world), site=world.sites["a"],
                            plan_version_id=version.id, signins=signins, headcount=4,
                            accuracy=17.5, photos=[photo], signatures=[ink], verdict="issues")
    device.add_visit(payload, visit_id=visit_id)
    status, body = device.push()
    assert status == 200 and all(r["status"] == "applied" for r in body["results"]), body
    visit = db.session.get(Visit, visit_id)
    text = pdf_text(build_visit_pdf(visit))
    assert "通过：服务器重新计算的封签与记录一致" in text
    assert visit.seal in text.replace("\n", "")
    assert "清点 4 人，签到 3 人" in text and "未签到人数" in text
    images = [img for page in PdfReader(io.BytesIO(build_visit_pdf(visit))).pages
              for img in page.images]
    assert len(images) == 2


def test_every_reason_the_judge_gives_reads_in_chinese():
    """The record is Chinese: each of the judge's reasons must have a Chinese rendering."""
    window = session_window(date(2026, 3, 2), time(8, 30), time(12, 15), "Asia/Shanghai")
    inside = window[0] + timedelta(minutes=10)
    checks = [
        judge_place(None, 36.7, 119.1, 150, 200),
        judge_place(GpsFix(36.7, 119.1, 10, mocked=True), 36.7, 119.1, 150, 200),
        judge_place(GpsFix(36.7, 119.1, 500), 36.7, 119.1, 150, 200),
        judge_place(GpsFix(36.7, 119.1, 10), 36.7, 119.1, 150, 200),
        judge_place(GpsFix(36.71, 119.1, 10), 36.7, 119.1, 150, 200),
        judge_time(inside, None, window, timedelta(minutes=15)),
        judge_time(inside + timedelta(hours=6), None, window, timedelta(minutes=15)),
        judge_time(inside, None, window, timedelta(minutes=15), timedelta(minutes=40)),
        *(judge_observation(m, what, None, "x") for m in (None, True, False)
          for what in ("teacher", "content")),
        judge_attendance([], [], 3, 0.9),
        judge_attendance(["a"], [], None, 0.9),
        judge_attendance(["a"], [], 1, 0.9, missing_signins=2),
        judge_attendance(["a", "b"], ["a", "z"], 3, 0.9),
        judge_attendance(["a", "b"], ["a", "b"], 2, 0.9),
    ]
    for check in checks:
        rendered = check_text(check.to_dict(), lang="zh")
        assert rendered and not re.search(r"[A-Za-z]", rendered), (check.codes, rendered)
