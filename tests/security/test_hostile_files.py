"""Every decoder is bounded: a small hostile file gets a fast 4xx and never the memory it asks for.

Spreadsheets: the ZIP directory's uncompressed sizes are checked before parsing, rows read count
blank ones, a run of empty rows ends the sheet, cells have a length cap. Images: the pixel count
from the header is checked before anything is decoded (upload, PDF). Peak memory is measured with
tracemalloc around the request (Python allocations: openpyxl and zipfile parse in Python here).
"""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from server.extensions import db
from server.models import Media, Trainee
from server.services.spreadsheet import SpreadsheetError, XlsxLimits, read_first_sheet
from tests.media.tus_client import Tus
from tests.plans.filing_support import Filing, person, workbook_bytes

HEADER = ["姓名", "身份证号", "性别", "文化程度", "工种", "证书等级", "发证日期", "工作单位",
          "单位性质",
          "联系电话"]
MB = 1 << 20


@pytest.fixture
def filing(client, api, world):
    return Filing(client, api, world)


def _sheet_xml(rows_xml: str, last_row: int) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="A1:J{last_row}"/><sheetData>{rows_xml}</sheetData></worksheet>')


def _row(number: int, values: list) -> str:
    cells = "".join(f'<c r="{"ABCDEFGHIJ"[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values) if v not in (None, ""))
    return f'<row r="{number}">{cells}</row>'


def _workbook_with_sheet(sheet_writer) -> bytes:
    """A real workbook from openpyxl whose sheet1.xml is replaced by what sheet_writer streams."""
    book = Workbook()
    book.active.append(HEADER)
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in source.namelist():
            if name == "xl/worksheets/sheet1.xml":
                with zf.open(name, "w", force_zip64=True) as sheet:
                    sheet_writer(sheet)
            else:
                zf.writestr(name, source.read(name))
    return out.getvalue()


def _bomb(megabytes: int) -> bytes:
    """A sheet whose one inline string inflates to `megabytes` MB (s21's kind, kept small on the
    wire).
    """
    def write(sheet):
        sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                    b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
                    b't="inlineStr"><is><t>')
        for _ in range(megabytes):
            sheet.write(b"a" * MB)
        sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return _workbook_with_sheet(write)


def _blank_tail(data_rows: list[list], last_row: int, late_row: list | None = None) -> bytes:
    """Header, data rows, then styled empty cells to last_row (b08's kind); late_row after them."""
    def write(sheet):
        head = _row(1, HEADER) + "".join(_row(i + 2, r) for i, r in enumerate(data_rows))
        sheet.write(_sheet_xml("@@", last_row + 1).split("@@")[0].encode() + head.encode())
        start = len(data_rows) + 2
        for first in range(start, last_row + 1, 10000):
            sheet.write("".join(f'<row r="{r}"><c r="B{r}" s="0"/></row>'
                                for r in range(first, min(first + 10000, last_row + 1))).encode())
        if late_row:
            sheet.write(_row(last_row + 1, late_row).encode())
        sheet.write(b"</sheetData></worksheet>")
    return _workbook_with_sheet(write)


def _post_roster(filing, data: bytes):
    version_id = filing.new_class()["versions"][0]["id"]
    tracemalloc.start()
    try:
        response = filing.call("post", f"/plan-versions/{version_id}/roster.xlsx", "base_a",
                               data=data, content_type="application/octet-stream")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def test_a_workbook_inflating_past_the_limit_is_refused_before_parsing(filing):
    data = _bomb(80)
    assert len(data) < MB  # small on the wire
    response, peak = _post_roster(filing, data)
    assert response.status_code == 413
    body = response.get_json()
    assert body["code"] == "spreadsheet.too_large" and "MB" in body["errors"]["file"][0]
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB"


def test_styled_blank_rows_to_the_last_row_stop_after_a_run_and_enrol_the_trainee(filing):
    data = _blank_tail([person(1)], 300_000)
    response, peak = _post_roster(filing, data)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["enrolled"] == 1
    assert peak < 32 * MB, f"peak {peak / MB:.0f} MB"


def test_the_reader_stops_after_a_run_of_empty_rows():
    limits = XlsxLimits(empty_run=100)
    data = _blank_tail([["甲"]], 150, late_row=["乙"])  # 乙 sits after 148 empty rows
    assert [n for n, _ in read_first_sheet(data, limits)] == [1, 2]
    near = _blank_tail([["甲"]], 60, late_row=["乙"])  # a short gap is not the end
    assert [n for n, _ in read_first_sheet(near, limits)] == [1, 2, 61]


def test_blank_rows_count_towards_the_rows_read(filing):
    rows = "".join(_row(r,
                        ["学员", "x"]) if r % 50 == 0 else f'<row r="{r}"><c r="B{r}" s="0"/></row>'
                   for r in range(2, 6000))
    data = _workbook_with_sheet(lambda s: s.write(_sheet_xml(_row(1, HEADER) + rows,
                                                             6000).encode()))
    with pytest.raises(SpreadsheetError) as raised:
        list(read_first_sheet(data, XlsxLimits(max_rows_read=2500)))
    assert raised.value.code == "spreadsheet.too_many_rows"
    response, _ = _post_roster(filing, data)
    assert response.status_code == 422 and response.get_json()[
        "code"] == "spreadsheet.too_many_rows"


