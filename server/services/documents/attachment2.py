"""Attachment 2 of the notice (培训情况统计表, R13): trained and passed per occupation and level."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from openpyxl.styles import Alignment, Border, Font, Side

from server.models import TrainingBase
from server.services.documents.common import classes_of_year, current_version, results_of, roster
from server.services.spreadsheet import new_workbook, put_cell, workbook_bytes

TITLE = "{year} 年度“潍坊市青年技师素质提升计划”培训情况统计表"
FOOTER = ("分管院长（校长）：", "填报处室：", "处室负责人：", "填报人：", "联系电话：")
FIRST_DATA_ROW = 5
# Column order of the data cells: 技师 trained, passed; 高级技师 trained, passed.
COLUMNS = ((2, "trained"), (2, "passed"), (1, "trained"), (1, "passed"))


@dataclass
class OccupationRow:
    """One occupation's distinct trainees and passes, by level (2 = 技师, 1 = 高级技师)."""

    code: str
    name: str
    trained: dict[int, set] = field(default_factory=lambda: {2: set(), 1: set()})
    passed: dict[int, set] = field(default_factory=lambda: {2: set(), 1: set()})

    def numbers(self) -> list[int]:
        """Return the four counts in the sheet's column order."""
        return [len(getattr(self, kind)[level]) for level, kind in COLUMNS]


def attachment2_rows(base: TrainingBase, year: int) -> list[OccupationRow]:
    """Count distinct trainees on the filed rosters of the base's classes of the year, and passes.
    """
    rows: dict[str, OccupationRow] = {}
    for klass in classes_of_year(base, year):
        enrolled = {e.trainee_id for e in roster(current_version(klass))}
        if not enrolled:
            continue
        row = rows.setdefault(klass.occupation.code,
                              OccupationRow(klass.occupation.code, klass.occupation.name))
        row.trained[klass.level] |= enrolled
        row.passed[klass.level] |= {
            tid for tid, result in results_of(klass).items() if result.passed and tid in enrolled
        }
    return [rows[code] for code in sorted(rows)]


def build_attachment2(base: TrainingBase, year: int, *, today: date) -> bytes:
    """Return Attachment 2 as XLSX bytes in the notice's layout, with the 合计 row computed."""
    rows = attachment2_rows(base, year)
    book = new_workbook()
    sheet = book.active
    sheet.title = "培训情况统计表"
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    sheet.merge_cells("A1:E1")
    put_cell(sheet, 1, 1, TITLE.format(year=year))
    sheet["A1"].font = Font(name="宋体", size=14, bold=True)
    sheet["A1"].alignment = centre
    sheet.row_dimensions[1].height = 36
    sheet.merge_cells("A2:C2")
    put_cell(sheet, 2, 1, f"填报单位（盖章）：{base.name}")
    sheet.merge_cells("D2:E2")
    sheet["D2"] = f"填报时间：{today.year} 年 {today.month} 月 {today.day} 日"

    sheet.merge_cells("A3:A4")
    sheet["A3"] = "职业（工种）"
    sheet.merge_cells("B3:C3")
    sheet["B3"] = "技师（人）"
    sheet.merge_cells("D3:E3")
    sheet["D3"] = "高级技师（人）"
    for column, text in zip("BCDE", ("培训人数", "考核评定合格人数") * 2, strict=True):
        sheet[f"{column}4"] = text

    totals = [0, 0, 0, 0]
    line = FIRST_DATA_ROW
    for row in rows:
        numbers = row.numbers()
        put_cell(sheet, line, 1, row.name)
        for offset, value in enumerate(numbers):
            sheet.cell(line, 2 + offset, value)
            totals[offset] += value
        line += 1
    # Plain numbers, not formulas: openpyxl cannot store a formula's value, and readers without
    # a calculation engine would see an empty 合计.
    sheet.cell(line, 1, "合计")
    for offset, value in enumerate(totals):
        sheet.cell(line, 2 + offset, value)
    for table_row in sheet.iter_rows(min_row=3, max_row=line, max_col=5):
        for cell in table_row:
            cell.border = box
            cell.alignment = centre
    for table_row in sheet.iter_rows(min_row=3, max_row=4, max_col=5):
        for cell in table_row:
            cell.font = Font(bold=True)
    sheet.cell(line, 1).font = Font(bold=True)

    for offset, text in enumerate(FOOTER):
        sheet.cell(line + 2 + offset, 1, text)
    sheet.column_dimensions["A"].width = 24
    for column in "BCDE":
        sheet.column_dimensions[column].width = 18
    sheet.print_title_rows = "3:4"
    return workbook_bytes(book)
