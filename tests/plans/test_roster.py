"""The roster spreadsheet: reading, checking each row, the template, and `flask roster check`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from server.services.idcard import check_character, synthetic_id_number
from server.services.roster import (
    HEADER,
    RosterReadError,
    check_roster,
    read_roster,
    roster_template,
)

START = date(2026, 3, 1)
REPO = Path(__file__).resolve().parents[2]


def good_row(name: str = "张三", born: date = date(1985, 7, 15), serial: int = 124, **changes):
    """An eligible trainee as a clerk types it; override cells by column title."""
    row = {
        "姓名": name, "身份证号": synthetic_id_number("370702", born, serial), "性别": "男",
        "文化程度": "高中", "工种": "车工", "证书等级": "高级工", "发证日期": date(2015, 6, 1),
        "工作单位": "潍柴动力股份有限公司", "单位性质": "企业", "联系电话": "13800000000",
    }
    row.update(changes)
    return [row[title] for title in HEADER]


def xlsx(rows, header=HEADER, path: Path | None = None) -> BytesIO | Path:
    """Write a roster workbook; to a path when given, else to memory."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    if path is not None:
        workbook.save(path)
        return path
    out = BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def by_row(results):
    return {r["row"]: r for r in results}


# ---------------------------------------------------------------- reading


def test_rows_keep_their_spreadsheet_numbers_and_blank_rows_are_skipped():
    rows = read_roster(xlsx([good_row("甲", serial=1), [None] * 10, good_row("乙", serial=3),
                             [None] * 10, ["", " ", None]]))
    assert [(r.row, r.name) for r in rows] == [(2, "甲"), (4, "乙")]


def test_dates_may_be_date_cells_or_text():
    rows = read_roster(xlsx([
        good_row(发证日期=datetime(2015, 6, 1)),
        good_row(发证日期="2016-07-02"),
        good_row(发证日期="2016/7/3"),
        good_row(发证日期="去年"),
    ]))
    assert [r.certificate_date for r in rows] == [date(2015, 6, 1), date(2016, 7, 2),
                                                   date(2016, 7, 3), None]
    assert rows[3].certificate_date_text == "去年"


def test_a_wrong_header_is_refused():
    swapped = list(HEADER)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(RosterReadError, match="表头"):
        read_roster(xlsx([], header=swapped))
    with pytest.raises(RosterReadError, match="表头"):
        read_roster(xlsx([], header=HEADER[:9]))


def test_a_file_that_is_no_xlsx_is_refused(tmp_path):
    bogus = tmp_path / "roster.xlsx"
    bogus.write_text("姓名,身份证号\n", encoding="utf-8")
    with pytest.raises(RosterReadError):
        read_roster(bogus)
    with pytest.raises(RosterReadError):
        read_roster(tmp_path / "missing.xlsx")
    with pytest.raises(RosterReadError):
        read_roster(BytesIO(b"PK\x03\x04 not really a zip"))


def test_an_empty_sheet_is_refused():
    out = BytesIO()
    Workbook().save(out)
    out.seek(0)
    with pytest.raises(RosterReadError):
        read_roster(out)


# ---------------------------------------------------------------- checking


def test_an_eligible_roster_has_no_violation():
    results = check_roster(read_roster(xlsx([good_row("甲", serial=1), good_row("乙", serial=3)])),
                           START)
    assert [(r["row"], r["name"], r["violations"]) for r in results] == [(2, "甲", []),
                                                                         (3, "乙", [])]


def test_each_row_says_which_rules_it_breaks():
    rows = read_roster(xlsx([
        good_row("年龄", born=date(1975, 3, 1), serial=5),       # turned 51 on the start date
        good_row("五十", born=date(1976, 3, 1), serial=7),       # exactly 50: passes
        good_row("学历", serial=9, 文化程度="初中"),
        good_row("等级", serial=11, 证书等级="中级工"),
        good_row("年限", serial=13, 发证日期="2023-03-02"),      # one day short of 3 years
        good_row("满三年", serial=15, 发证日期=date(2023, 3, 1)),
        good_row("机关", serial=17, 单位性质="事业单位"),
        good_row("缺项", serial=19, 文化程度=None),
        good_row("校验", 身份证号="37070219850715124" + "0"),
    ]))
    results = by_row(check_roster(rows, START))
    assert {n: r["violations"] for n, r in results.items()} == {
        2: ["R3.age"], 3: [], 4: ["R3.education"], 5: ["R3.certificate_level"],
        6: ["R3.certificate_years"], 7: [], 8: ["R3.public_institution"],
        9: ["R3.missing_field"], 10: ["R3.id_invalid"],
    }
    detail = results[9]["details"][0]
    assert detail["row"] == 9 and detail["field"] == "education" and detail["column"] == "文化程度"
    assert detail["message"] == "缺少文化程度" and detail["message_en"] == "Education is missing"


def test_lowercase_x_and_15_digit_numbers():
    with_x = next(n for s in range(1000)
                  if (n := synthetic_id_number("370702", date(1985, 7, 15), s)).endswith("X"))
    rows = read_roster(xlsx([good_row("小写", 身份证号=with_x.lower()),
                             good_row("旧号", 身份证号="370702850715123")]))
    assert [r["violations"] for r in check_roster(rows, START)] == [[], ["R3.id_invalid"]]


def test_an_impossible_birth_date_in_the_id_fails():
    first17 = "37070219900230123"
    rows = read_roster(xlsx([good_row(身份证号=first17 + check_character(first17))]))
    assert check_roster(rows, START)[0]["violations"] == ["R3.id_invalid"]


