"""Roster import from the XLSX template: each row's violations, by spreadsheet row number."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import Trainee
from server.services.roster import HEADER
from tests.plans.filing_support import Filing, person, workbook_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"






def test_xlsx_roster_reports_each_rows_violations(client, api, world):
    filing = Filing(client, api, world)
    klass = filing.new_class()
    vid = klass["versions"][0]["id"]
    start = date.fromisoformat(klass["start_date"])
    content = workbook_bytes([
        person(1),
        person(2, born=start - timedelta(days=365 * 52)),
        person(3, education="初中"),
        None,  # a blank line keeps its row number out of the report
        person(4, kind="机关"),
        person(5, issued=start - timedelta(days=365)),
        person(6, id="37070519880304006"),
        person(1),
    ])
    response = client.post(f"/api/v1/plan-versions/{vid}/roster.xlsx", data=content,
                           content_type=XLSX, headers=filing.h("base_a"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    by_row = {r["row"]: [v["code"] for v in r["violations"]] for r in body["rows"]}
    assert by_row == {2: ["R3.duplicate"], 3: ["R3.age"], 4: ["R3.education"],
                      6: ["R3.public_institution"], 7: ["R3.certificate_years"],
                      8: ["R3.id_invalid"], 9: ["R3.duplicate"]}
    assert (body["enrolled"], body["skipped"]) == (5, 2)
    columns = {v["column"] for r in body["rows"] for v in r["violations"]}
    assert {"身份证号", "文化程度", "单位性质", "发证日期"} <= columns
    assert db.session.scalar(select(func.count()).select_from(Trainee)) == 10 + 5
    roster = filing.call("get", f"/plan-versions/{vid}/roster", "base_a").get_json()["rows"]
    assert len(roster) == 5 and all("*" in r["id_masked"] for r in roster)


def test_multipart_upload_and_unreadable_file(client, api, world):
    filing = Filing(client, api, world)
    vid = filing.new_class()["versions"][0]["id"]
    ok = client.post(f"/api/v1/plan-versions/{vid}/roster.xlsx", headers=filing.h("base_a"),
                     data={"file": (BytesIO(workbook_bytes([person(11)])), "花名册.xlsx")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200 and ok.get_json()["enrolled"] == 1
    bad = client.post(f"/api/v1/plan-versions/{vid}/roster.xlsx", data=b"not a spreadsheet",
                      content_type=XLSX, headers=filing.h("base_a"))
    assert bad.status_code == 422 and "file" in bad.get_json()["errors"]
    # The failed upload left the roster as it was.
    assert len(filing.call("get", f"/plan-versions/{vid}/roster", "base_a").get_json()["rows"]) == 1


def test_roster_template_download_has_the_header(client, api, world):
    response = client.get("/api/v1/roster-template.xlsx", headers=api.headers("base_a"))
    assert response.status_code == 200 and response.mimetype == XLSX
    sheet = load_workbook(BytesIO(response.data)).worksheets[0]
    assert tuple(c.value for c in sheet[1]) == HEADER
