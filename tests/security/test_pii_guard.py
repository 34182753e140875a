"""The suite-wide PIPL guard (tests/pii_guard.py) finds what it must, and only that."""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import date

from server.services.idcard import synthetic_id_number
from tests import pii_guard

NUMBER = synthetic_id_number("370702", date(1988, 5, 12), 321)


def test_it_finds_a_full_id_number_and_a_written_birth_date():
    assert pii_guard.problems_in(f"学员 {NUMBER} 已报名")
    assert pii_guard.problems_in("出生于 1973-11-14，开班日已满 52 周岁")
    assert pii_guard.problems_in("Born 1973-11-14: aged 52")


def test_it_leaves_masks_hashes_and_other_dates_alone():
    masked = NUMBER[:4] + "**********" + NUMBER[-4:]
    assert pii_guard.problems_in(f"{masked} 开班日 2026-03-01 已满 51 周岁") == []
    assert pii_guard.problems_in("sha256 a" + NUMBER + "f") == []
    assert pii_guard.problems_in("370702198805123219") == []  # wrong check character: no ID


def test_it_opens_xlsx_and_zip_answers():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("roster.csv", f"张三,{NUMBER}\n")
    assert pii_guard.problems_in_bytes(out.getvalue(), "application/zip")


def test_an_answer_and_a_log_line_with_an_id_number_are_recorded(app, client):
    pii_guard.take_findings()

    @app.get("/_pii_probe")
    def probe():
        return {"id_number": NUMBER}

    client.get("/_pii_probe")
    logging.getLogger("spotcheck.probe").warning("imported %s", NUMBER)
    found = pii_guard.take_findings()
    assert any(f.startswith("/_pii_probe") for f in found)
    assert any(f.startswith("log spotcheck.probe") for f in found)