def test_an_id_stored_as_a_number_is_explained():
    rows = read_roster(xlsx([good_row(身份证号=370702198507151240)]))
    result = check_roster(rows, START)[0]
    assert result["violations"] == ["R3.id_invalid"]
    assert "数字" in result["details"][0]["message"]


def test_an_unreadable_date_is_a_missing_field_that_quotes_the_cell():
    result = check_roster(read_roster(xlsx([good_row(发证日期="2015年13月1日")])), START)[0]
    assert result["violations"] == ["R3.missing_field"]
    assert "2015年13月1日" in result["details"][0]["message"]


def test_the_same_id_twice_in_the_file_marks_both_rows():
    number = synthetic_id_number("370702", date(1985, 7, 15), 55)
    rows = read_roster(xlsx([good_row("甲", 身份证号=number), good_row("乙", serial=57),
                             good_row("丙", 身份证号=number.lower())]))
    results = by_row(check_roster(rows, START))
    assert results[2]["violations"] == ["R3.duplicate"]
    assert results[3]["violations"] == []
    assert results[4]["violations"] == ["R3.duplicate"]
    assert "第 4 行" in results[2]["details"][0]["message"]


# ---------------------------------------------------------------- the template


def test_the_template_reads_back_as_an_empty_roster():
    assert read_roster(BytesIO(roster_template())) == []


def test_the_template_has_drop_downs_text_columns_widths_and_an_example():
    workbook = load_workbook(BytesIO(roster_template()))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == list(HEADER)
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation
             if v.type == "list"}
    assert lists["F2:F501"] == '"初级工,中级工,高级工,技师,高级技师"'
    assert lists["I2:I501"] == '"企业,技工院校,职业院校,机关,事业单位,其他"'
    assert sheet["B2"].number_format == "@"
    assert sheet.column_dimensions["B"].width >= 20
    guide = workbook["填写说明"]
    example = [c.value for c in guide[guide.max_row]]
    assert example[0] == "张示例" and example[5] == "高级工"
    # The example itself passes every rule.
    filled = Workbook()
    filled.active.append(list(HEADER))
    filled.active.append(example)
    out = BytesIO()
    filled.save(out)
    out.seek(0)
    assert check_roster(read_roster(out), START)[0]["violations"] == []


# ---------------------------------------------------------------- the command


def test_cli_prints_one_object_per_row_and_exits_1_on_violations(runner, tmp_path):
    path = xlsx([good_row("甲", serial=1), good_row("乙", serial=3, 单位性质="机关")],
                path=tmp_path / "roster.xlsx")
    result = runner.invoke(args=["roster", "check", str(path), "--class-start", "2026-03-01"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == [
        {"row": 2, "name": "甲", "violations": []},
        {"row": 3, "name": "乙", "violations": ["R3.public_institution"]},
    ]
    assert "乙" in result.stdout  # ensure_ascii=False: names readable as they are


def test_cli_exits_0_on_a_clean_roster(runner, tmp_path):
    path = xlsx([good_row("甲", serial=1)], path=tmp_path / "roster.xlsx")
    result = runner.invoke(args=["roster", "check", str(path), "--class-start", "2026-03-01"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"row": 2, "name": "甲", "violations": []}]


def test_cli_judges_on_the_class_start_date(runner, tmp_path):
    path = xlsx([good_row("甲", born=date(1975, 3, 1))], path=tmp_path / "roster.xlsx")
    before = runner.invoke(args=["roster", "check", str(path), "--class-start", "2026-02-28"])
    on = runner.invoke(args=["roster", "check", str(path), "--class-start", "2026-03-01"])
    assert (before.exit_code, on.exit_code) == (0, 1)
    assert json.loads(on.stdout)[0]["violations"] == ["R3.age"]


def test_cli_exits_2_with_nothing_on_stdout_for_an_unreadable_file(runner, tmp_path):
    bogus = tmp_path / "roster.xlsx"
    bogus.write_bytes(b"not a spreadsheet")
    result = runner.invoke(args=["roster", "check", str(bogus), "--class-start", "2026-03-01"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error" in result.stderr


def test_cli_details_flag_adds_messages(runner, tmp_path):
    path = xlsx([good_row("乙", 单位性质="机关")], path=tmp_path / "roster.xlsx")
    result = runner.invoke(args=["roster", "check", str(path), "--class-start", "2026-03-01",
                                 "--details"])
    row = json.loads(result.stdout)[0]
    assert row["details"][0]["code"] == "R3.public_institution"
    assert "机关" in row["details"][0]["message"]


def _flask(tmp_path, *args):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
           "SECRET_KEY": "test-secret", "MEDIA_DIR": str(tmp_path / "media")}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_as_a_real_process(tmp_path):
    path = xlsx([good_row("甲", serial=1), good_row("乙", serial=3, 文化程度="初中")],
                path=tmp_path / "花名册.xlsx")
    done = _flask(tmp_path, "roster", "check", str(path), "--class-start", "2026-03-01")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == [
        {"row": 2, "name": "甲", "violations": []},
        {"row": 3, "name": "乙", "violations": ["R3.education"]},
    ]
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"\x00\x01")
    failed = _flask(tmp_path, "roster", "check", str(bogus), "--class-start", "2026-03-01")
    assert failed.returncode == 2 and failed.stdout == "" and failed.stderr.strip()
