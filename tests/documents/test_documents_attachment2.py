"""Attachment 2 (培训情况统计表, R13) and the subsidy summary (R14) of a base and year."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from server.errors import ApiError
from server.extensions import db
from server.models import Enrollment, Occupation, PlanVersion
from server.services.assessment import record_result
from server.services.documents.attachment2 import build_attachment2
from server.services.documents.subsidy import build_subsidy_xlsx, subsidy_summary
from tests.documents.support import record_results
from tests.factories import make_class, make_trainee

TODAY = date(2027, 1, 8)


def add_senior_class(world, *, trainees: int, serial: int, occupation: Occupation | None = None):
    """Add a 高级技师 class at base A (same year as the world's class) with its own trainees."""
    people = [make_trainee(f"高{serial}-{i}", date(1985, 3, 1) + timedelta(days=31 * i),
                           serial=serial + i) for i in range(trainees)]
    klass, version = make_class("s", world.bases["a"], occupation or world.occupation,
                                world.sites["a"], world.teachers["a_theory"],
                                world.teachers["a_practical"], world.classes["a"].start_date,
                                people)
    klass.level = 1
    db.session.commit()
    return klass, version, people


def sheet_of(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def data_rows(sheet) -> tuple[list[list], list]:
    """Return the occupation rows and the 合计 row, read from the sheet's cells."""
    rows, line = [], 5
    while sheet.cell(line, 1).value != "合计":
        rows.append([sheet.cell(line, c).value for c in range(1, 6)])
        line += 1
    return rows, [sheet.cell(line, c).value for c in range(1, 6)]


def test_attachment2_has_the_notice_layout_and_totals_add_up(world):
    year = world.classes["a"].start_date.year
    welder = Occupation(code="6-18-02-04", name="焊工")
    db.session.add(welder)
    senior, _, seniors = add_senior_class(world, trainees=3, serial=300)
    welders, _, _ = add_senior_class(world, trainees=2, serial=320, occupation=welder)
    welders.name = "焊工高级技师班"
    record_results(world, "a", passed=3, failed=1)
    for trainee in seniors[:2]:
        record_result(senior, trainee, passed=True, assessed_on=TODAY,
                      certificate_no=f"S-{trainee.name}")
    db.session.commit()

    sheet = sheet_of(build_attachment2(world.bases["a"], year, today=TODAY))
    assert sheet["A1"].value == f"{year} 年度“潍坊市青年技师素质提升计划”培训情况统计表"
    assert sheet["A2"].value == "填报单位（盖章）：潍坊市技师学院"
    assert sheet["D2"].value == "填报时间：2027 年 1 月 8 日"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:E1", "A3:A4", "B3:C3", "D3:E3"} <= merged
    assert [sheet[c].value for c in ("A3", "B3", "D3")] == ["职业（工种）", "技师（人）",
                                                            "高级技师（人）"]
    assert [sheet[f"{c}4"].value for c in "BCDE"] == ["培训人数", "考核评定合格人数"] * 2

    rows, total = data_rows(sheet)
    assert rows == [["车工", 5, 3, 3, 2], ["焊工", 0, 0, 2, 0]]
    assert total[0] == "合计"
    assert total[1:] == [sum(r[c] for r in rows) for c in range(1, 5)] == [5, 3, 5, 2]
    footer = [sheet.cell(r, 1).value for r in range(sheet.max_row - 4, sheet.max_row + 1)]
    assert footer == ["分管院长（校长）：", "填报处室：", "处室负责人：", "填报人：", "联系电话："]


def test_only_the_current_filed_roster_counts(world):
    """A draft version is not filed; its extra trainee is neither trained nor subsidised."""
    year = world.classes["a"].start_date.year
    old = world.versions["a"]
    newcomer = make_trainee("新学员", date(1992, 5, 5), serial=400)
    draft = PlanVersion(plan_id=old.plan_id, number=2, status="draft", reason="加一名学员")
    db.session.add(draft)
    draft.enrollments.extend([Enrollment(trainee=e.trainee) for e in old.enrollments])
    draft.enrollments.append(Enrollment(trainee=newcomer))
    db.session.add(draft)
    db.session.commit()
    rows, total = data_rows(sheet_of(build_attachment2(world.bases["a"], year, today=TODAY)))
    assert rows == [["车工", 5, 0, 0, 0]] and total[1] == 5
    with pytest.raises(ApiError) as error:
        record_result(world.classes["a"], newcomer, passed=True, assessed_on=TODAY,
                      certificate_no="X")
    assert error.value.code == "assessment.not_enrolled"
    draft.status = "recorded"  # once the city records version 2, its roster is the one
    db.session.commit()
    rows, _ = data_rows(sheet_of(build_attachment2(world.bases["a"], year, today=TODAY)))
    assert rows == [["车工", 6, 0, 0, 0]]


def test_another_year_or_base_is_empty(world):
    year = world.classes["a"].start_date.year
    record_results(world, "a", passed=2)
    rows, total = data_rows(sheet_of(build_attachment2(world.bases["a"], year + 1, today=TODAY)))
    assert rows == [] and total[1:] == [0, 0, 0, 0]
    assert subsidy_summary(world.bases["b"], year)["passed"] == 0


def test_subsidy_counts_trainees_in_the_plan_who_passed(world):
    year = world.classes["a"].start_date.year
    record_results(world, "a", passed=3, failed=2)
    summary = subsidy_summary(world.bases["a"], year)
    assert (summary["enrolled"], summary["passed"]) == (5, 3)
    (klass,) = summary["classes"]
    assert klass["assessed"] == 5 and klass["level"] == "技师" and klass["plan_version"] == 1
    assert [t["certificate_no"] for t in klass["trainees"]] == ["CERT-a-000", "CERT-a-001",
                                                                 "CERT-a-002"]
    assert all("*" in t["id_masked"] for t in klass["trainees"])
    json.dumps(summary, ensure_ascii=False)  # the JSON export must serialise

    book = load_workbook(io.BytesIO(build_subsidy_xlsx(summary)))
    main = book["补贴汇总"]
    assert [c.value for c in main[main.max_row]] == ["合计", None, None, None, 5, 5, 3]
    assert book["合格学员"].max_row == 1 + 3


def test_a_pass_needs_a_certificate_number_and_a_correction_replaces_the_result(world):
    klass, trainee = world.classes["a"], world.versions["a"].enrollments[0].trainee
    with pytest.raises(ApiError) as error:
        record_result(klass, trainee, passed=True, assessed_on=TODAY, certificate_no=" ")
    assert error.value.code == "validation_error"
    record_result(klass, trainee, passed=False, assessed_on=TODAY)
    record_result(klass, trainee, passed=True, assessed_on=TODAY, certificate_no="C-1")
    db.session.commit()
    summary = subsidy_summary(world.bases["a"], klass.start_date.year)
    assert summary["passed"] == 1 and summary["classes"][0]["assessed"] == 1
