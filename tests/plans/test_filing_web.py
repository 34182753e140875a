"""The filing pages: a base drafts and submits in the browser, the county and city decide."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

from sqlalchemy import select

from server.extensions import db
from server.models import PlanVersion, TrainingClass
from tests.conftest import TEST_PASSWORD
from tests.plans.filing_support import person, workbook_bytes


def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def preview_token(html: str) -> str:
    """The sealed preview the confirm button posts."""
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_base_drafts_a_plan_in_the_browser_and_the_county_approves(client, world):
    login(client, "base_a")
    assert "新建班次" in page(client, "/filing/")
    start = date.today() + timedelta(days=30)
    created = client.post("/filing/classes", data={
        "name": "网页新建班", "occupation_id": str(world.occupation.id), "level": "2",
        "start_date": start.isoformat(), "end_date": (start + timedelta(days=90)).isoformat()})
    assert created.status_code == 302
    version_url = created.headers["Location"]
    version = db.session.scalar(select(PlanVersion).join(PlanVersion.plan).join(TrainingClass)
                                .where(TrainingClass.name == "网页新建班"))
    theory, practical = world.teachers["a_theory"], world.teachers["a_practical"]
    for category, teacher, days, first in (("politics", theory, 3, 0), ("theory", theory, 28, 3),
                                           ("practical", practical, 23, 31)):
        response = client.post(f"{version_url}/sessions", data={
            "date": (start + timedelta(days=first)).isoformat(), "start": "08:30", "end": "11:30",
            "category": category, "topic": f"{category} 课", "teacher_id": str(teacher.id),
            "site_id": str(world.sites["a"].id), "repeat_days": str(days)})
        assert response.status_code == 302
    html = page(client, version_url)
    assert "216" in html and "花名册为空" in html

    upload = client.post(f"{version_url}/roster", content_type="multipart/form-data", data={
        "file": (BytesIO(workbook_bytes([person(31), person(32, education="初中")])), "名单.xlsx")})
    assert upload.status_code == 200
    html = upload.get_data(as_text=True)
    assert html.count('data-verdict="add"') == 2 and "R3.education" in html
    assert "花名册为空" in html  # the preview changed nothing yet
    confirmed = client.post(f"{version_url}/roster/confirm", data={"token": preview_token(html)},
                            follow_redirects=True)
    assert "名册已更新：纳入 2 人，0 行未纳入" in confirmed.get_data(as_text=True)

    refused = client.post(f"{version_url}/submit", follow_redirects=True)
    assert "计划不符合规定" in refused.get_data(as_text=True)
    assert db.session.get(PlanVersion, version.id).status == "draft"

    again = client.post(f"{version_url}/roster", content_type="multipart/form-data",
                        data={"file": (BytesIO(workbook_bytes([person(31)])), "名单.xlsx")})
    client.post(f"{version_url}/roster/confirm",
                data={"token": preview_token(again.get_data(as_text=True))})
    submitted = client.post(f"{version_url}/submit", follow_redirects=True)
    assert "已报送县市区人社局审核" in submitted.get_data(as_text=True)
    # The base sees no approve button and cannot approve by posting either.
    assert "审核通过并盖章" not in page(client, version_url)
    assert client.post(f"{version_url}/approve", data={}).status_code == 403

    client.post("/logout")
    login(client, "county_a")
    queue = page(client, "/filing/queue")
    assert "网页新建班" in queue
    approved = client.post(f"{version_url}/approve", data={"comment": "同意"},
                           follow_redirects=True)
    assert "已审核通过" in approved.get_data(as_text=True)
    client.post("/logout")
    login(client, "city")
    assert "网页新建班" in page(client, "/filing/queue")
    client.post(f"{version_url}/record", data={})
    assert db.session.get(PlanVersion, version.id).status == "recorded"


def test_county_b_gets_404_on_county_a_pages(client, world):
    login(client, "county_b")
    version = world.versions["a"]
    assert client.get(f"/filing/versions/{version.id}").status_code == 404
    assert client.get(f"/filing/classes/{world.classes['a'].id}").status_code == 404
    assert client.post(f"/filing/versions/{version.id}/return",
                       data={"comment": "x"}).status_code == 404
    assert world.classes["a"].name not in page(client, "/filing/")


def test_returning_needs_a_comment(client, world):
    login(client, "base_a")
    new = client.post(f"/filing/classes/{world.classes['a'].id}/versions", data={"reason": "调课"})
    version_url = new.headers["Location"]
    client.post(f"{version_url}/submit")
    client.post("/logout")
    login(client, "county_a")
    refused = client.post(f"{version_url}/return", data={"comment": " "}, follow_redirects=True)
    assert "请求内容不符合要求" in refused.get_data(as_text=True)
    returned = client.post(f"{version_url}/return", data={"comment": "课时安排过密"},
                           follow_redirects=True)
    html = returned.get_data(as_text=True)
    assert "已退回基地修改" in html and "课时安排过密" in html


def test_pages_switch_to_english(client, world):
    login(client, "base_a")
    html = page(client, f"/filing/versions/{world.versions['a'].id}?lang=en")
    assert "Teaching plan, version 1" in html and "Recorded by the city" in html
    assert "教学计划" not in html


def test_site_form_converts_from_amap_and_says_so(client, world):
    login(client, "base_a")
    response = client.post("/filing/sites", data={
        "name": "新实训楼", "address": "奎文区", "lat": "36.70794", "lon": "119.16688",
        "datum": "gcj02", "radius_m": "150"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "坐标已由 GCJ-02（高德、腾讯地图） 换算为 WGS-84" in html
    assert "36.707500" in html  # the WGS-84 point, a few metres from the gate's GPS fix
    bad = client.post("/filing/sites", data={"name": "x", "address": "y", "lat": "north",
                                             "lon": "1", "datum": "wgs84"}, follow_redirects=True)
    assert "请求内容不符合要求" in bad.get_data(as_text=True)


def test_teacher_form_and_template_download(client, world):
    login(client, "base_a")
    client.post("/filing/teachers", data={"name": "赵老师", "professional_title": "中级",
                                          "skill_qualification": "高级技师"})
    assert "赵老师" in page(client, "/filing/teachers")
    template = client.get("/filing/roster-template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"


def test_a_form_post_without_csrf_token_is_refused(app, client, world):
    login(client, "base_a")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/filing/teachers", data={"name": "无令牌老师"})
    assert refused.status_code == 400
    html = page(client, "/filing/teachers")
    assert "无令牌老师" not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    accepted = client.post("/filing/teachers", data={"name": "有令牌老师", "csrf_token": token})
    assert accepted.status_code == 302
    assert "有令牌老师" in page(client, "/filing/teachers")


def test_forms_post_text_and_one_conversion_step_gives_the_api_schema_its_types(client, world):
    """The page's form is converted once (server/web/forms.form_values) and then the API's own,
    strict schema validates it: a checkbox is a boolean, a number field's text a number, and
    text that is no number is refused at its field in words."""
    login(client, "base_a")
    start = date.today() + timedelta(days=30)
    created = client.post("/filing/classes", data={
        "name": "表单换算班", "occupation_id": str(world.occupation.id), "level": "2",
        "start_date": start.isoformat(), "end_date": (start + timedelta(days=90)).isoformat()})
    version_url = created.headers["Location"]
    added = client.post(f"{version_url}/sessions", data={
        "date": start.isoformat(), "start": "08:30", "end": "11:30", "category": "theory",
        "topic": "线上课", "teacher_id": str(world.teachers["a_theory"].id),
        "site_id": str(world.sites["a"].id), "repeat_days": " 2 ", "online": "on"})
    assert added.status_code == 302
    version = db.session.scalar(select(PlanVersion).join(PlanVersion.plan).join(TrainingClass)
                                .where(TrainingClass.name == "表单换算班"))
    assert [s.online for s in version.sessions] == [True, True]

    refused = client.post("/filing/sites", data={
        "name": "x", "address": "y", "lat": "north", "lon": "119.1", "radius_m": "1e9"},
        headers={"Referer": "http://localhost/filing/sites"}, follow_redirects=True)
    html = refused.get_data(as_text=True)
    state = re.search(r'data-refused-form="([^"]+)"', html).group(1)
    assert "请填写数字" in state and "数值超出允许范围" in state
    assert "north" in state  # what was typed comes back to the field
