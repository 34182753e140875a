"""One visit beside its plan: the review page, the API detail and the PDF say the same thing.

Pins two bugs of the first build (issue 10): after a plan change the pages showed the session
the phone had, not the one the visit was judged against; and a duplicate scan was counted as
attendance on the page while the judge did not count it.
"""

from __future__ import annotations

import io
import re
import uuid

from pypdf import PdfReader

from server.extensions import db
from server.models import PlanSession, PlanVersion, Visit
from server.services.beside_plan import beside_plan, judged_session
from server.services.changes import publish_plan_version
from tests.conftest import TEST_PASSWORD
from tests.sync.client import visit_payload
from tests.sync.fixtures import phone, publish_world, today_session


def login(client, username: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def pdf_text(client, visit_id) -> str:
    response = client.get(f"/documents/visits/{visit_id}.pdf")
    assert response.status_code == 200, response.status_code
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def cell(page: str, testid: str) -> str:
    """The text of a comparison row on the review page, tags stripped."""
    row = re.search(rf'data-testid="{testid}">(.*?)</tr>', page, re.S)
    assert row, testid
    return re.sub(r"<[^>]+>", " ", row.group(1))


def file_changed_version(world, key: str = "a") -> PlanVersion:
    """File a new version in which today's session has another teacher and another topic."""
    old = world.versions[key]
    newer = PlanVersion(plan=old.plan, number=old.number + 1, status="recorded", reason="换教师")
    db.session.add(newer)
    today = today_session(world, key)
    other = world.teachers[f"{key}_practical"] if today.teacher_id == world.teachers[
        f"{key}_theory"].id else world.teachers[f"{key}_theory"]
    for s in old.sessions:
        changed = s.id == today.id
        newer.sessions.append(PlanSession(
            lineage_id=s.lineage_id, date=s.date, start_time=s.start_time, end_time=s.end_time,
            category=s.category, topic=("数控编程（调课）" if changed else s.topic),
            teacher_id=other.id if changed else s.teacher_id, site_id=s.site_id))
    newer.enrollments.extend(type(e)(trainee_id=e.trainee_id) for e in old.enrollments)
    db.session.flush()
    publish_plan_version(newer)
    db.session.commit()
    return newer


def test_after_a_plan_change_page_api_and_pdf_show_the_session_judged_against(client, world, api):
    publish_world(world)
    device = phone(client)
    old_session = today_session(world)
    payload = visit_payload(class_id=world.classes["a"].id, session=old_session,
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    visit_id = uuid.UUID(device.add_visit(payload)["entity_id"])
    newer = file_changed_version(world)  # filed while the phone was offline
    assert device.push()[1]["results"][-1]["code"] == "plan.outdated"
    visit = db.session.get(Visit, visit_id)
    judged = judged_session(visit)
    assert judged.plan_version_id == newer.id and judged.lineage_id == old_session.lineage_id
    new_teacher, old_teacher = judged.teacher.name, old_session.teacher.name
    assert new_teacher != old_teacher and judged.topic == "数控编程（调课）"
    assert visit.session_id == old_session.id  # what the phone sent is kept as evidence

    login(client, "county_a")
    page = client.get(f"/bureau/visits/{visit_id}").get_data(as_text=True)
    assert new_teacher in cell(page, "check-teacher") and old_teacher not in cell(page,
                                                                                  "check-teacher")
    assert "数控编程（调课）" in cell(page, "check-content")
    assert 'data-testid="plan-version">v2<' in page

    detail = client.get(f"/api/v1/bureau/visits/{visit_id}",
                        headers=api.headers("county_a")).get_json()
    rows = {r["check"]: r for r in detail["comparison"]}
    assert rows["teacher"]["planned"] == new_teacher
    assert rows["content"]["planned"] == "数控编程（调课）"
    assert detail["judged_session_id"] == str(judged.id)
    assert detail["judged_plan_version_id"] == str(newer.id)

    text = pdf_text(client, visit_id)
    assert new_teacher in text and old_teacher not in text
    assert "数控编程（调课）" in text and "第 2 版" in text


def test_duplicate_scan_and_unknown_person_give_one_set_of_figures_everywhere(client, world, api):
    publish_world(world)
    device = phone(client)
    klass = world.classes["a"]
    roster = [t for t in world.trainees if t.name.startswith("a")]
    stranger = next(t for t in world.trainees if t.name.startswith("b"))  # not on class a's roster
    visit_id = uuid.uuid4()
    scans = [*roster[:4], roster[0], stranger]  # four trainees, one scanned twice, one stranger
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id)["entity_id"]
               for t in scans]
    payload = visit_payload(class_id=klass.id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"],
                            signins=signins, headcount=5)
    device.add_visit(payload, visit_id=visit_id)
    status, body = device.push()
    assert status == 200, body

    figures = beside_plan(db.session.get(Visit, visit_id)).attendance
    assert (figures.roster, figures.counted, figures.signed_in) == (5, 5, 4)
    assert (figures.duplicates, figures.unknown, figures.absent, figures.anomalies) == (1, 1, 1, 2)
    stored = db.session.get(Visit, visit_id).checks["attendance"]
    assert (stored["present"], stored["duplicates"], stored["unknown"]) == (4, 1, 1)  # the judge

    login(client, "county_a")
    page = client.get(f"/bureau/visits/{visit_id}").get_data(as_text=True)
    assert "点名 5 人，签到 4 人" in cell(page, "check-attendance")
    assert re.search(r'data-testid="signed-in">4</span> / 5\)', page)

    detail = client.get(f"/api/v1/bureau/visits/{visit_id}",
                        headers=api.headers("county_a")).get_json()
    assert detail["attendance"] == {"roster": 5, "counted": 5, "signed_in": 4, "absent": 1,
                                    "duplicates": 1, "unknown": 1, "anomalies": 2}
    rows = {r["check"]: r for r in detail["comparison"]}
    assert rows["attendance"]["observed"] == "点名 5 人，签到 4 人"
    assert len(detail["sign_ins"]) == 6  # every scan is listed, as evidence

    text = pdf_text(client, visit_id)
    assert "清点 5 人，签到 4 人" in text
    # 名册 / 现场清点 / 签到 / 未签到 / 名册外签到 / 重复签到
    assert re.search(r"5\s+5\s+4\s+1\s+1\s+1", text)
