"""A visit with mismatches and flags reads in people's words everywhere it is shown.

The review page, the API detail and the official PDF (抽查记录表) of such a visit name no rule
code, flag code, field name or library: only the catalogue's words, Chinese first.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader

from server.extensions import db
from server.models import Visit
from tests.conftest import TEST_PASSWORD
from tests.sync.client import seal, session_start, visit_payload
from tests.sync.fixtures import new_plan_version, phone, publish_world, today_session

INTERNAL = re.compile(
    r"R\d+\.|\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b|\b[a-z]+_[a-z_]+\b|jsqr|\[note\]"
    r"|signed in but|were counted"
)


@pytest.fixture
def flagged_visit(client, world) -> uuid.UUID:
    """A visit judged against an old plan: wrong place and teacher, a duplicate scan, few present.
    """
    publish_world(world)
    klass, version, session = world.classes["a"], world.versions["a"], today_session(world)
    roster = [e.trainee for e in version.enrollments]
    device = phone(client)
    visit_id = uuid.uuid4()
    during = session_start(session.date, session.start_time) + timedelta(minutes=35)
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id,
                                 method="manual", at=during)["entity_id"]
               for t in (roster[0], roster[0])]
    payload = visit_payload(class_id=klass.id, session=session, plan_version_id=version.id,
                            site=world.sites["a"], offset_m=5000, teacher_matches=False,
                            content_matches=None, headcount=len(roster) + 3, signins=signins,
                            verdict="issues")
    payload["findings"] = [{"code": "R7.teacher", "text": "R7 未经备案更换教师"},
                           {"code": "note", "text": "代课教师无资质证书"}]
    new_plan_version(version)  # the visit is judged against a version no longer in force
    device.add_visit(seal({k: v for k, v in payload.items() if k != "seal"}), visit_id=visit_id)
    status, body = device.push()
    assert status == 200, body
    visit = db.session.get(Visit, visit_id)
    assert visit is not None and {"plan.outdated", "attendance.low"} <= set(visit.flags)
    assert visit.checks["place"]["status"] == visit.checks["teacher"]["status"] == "mismatch"
    assert visit.checks["attendance"]["status"] == "mismatch"
    return visit_id


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # The test world's people are named after their usernames: names, not identifiers.
    return re.sub(r"\b(?:county|inspector)_a\d?\b", "某人", text)


def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_review_page_shows_words_not_codes(client, flagged_visit, lang):
    login(client, "county_a")
    text = visible_text(
        client.get(f"/bureau/visits/{flagged_visit}?lang={lang}").get_data(as_text=True))
    assert not INTERNAL.findall(text), INTERNAL.findall(text)
    if lang == "zh":
        assert "教师与计划不一致" in text and "按旧版计划核查" in text
        assert "未经备案更换教师" in text
        assert "其他情况：代课教师无资质证书" in text
        assert re.search(r"出勤率不足（到课 1/\d+ 人，要求 90%）", text)
    else:
        assert "The teacher differs from the plan" in text and "Unfiled change of teacher" in text


def test_the_api_detail_words_follow_the_request_language_and_codes_stay(client, api,
                                                                         flagged_visit):
    headers = api.headers("county_a")
    chinese = client.get(f"/api/v1/bureau/visits/{flagged_visit}", headers=headers).get_json()
    english = client.get(f"/api/v1/bureau/visits/{flagged_visit}",
                         headers={**headers, "Accept-Language": "en"}).get_json()
    for body in (chinese, english):
        words = [row[k] for row in body["comparison"] for k in ("reason", "planned", "observed")]
        assert not [w for w in words if INTERNAL.search(w)], words
    rows = {row["check"]: row for row in chinese["comparison"]}
    assert rows["teacher"]["codes"] == ["teacher.differs"] and rows["teacher"][
        "reason"] == "教师与计划不一致"
    assert "attendance.count_differs" in rows["attendance"]["codes"]
    assert "签到 1 人，现场清点" in rows["attendance"]["reason"]
    english_rows = {row["check"]: row for row in english["comparison"]}
    assert english_rows["teacher"]["reason"] == "The teacher differs from the plan"
    assert "plan.outdated" in chinese["flags"]  # machine-readable codes stay codes


def test_the_pdf_record_shows_words_not_codes(client, flagged_visit):
    login(client, "county_a")
    response = client.get(f"/documents/visits/{flagged_visit}.pdf")
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.data)).pages
    text = visible_text("\n".join(p.extract_text() for p in pages))
    found = INTERNAL.findall(text)
    assert not found, found
    assert "系统标记：按旧版计划核查" in text and "1. 未经备案更换教师" in text
    assert re.search(r"出勤率不足（到课 1/\d+ 人，要求 90%）", text.replace("\n", ""))
    assert "其他情况：代课教师无资质证书" in text and "教师与计划不一致" in text


def test_the_pdf_record_reads_english_on_the_switch(client, flagged_visit):
    login(client, "county_a")
    response = client.get(f"/documents/visits/{flagged_visit}.pdf?lang=en")
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.data)).pages
    text = visible_text("\n".join(p.extract_text() for p in pages))
    found = INTERNAL.findall(text)
    assert not found, found
    assert "Spot-check record" in text and "The teacher differs from the plan" in text
    assert "Checked against an old plan version" in text and "Unfiled change of teacher" in text
    assert "抽查记录表" not in text
