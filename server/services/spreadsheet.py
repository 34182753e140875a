"""Spreadsheets out and in: the one writer every XLSX and CSV export uses, and the bounded reader
every uploaded XLSX goes through.

Out: text anyone typed (a class name, a trainee's employer, a teacher's certificate number) must
never become a live formula in a reviewer's Excel or WPS (CWE-1236). A cell that starts with
= + - @, a tab or a carriage return is written as a text cell in XLSX, and with a leading
apostrophe in CSV (which has no cell types).

In: an XLSX is a ZIP of XML. Its size on the wire says nothing about what it inflates to, and a
sheet may reach Excel's last row with styled empty cells. The reader checks the uncompressed
sizes in the ZIP directory before parsing, counts every row it reads (blank ones too), stops after
a run of empty rows and refuses cells longer than any roster needs. Every cell is one line of
text, held to the JSON API's rule for one-line text (schemas.common: no control character, no
invisible format or separator character), so what a file brings in is what a form would let in.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from schemas.common import has_control_characters

# What spreadsheet programs read as the start of a formula (or a DDE call after a tab/CR).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(value: Any) -> bool:
    """True for text a spreadsheet program would evaluate as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


# --- out -------------------------------------------------------------------------------------

def new_workbook() -> Workbook:
    """Return an empty workbook for an export (fill it with put_row / put_cell only)."""
    return Workbook()


def _as_text(cell: Cell) -> Cell:
    if starts_formula(cell.value):
        cell.data_type = "s"  # openpyxl makes every "=..." a formula; this keeps it text
    return cell


def put_cell(sheet: Worksheet, row: int, column: int, value: Any = None) -> Cell:
    """Write one value into a cell; text that looks like a formula stays text."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    return _as_text(cell)


def put_row(sheet: Worksheet, values: Sequence[Any]) -> None:
    """Append one row; text that looks like a formula stays text."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        _as_text(cell)


def workbook_bytes(book: Workbook) -> bytes:
    """Return the workbook as XLSX bytes, after a last check that no cell holds a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_value(value: Any) -> Any:
    """Return a CSV field: text that looks like a formula gets a leading apostrophe."""
    if starts_formula(value):
        return "'" + value
    return value


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """Return a UTF-8 CSV (with a BOM, so Excel opens it as UTF-8) of neutralised fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_value(v) for v in header])
    writer.writerows([csv_value(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- in --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class XlsxLimits:
    """How much an uploaded workbook may hold; every figure is checked before or while reading."""

    # Sum of the uncompressed sizes of the ZIP's entries, as its directory declares them
    # (Python's zipfile never inflates an entry past its declared size).
    max_uncompressed: int = 64 * 1024 * 1024
    # Every part but the worksheets is read whole by openpyxl (shared strings, styles).
    max_part: int = 8 * 1024 * 1024
    max_entries: int = 200
    # Rows read from the sheet, blank ones included.
    max_rows_read: int = 5000
    # Stop after this many empty rows in a row (styled blank rows to the sheet's end).
    empty_run: int = 100
    max_cell_chars: int = 500
    max_columns: int = 50


class SpreadsheetError(Exception):
    """The upload is no workbook we read: not an XLSX, or over one of the limits."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


def check_xlsx_container(source: bytes | IO[bytes], limits: XlsxLimits = XlsxLimits()) -> None:
    """Refuse a workbook whose ZIP directory declares too much, before anything is inflated."""
    try:
        archive = zipfile.ZipFile(source if not isinstance(source, bytes) else io.BytesIO(source))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SpreadsheetError("spreadsheet.unreadable") from error
    with archive:
        entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise SpreadsheetError("spreadsheet.too_large", limit_mb=limits.max_uncompressed >> 20)
    total = 0
    for entry in entries:
        total += entry.file_size
        is_sheet = entry.filename.startswith("xl/worksheets/")
        if total > limits.max_uncompressed or (not is_sheet and entry.file_size > limits.max_part):
            raise SpreadsheetError("spreadsheet.too_large", limit_mb=limits.max_uncompressed >> 20)


def read_first_sheet(source: bytes | IO[bytes], limits: XlsxLimits = XlsxLimits()
                     ) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Yield (row number, cell values) of the first sheet's non-empty rows, within the limits.

    Blank rows count towards max_rows_read; a run of `empty_run` blank rows ends the sheet.
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    check_xlsx_container(source, limits)
    source.seek(0)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise SpreadsheetError("spreadsheet.unreadable") from error
    try:
        if not book.worksheets:
            raise SpreadsheetError("spreadsheet.unreadable")
        sheet = book.worksheets[0]
        empty = 0
        rows = sheet.iter_rows(values_only=True, max_col=limits.max_columns)
        for number, cells in enumerate(rows, start=1):
            if number > limits.max_rows_read:
                raise SpreadsheetError("spreadsheet.too_many_rows", limit=limits.max_rows_read)
            for column, value in enumerate(cells, start=1):
                if isinstance(value, str) and len(value) > limits.max_cell_chars:
                    raise SpreadsheetError("spreadsheet.cell_too_long", row=number, column=column,
                                           limit=limits.max_cell_chars)
                # The readers strip a cell's ends (a trailing line break from Excel does no harm).
                if isinstance(value, str) and has_control_characters(value.strip()):
                    raise SpreadsheetError("spreadsheet.cell_unclean", row=number, column=column)
            if all(value is None or (isinstance(value, str) and not value.strip())
                   for value in cells):
                empty += 1
                if empty >= limits.empty_run:
                    return
                continue
            empty = 0
            yield number, tuple(cells)
    except SpreadsheetError:
        raise
    except Exception as error:  # a damaged sheet inside a valid zip fails in many ways
        raise SpreadsheetError("spreadsheet.unreadable") from error
    finally:
        book.close()
