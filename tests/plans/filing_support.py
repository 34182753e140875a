"""Helpers for filing tests: a base files a class, a county reviews it, workbooks are made."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from openpyxl import Workbook

from server.services.idcard import synthetic_id_number
from server.services.roster import HEADER

SCHEDULE = [("politics", 3), ("theory", 28), ("practical", 23)]  # 4 学时 each: 12 + 112 + 92


class Filing:
    """Drive the API as the world's users."""

    def __init__(self, client, api, world):
        self.client, self.api, self.world = client, api, world
        self._headers: dict[str, dict] = {}

    def h(self, user: str) -> dict:
        if user not in self._headers:
            self._headers[user] = self.api.headers(user)
        return self._headers[user]

    def call(self, method: str, path: str, user: str, **kwargs):
        return getattr(self.client, method)(f"/api/v1{path}", headers=self.h(user), **kwargs)

    def new_class(self, user: str = "base_a", start: date | None = None) -> dict:
        start = start or date.today() + timedelta(days=20)
        response = self.call("post", "/classes", user, json={
            "name": "数控车工技师班", "occupation_id": str(self.world.occupation.id), "level": 2,
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=60)).isoformat()})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def filled_draft(self, user: str = "base_a", key: str = "a",
                     trainees: int = 3) -> tuple[dict, str]:
        klass = self.new_class(user)
        version_id = klass["versions"][0]["id"]
        start = date.fromisoformat(klass["start_date"])
        r = self.call("put", f"/plan-versions/{version_id}/sessions", user,
                      json={"sessions": session_rows(self.world, start, key)})
        assert r.status_code == 200, r.get_json()
        r = self.call("put", f"/plan-versions/{version_id}/roster", user,
                      json={"trainees": [trainee_row(700 + i) for i in range(trainees)]})
        assert r.status_code == 200, r.get_json()
        return klass, version_id



def workbook_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row if row is not None else [])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def person(serial: int, born: date = date(1988, 3, 4), **changes) -> list:
    values = {"name": f"导入学员{serial}", "id": synthetic_id_number("370705", born, serial),
              "gender": "男", "education": "技校", "occupation": "车工", "level": "高级工",
              "issued": date(2016, 5, 1), "employer": "潍柴动力股份有限公司", "kind": "企业",
              "phone": "13800000000"}
    values.update(changes)
    return list(values.values())


def trainee_row(serial: int, *, born: date = date(1990, 5, 1), **overrides) -> dict:
    row = {
        "name": f"学员{serial}", "id_number": synthetic_id_number("370705", born, serial),
        "education": "技校", "certificate_level": "高级工", "certificate_date": "2015-06-01",
        "employer": "潍柴动力", "employer_kind": "企业", "occupation_name": "车工",
    }
    row.update(overrides)
    return row


def session_rows(world, start: date, key: str = "a") -> list[dict]:
    rows, day = [], start
    for category, count in SCHEDULE:
        teacher = world.teachers[f"{key}_practical" if category == "practical" else f"{key}_theory"]
        for i in range(count):
            rows.append({"date": day.isoformat(), "start": "08:30", "end": "11:30",
                         "category": category, "topic": f"{category} {i + 1}",
                         "teacher_id": str(teacher.id), "site_id": str(world.sites[key].id)})
            day += timedelta(days=1)
    return rows
