"""The visit record is archival: every font embedded, names beyond the basic plane searchable."""

from __future__ import annotations

import io
import shutil
import subprocess

from pypdf import PdfReader

from server.extensions import db
from server.services.documents.visit_pdf import build_visit_pdf
from tests.documents.support import make_visit


def pdffonts_rows(pdf: bytes, tmp_path) -> list[list[str]]:
    """The font table of `pdffonts` (poppler-utils, installed by the Makefile), one row per font."""
    assert shutil.which("pdffonts"), "pdffonts is missing: `make test` installs poppler-utils"
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert lines[1].startswith("---")
    # Columns: name type encoding emb sub uni object ID; the name has no spaces, the type may.
    return [line.split() for line in lines[2:] if line.strip()]


def test_every_font_of_the_visit_record_is_embedded_as_a_subset(world, tmp_path):
    visit = make_visit(world, "a")
    rows = pdffonts_rows(build_visit_pdf(visit), tmp_path)
    assert rows
    for row in rows:
        emb, sub, uni = row[-5], row[-4], row[-3]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert "+" in row[0], row  # a subset's name carries its tag, e.g. AAAAAA+WenQuanYiZenHei


def test_names_beyond_the_basic_plane_render_and_stay_searchable(world, tmp_path):
    visit = make_visit(world, "a")
    payload = dict(visit.payload)
    payload["signatures"] = [dict(s) for s in payload["signatures"]]
    payload["signatures"][-1]["name"] = "𠮷田明"  # U+20BB7, outside the basic plane
    visit.payload = payload
    # The record shows the roster as filed (its frozen copy, R7): the name is the filed one.
    enrollment = world.versions["a"].enrollments[0]
    enrollment.name = enrollment.trainee.name = "王䶮"  # U+4DAE, CJK Extension A
    db.session.commit()
    pdf = build_visit_pdf(visit)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "𠮷田明" in text
    assert "王䶮" in text
    fonts = [row[0] for row in pdffonts_rows(pdf, tmp_path)]
    assert any("HanaMin" in name for name in fonts)  # 𠮷 came from the fallback font
