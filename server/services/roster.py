"""The roster spreadsheet (花名册): read an XLSX, check each row against R3, make the template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from os import PathLike
from typing import IO, Any

from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from server.i18n import translate
from server.services.idcard import normalise_id_number, synthetic_id_number
from server.services.rules import TraineeFacts, Violation, check_trainee, violation
from server.services.spreadsheet import (
    SpreadsheetError,
    XlsxLimits,
    new_workbook,
    put_row,
    read_first_sheet,
    workbook_bytes,
)

# The header row, in this order; the attribute each column fills.
COLUMNS = (
    ("姓名", "name"), ("身份证号", "id_number"), ("性别", "gender"), ("文化程度", "education"),
    ("工种", "occupation"), ("证书等级", "certificate_level"), ("发证日期", "certificate_date"),
    ("工作单位", "employer"), ("单位性质", "employer_kind"), ("联系电话", "phone"),
)
HEADER = tuple(title for title, _ in COLUMNS)
COLUMN_OF_FIELD = {attr: title for title, attr in COLUMNS}
CERTIFICATE_LEVEL_CHOICES = ("初级工", "中级工", "高级工", "技师", "高级技师")
EMPLOYER_KIND_CHOICES = ("企业", "技工院校", "职业院校", "机关", "事业单位", "其他")
EDUCATION_CHOICES = ("小学", "初中", "高中", "中专", "技校", "职高", "大专", "本科", "硕士", "博士")
GENDER_CHOICES = ("男", "女")
# A roster is a class of a few dozen; this bounds the work a hostile file can cause.
MAX_DATA_ROWS = 2000
# What a roster file may hold before and while it is read (blank rows count towards the rows).
READ_LIMITS = XlsxLimits(max_rows_read=MAX_DATA_ROWS + 500, max_cell_chars=200, max_columns=20)
TEMPLATE_ROWS = 500

_DATE_TEXT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


class RosterReadError(Exception):
    """The file is no readable roster: not an XLSX, over a limit, or not our header."""

    def __init__(self, message: str, code: str = "validation_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RosterRow:
    """One data row of the roster; `row` is the spreadsheet row number (the header is row 1)."""

    row: int
    name: str
    id_number: str
    gender: str
    education: str
    occupation: str
    certificate_level: str
    certificate_date: date | None
    employer: str
    employer_kind: str
    phone: str
    # What the clerk typed in 发证日期 when it is no date, and whether 身份证号 was a number cell.
    certificate_date_text: str = ""
    id_number_was_number: bool = False

    def facts(self) -> TraineeFacts:
        """Return what R3 needs from this row."""
        return TraineeFacts(
            name=self.name, id_number=self.id_number, education=self.education,
            certificate_level=self.certificate_level, certificate_date=self.certificate_date,
            employer_kind=self.employer_kind, gender=self.gender, occupation=self.occupation,
            employer=self.employer, phone=self.phone,
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def parse_certificate_date(value: Any) -> date | None:
    """Return the date of a 发证日期 cell: a date cell, or text like 2015-06-01 (also / . 年月日).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    match = _DATE_TEXT.match(text)
    if not match and re.fullmatch(r"\d{8}", text):
        match = re.match(r"(\d{4})(\d{2})(\d{2})", text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _make_row(number: int, cells: tuple[Any, ...]) -> RosterRow:
    values = dict(zip((attr for _, attr in COLUMNS), cells, strict=False))
    raw_date = values.get("certificate_date")
    issued = parse_certificate_date(raw_date)
    raw_id = values.get("id_number")
    # Excel keeps 15 significant digits: an ID typed into a number cell has lost its tail.
    was_number = isinstance(raw_id, int | float) and not isinstance(raw_id, bool)
    return RosterRow(
        row=number,
        **{attr: _text(values.get(attr)) for _, attr in COLUMNS if attr != "certificate_date"},
        certificate_date=issued,
        certificate_date_text="" if issued else _text(raw_date),
        id_number_was_number=was_number,
    )


def _source_bytes(source: str | PathLike[str] | IO[bytes]) -> bytes | IO[bytes]:
    if isinstance(source, str | PathLike):
        try:
            with open(source, "rb") as fh:
                return fh.read(READ_LIMITS.max_uncompressed + 1)
        except OSError as error:
            raise RosterReadError(translate("spreadsheet.unreadable")) from error
    return source


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_problems(header: tuple[str, ...]) -> str:
    """Say which header cells differ from the template, and only those."""
    if not any(header):
        return f"第 1 行应为表头：{'、'.join(HEADER)}；这一行是空的"
    wrong = [f"{_column_letter(i)} "
             f"列应为“{expected}”，实为“{header[i] if i < len(header) and header[i] else '（空）'}”"
             for i,
             expected in enumerate(HEADER) if (header[i] if i < len(header) else "") != expected]
    extra = [f"{_column_letter(i)} 列“{h}”不属于模板" for i, h in enumerate(header)
             if i >= len(HEADER) and h]
    return "表头与模板不同：" + "；".join(wrong + extra)


def read_roster(source: str | PathLike[str] | IO[bytes]) -> list[RosterRow]:
    """Read the roster's first sheet within READ_LIMITS; blank rows are skipped, row numbers are the
    sheet's.
    """
    rows = read_first_sheet(_source_bytes(source), READ_LIMITS)
    try:
        first = next(rows, None)
        header = tuple(_text(cell) for cell in (first[1] if first and first[0] == 1 else ()))
        if header[: len(HEADER)] != HEADER or any(header[len(HEADER):]):
            rows.close()
            raise RosterReadError(header_problems(header))
        result: list[RosterRow] = []
        for number, cells in rows:
            cells = tuple(cells[: len(HEADER)])
            if all(_text(cell) == "" for cell in cells):
                continue
            if len(result) >= MAX_DATA_ROWS:
                rows.close()
                raise RosterReadError(f"花名册超过 {MAX_DATA_ROWS} 行", "spreadsheet.too_many_rows")
            result.append(_make_row(number, cells))
        return result
    except SpreadsheetError as error:
        code = "validation_error" if error.code == "spreadsheet.unreadable" else error.code
        raise RosterReadError(translate(error.code, **error.values), code) from error


def _row_violations(row: RosterRow, class_start: date) -> list[Violation]:
    """R3 for one row, with the messages a clerk needs for what went wrong in the cell."""
    found = []
    for item in check_trainee(row.facts(), class_start, row=row.row):
        if item.code == "R3.id_invalid" and row.id_number_was_number:
            item = violation("R3.id_invalid", "R3.id_invalid.number_cell", row=row.row,
                             field="id_number")
        elif (item.code == "R3.missing_field" and item.field == "certificate_date"
              and row.certificate_date_text):
            item = violation("R3.missing_field", "R3.missing_field.unreadable_date", row=row.row,
                             field="certificate_date", value=row.certificate_date_text)
        found.append(item)
    return found


def _duplicates(rows: list[RosterRow]) -> dict[int, list[int]]:
    """Map each row number to the other rows with the same ID number."""
    by_number: dict[str, list[int]] = {}
    for row in rows:
        number = normalise_id_number(row.id_number)
        if number:
            by_number.setdefault(number, []).append(row.row)
    return {r: [o for o in group if o != r] for group in by_number.values() if len(group) > 1
            for r in group}


def check_roster(rows: list[RosterRow], class_start: date) -> list[dict[str, Any]]:
    """Check every row against R3 (duplicates within the file too); one result per row."""
    duplicates = _duplicates(rows)
    results = []
    for row in rows:
        found = _row_violations(row, class_start)
        if row.row in duplicates:
            others = "、".join(str(n) for n in duplicates[row.row])
            found.append(violation("R3.duplicate", "R3.duplicate.rows", row=row.row,
                                   field="id_number", rows=others))
        details = []
        for item in found:
            detail = item.to_dict()
            detail["column"] = COLUMN_OF_FIELD.get(item.field or "")
            details.append(detail)
        results.append({
            "row": row.row, "name": row.name,
            "violations": list(dict.fromkeys(item.code for item in found)),
            "details": details,
        })
    return results


def roster_template() -> bytes:
    """Return the XLSX template: header, drop-down lists, text columns, and a sheet of guidance."""
    workbook = new_workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    put_row(sheet, HEADER)
    widths = (10, 22, 6, 10, 14, 10, 12, 28, 12, 14)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell, width in zip(sheet[1], widths, strict=True):
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = "A2"
    sheet["B1"].comment = Comment("18 位身份证号，末位可为 X；本列为文本格式，请勿改为数字",
                                  "抽查通")
    sheet["G1"].comment = Comment("高级工证书的发证日期，如 2015-06-01", "抽查通")
    last = TEMPLATE_ROWS + 1
    # ID numbers and phones as text: a number cell silently drops the 16th digit onward.
    for column in ("B", "J"):
        for (cell,) in sheet[f"{column}2:{column}{last}"]:
            cell.number_format = "@"
    for (cell,) in sheet[f"G2:G{last}"]:
        cell.number_format = "yyyy-mm-dd"
    for column, choices, strict in (
        ("C", GENDER_CHOICES, True),
        ("D", EDUCATION_CHOICES, False),
        ("F", CERTIFICATE_LEVEL_CHOICES, True),
        ("I", EMPLOYER_KIND_CHOICES, True),
    ):
        validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                    allow_blank=True, showErrorMessage=strict)
        validation.error = "请从下拉列表中选择"
        validation.errorTitle = "取值无效"
        sheet.add_data_validation(validation)
        validation.add(f"{column}2:{column}{last}")
    dates = DataValidation(type="date", operator="greaterThan", formula1="1",
                           allow_blank=True, showErrorMessage=True)
    dates.error = "请输入日期，如 2015-06-01"
    sheet.add_data_validation(dates)
    dates.add(f"G2:G{last}")

    guide = workbook.create_sheet("填写说明")
    put_row(guide, ["填写说明（本页不会被导入）"])
    guide["A1"].font = Font(bold=True, size=12)
    for line in (
        "1. 在“花名册”工作表第 2 行起每行填写一名学员，不要改动第 1 行表头。",
        "2. 身份证号填写 18 位，末位 X 大小写均可；15 位旧号码不予受理。",
        "3. 年龄以开班日为准，50 周岁（含）以下。",
        "4. 文化程度须为高中、中专、技校、职高或以上。",
        "5. 证书等级须为高级工及以上，且至开班日持证满 3 年（含）。",
        "6. 机关、事业单位在编人员不在培训对象之列；技工院校、职业院校教师可以参加。",
        "",
        "示例（虚构人员）：",
    ):
        put_row(guide, [line])
    put_row(guide, list(HEADER))
    for cell in guide[guide.max_row]:
        cell.font = bold
    put_row(guide, ["张示例", synthetic_id_number("370702", date(1988, 5, 12), 321), "男", "高中",
                  "车工", "高级工", date(2018, 6, 1), "潍坊某机械有限公司", "企业", "13800000000"])
    guide.cell(row=guide.max_row, column=7).number_format = "yyyy-mm-dd"
    guide.column_dimensions["A"].width = 12
    for letter, width in zip("BCDEFGHIJ", widths[1:], strict=True):
        guide.column_dimensions[letter].width = width
    workbook.active = 0
    return workbook_bytes(workbook)