def test_an_overlong_cell_is_refused(filing):
    data = _workbook_with_sheet(lambda s: s.write(
        _sheet_xml(_row(1, HEADER) + _row(2, ["名" * 5000, "x"]), 2).encode()))
    response, _ = _post_roster(filing, data)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "spreadsheet.cell_too_long" and "第 2 行" in body["errors"]["file"][0]
    assert len(str(body)) < 2000  # the cell is not echoed back


@pytest.mark.parametrize("cell", ["张\u200b三", "\u202e三张", "\ufeff张三", "张\u2028三", "张\n三"],
                         ids=["ZWSP", "RLO", "BOM", "LSEP", "line-break"])
def test_a_cell_with_an_invisible_or_control_character_is_refused_as_the_api_would(filing, cell):
    data = workbook_bytes([person(1, name=cell)])
    response, _ = _post_roster(filing, data)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "spreadsheet.cell_unclean"
    assert "第 2 行第 1 列" in body["errors"]["file"][0]
    assert db.session.scalars(select(Trainee).where(Trainee.name == cell)).all() == []


def test_a_cell_s_surrounding_whitespace_is_only_stripped(filing):
    data = workbook_bytes([person(1, name="张三丰\n", employer=" 潍柴动力\t")])
    response, _ = _post_roster(filing, data)
    assert response.status_code == 200, response.get_json()
    assert db.session.scalars(select(Trainee.employer).where(Trainee.name == "张三丰")).all() == [
        "潍柴动力"]


def test_too_many_zip_entries_or_a_big_side_part_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(300):
            zf.writestr(f"x{i}.xml", b"")
    with pytest.raises(SpreadsheetError):
        list(read_first_sheet(out.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", b" " * (9 * MB))
    with pytest.raises(SpreadsheetError) as raised:
        list(read_first_sheet(out.getvalue()))
    assert raised.value.code == "spreadsheet.too_large"


def test_the_assessment_import_uses_the_same_bounds(runner, world, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_bomb(70))
    result = runner.invoke(args=["assessment", "import", str(path)])
    assert result.exit_code == 2 and "MB" in result.output


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height; its pixel data is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_an_image_declaring_a_huge_canvas_is_refused_at_upload(client, api, world):
    tus = Tus(client, api.headers("inspector_a"))
    data = _png_header_only(30000, 30000)
    created = tus.create(data, mime="image/png")
    assert created.status_code == 201
    tracemalloc.start()
    try:
        response = tus.patch(created.headers["Location"], 0, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 400 <= response.status_code < 500
    assert peak < 16 * MB
    assert db.session.get(Media, hashlib.sha256(data).hexdigest()) is None


@pytest.mark.parametrize("side", [(10000, 9000), (30000, 30000)])
def test_the_pdf_skips_an_image_over_the_pixel_limit(app, world, side):
    from server.services.documents.visit_pdf import _image
    from tests.documents.support import store_media

    sha = store_media(_png_header_only(*side), "image/png")
    tracemalloc.start()
    try:
        assert _image(sha, (100, 100), flatten=True) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB


def _zip_with(entries: dict[str, bytes | int]) -> bytes:
    """A ZIP whose entries are bytes, or N MB of zeros (tiny once deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries.items():
            if isinstance(body, int):
                with zf.open(name, "w", force_zip64=True) as fh:
                    for _ in range(body):
                        fh.write(bytes(MB))
            else:
                zf.writestr(name, body)
    return out.getvalue()


def test_archive_verify_never_inflates_a_bomb(app):
    from server.services.documents.archive import archive_problems

    huge_manifest = _zip_with({"manifest.json": 20})
    tracemalloc.start()
    try:
        assert archive_problems(io.BytesIO(huge_manifest)) == [("manifest.json", "too large")]
        manifest = (b'{"files": {"media/x.jpg": {"sha256": "00", "size": 10}}, '
                    b'"files_sha256": ""}')
        bomb_entry = _zip_with({"manifest.json": manifest, "media/x.jpg": 200})
        problems = dict(archive_problems(io.BytesIO(bomb_entry)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems["media/x.jpg"] == "size mismatch"
    assert peak < 16 * MB


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1 * MB}])
def test_a_json_body_over_the_request_limit_is_refused_unread(client, api, world, app_config):
    headers = {**api.headers("inspector_a"), "Content-Type": "application/json"}
    body = b'{"device_id": "x", "mutations": [' + b'{"a": 1},' * 300_000 + b'{}]}'
    tracemalloc.start()
    try:
        response = client.post("/api/v1/sync/push", data=body, headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413 and response.get_json()["code"] == "payload_too_large"
    assert peak < 8 * MB
