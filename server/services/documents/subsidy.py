"""The subsidy summary (R14): per base and year, trainees in the filed plan who passed."""

from __future__ import annotations

from typing import Any

from openpyxl.styles import Font

from server.models import TrainingBase
from server.services.documents.common import (
    LEVEL_LABELS,
    classes_of_year,
    current_version,
    results_of,
    roster,
)
from server.services.spreadsheet import new_workbook, put_row, workbook_bytes


def subsidy_summary(base: TrainingBase, year: int) -> dict[str, Any]:
    """Return, per class, the filed roster size and the trainees who passed (eligible for subsidy).
    """
    classes = []
    for klass in classes_of_year(base, year):
        version = current_version(klass)
        results = results_of(klass)
        enrolled = roster(version)
        eligible = [
            {"name": e.name, "id_masked": e.id_masked,
             "certificate_no": results[e.trainee_id].certificate_no,
             "assessed_on": results[e.trainee_id].assessed_on.isoformat()}
            for e in enrolled
            if e.trainee_id in results and results[e.trainee_id].passed
        ]
        classes.append({
            "class_id": str(klass.id), "class_name": klass.name,
            "occupation": klass.occupation.name, "level": LEVEL_LABELS.get(klass.level, ""),
            "plan_version": version.number if version else None,
            "enrolled": len(enrolled),
            "assessed": sum(1 for e in enrolled if e.trainee_id in results),
            "passed": len(eligible), "trainees": eligible,
        })
    return {
        "base": base.name, "year": year, "classes": classes,
        "enrolled": sum(c["enrolled"] for c in classes),
        "passed": sum(c["passed"] for c in classes),
    }


def build_subsidy_xlsx(summary: dict[str, Any]) -> bytes:
    """Return the summary as XLSX: a sheet of classes with totals and a sheet of eligible trainees.
    """
    book = new_workbook()
    sheet = book.active
    sheet.title = "补贴汇总"
    put_row(sheet, [f"{summary['year']} 年度 {summary['base']} "
                    "培训补贴人数汇总（列入培训计划且考核评定合格）"])
    sheet["A1"].font = Font(bold=True, size=13)
    heading = ["班次", "职业（工种）", "等级", "计划版本", "名册人数", "已考核人数", "合格人数"]
    put_row(sheet, heading)
    for klass in summary["classes"]:
        put_row(sheet, [klass["class_name"], klass["occupation"], klass["level"],
                      klass["plan_version"], klass["enrolled"], klass["assessed"], klass["passed"]])
    put_row(sheet, ["合计", "", "", "", summary["enrolled"],
                  sum(c["assessed"] for c in summary["classes"]), summary["passed"]])
    for cell in (*sheet[2], *sheet[sheet.max_row]):
        cell.font = Font(bold=True)
    people = book.create_sheet("合格学员")
    put_row(people, ["班次", "姓名", "身份证号（脱敏）", "考核日期", "证书编号"])
    for klass in summary["classes"]:
        for trainee in klass["trainees"]:
            put_row(people, [klass["class_name"], trainee["name"], trainee["id_masked"],
                           trainee["assessed_on"], trainee["certificate_no"]])
    for column, width in zip("ABCDEFG", (28, 16, 22, 12, 12, 12, 12), strict=True):
        sheet.column_dimensions[column].width = width
        people.column_dimensions[column].width = width
    return workbook_bytes(book)
