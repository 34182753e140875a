"""A roster import asks first: preview, then confirm; rejected rows never enrolled; one trainee
added or removed in the page; header errors name only the differing columns; unreadable files
answered in Chinese."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import Workbook

from server.extensions import db
from server.models import Enrollment, PlanVersion
from server.services.roster import HEADER
from tests.conftest import TEST_PASSWORD
from tests.plans.filing_support import person, workbook_bytes


def login(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": TEST_PASSWORD})


@pytest.fixture
def draft(client, world):
    """A fresh draft of base A's new class, its page URL."""
    login(client, "base_a")
    start = date.today() + timedelta(days=30)
    created = client.post("/filing/classes", data={
        "name": "预览班", "occupation_id": str(world.occupation.id), "level": "2",
        "start_date": start.isoformat(), "end_date": (start + timedelta(days=40)).isoformat()})
    return created.headers["Location"]


def version_of(url: str) -> PlanVersion:
    return db.session.get(PlanVersion, __import__("uuid").UUID(url.rstrip("/").split("/")[-1]))


def names(url: str) -> list[str]:
    db.session.expire_all()
    return sorted(e.trainee.name for e in version_of(url).enrollments)


def upload(client, url: str, rows) -> str:
    data = rows if isinstance(rows, bytes) else workbook_bytes(rows)
    response = client.post(f"{url}/roster", content_type="multipart/form-data",
                           data={"file": (BytesIO(data), "名单.xlsx")}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def confirm(client, url: str, html: str) -> str:
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    return client.post(f"{url}/roster/confirm", data={"token": token},
                       follow_redirects=True).get_data(as_text=True)


def test_the_preview_changes_nothing_and_confirm_enrols_all_but_the_rejected(client, draft):
    first = upload(client, draft, [person(1), person(2), person(3)])
    assert names(draft) == []  # a preview only
    confirm(client, draft, first)
    assert names(draft) == ["导入学员1", "导入学员2", "导入学员3"]
    # The second file repeats one ID number and drops a trainee: the preview says so.
    html = upload(client, draft, [person(1), person(4), person(4, name="重复者"),
                                  person(5, id="12345")])
    verdicts = re.findall(r'data-testid="preview-row" data-verdict="(\w+)"', html)
    assert verdicts == ["keep", "reject", "reject", "reject"]
    removed = re.search(r'data-testid="preview-removed">(.*?)</p>', html, re.S).group(1)
    assert "导入学员2" in removed and "导入学员3" in removed
    assert names(draft) == ["导入学员1", "导入学员2", "导入学员3"]
    done = confirm(client, draft, html)
    # Rejected rows are never enrolled: not the duplicates, not the bad ID number.
    assert names(draft) == ["导入学员1"]
    assert "纳入 1 人，3 行未纳入" in done


def test_a_preview_cannot_be_confirmed_for_another_version_or_after_tampering(client, world, draft):
    html = upload(client, draft, [person(1)])
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    other = client.post("/filing/classes", data={
        "name": "另一班", "occupation_id": str(world.occupation.id), "level": "2",
        "start_date": (date.today() + timedelta(days=30)).isoformat(),
        "end_date": (date.today() + timedelta(days=70)).isoformat()}).headers["Location"]
    client.post(f"{other}/roster/confirm", data={"token": token})
    client.post(f"{draft}/roster/confirm", data={"token": token[:-4] + "AAAA"})
    assert names(other) == [] and names(draft) == []


def test_a_header_error_names_only_the_columns_that_differ(client, draft):
    book = Workbook()
    header = list(HEADER)
    header[2], header[6] = "性 别", "取证日期"
    book.active.append(header)
    out = BytesIO()
    book.save(out)
    html = upload(client, draft, out.getvalue())
    message = re.search(r'data-testid="flash-error">(.*?)</p>', html, re.S).group(1)
    assert "C 列应为“性别”，实为“性 别”" in message
    assert "G 列应为“发证日期”，实为“取证日期”" in message
    assert "姓名" not in message and "联系电话" not in message


@pytest.mark.parametrize("data", [b"not a spreadsheet at all", b"PK\x03\x04 broken zip", b""])
def test_every_unreadable_file_gets_a_chinese_message(client, draft, data):
    response = client.post(f"{draft}/roster", content_type="multipart/form-data",
                           data={"file": (BytesIO(data), "名单.xlsx")}, follow_redirects=True)
    html = response.get_data(as_text=True)
    message = re.search(r'data-testid="flash-error">(.*?)</p>', html, re.S).group(1)
    assert re.search(r"[\u4e00-\u9fff]", message)
    assert "zip" not in message.lower() and "Error" not in message


def test_one_trainee_is_added_corrected_and_removed_in_the_page(client, draft):
    trainee = {"name": "单独添加", "id_number": person(9)[1], "gender": "女", "education": "技校",
               "certificate_level": "高级工", "certificate_date": "2016-05-01",
               "employer": "某公司", "employer_kind": "企业"}
    client.post(f"{draft}/roster/trainees", data=trainee)
    assert names(draft) == ["单独添加"]
    refused = client.post(f"{draft}/roster/trainees", data={**trainee, "name": "再来一次"},
                          follow_redirects=True).get_data(as_text=True)
    assert "此身份证号已在名册中" in refused and names(draft) == ["单独添加"]
    enrollment = db.session.query(Enrollment).filter_by(plan_version_id=version_of(draft).id).one()
    corrected = client.post(f"{draft}/roster/trainees/{enrollment.trainee_id}", data={
        **{k: v for k, v in trainee.items() if k != "id_number"}, "name": "单独添加（更正）",
        "education": "大专"}, follow_redirects=True).get_data(as_text=True)
    assert "已更正" in corrected and names(draft) == ["单独添加（更正）"]
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).trainee.education == "大专"
    client.post(f"{draft}/roster/trainees/{enrollment.trainee_id}/remove")
    assert names(draft) == []
