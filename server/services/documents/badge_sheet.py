"""Printable badges: one PNG per trainee and an A4 PDF sheet per class (Chinese text).

The PDF uses reportlab's built-in CID font STSong-Light, which every PDF reader has, so the
Chinese names render and can be extracted as text without shipping a font. The PNGs are
drawn with Pillow; their caption needs a CJK TrueType font, looked up in the usual places.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from server.extensions import db
from server.models import TrainingClass
from server.services.badges import class_roster, sign_badge
from server.services.clock import local_today

PDF_FONT = "STSong-Light"
CJK_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
COLUMNS, ROWS = 3, 4  # 12 badges per A4 page


@dataclass(frozen=True)
class Badge:
    """One trainee's badge: the token and what is printed beside it (never the full ID)."""

    trainee_id: uuid.UUID
    name: str
    id_masked: str
    token: str


def class_badges(training_class: TrainingClass, issued: date | None = None) -> list[Badge]:
    """Sign a badge for every trainee on the class's roster in force."""
    trainees = class_roster(training_class.id)
    return [
        Badge(t.id, t.name, t.id_masked, sign_badge(t.id, training_class.id, issued))
        for t in trainees
    ]


def qr_image(token: str, box_size: int = 8) -> Image.Image:
    """Return the QR code of a token as a black-on-white image with a 4-module quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(token)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


@cache
def _caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in CJK_FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    # Without a CJK font the name cannot be drawn; the QR and the masked ID still are.
    return ImageFont.load_default(size)


def _has_cjk_font() -> bool:
    return any(Path(p).exists() for p in CJK_FONT_PATHS)


def badge_png(badge: Badge, class_name: str) -> bytes:
    """Return one badge as a PNG: the QR code with the name, masked ID and class below it."""
    qr = qr_image(badge.token)
    width = qr.width
    lines = [badge.name, badge.id_masked, class_name] if _has_cjk_font() else [badge.id_masked]
    font = _caption_font(28)
    line_height = 40
    image = Image.new("RGB", (width, qr.height + line_height * len(lines) + 16), "white")
    image.paste(qr, (0, 0))
    draw = ImageDraw.Draw(image)
    y = qr.height
    for text in lines:
        text_width = draw.textlength(text, font=font)
        draw.text(((width - text_width) / 2, y), text, fill="black", font=font)
        y += line_height
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _register_font() -> None:
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


def sheet_heading(training_class: TrainingClass) -> str:
    """Return the sheet's heading: the class name and what the sheet is."""
    return f"{training_class.name} 学员签到二维码"


def badge_sheet_pdf(training_class: TrainingClass, badges: list[Badge], issued: date) -> bytes:
    """Return an A4 PDF with a grid of badges (QR, name, masked ID) under a Chinese heading."""
    _register_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(sheet_heading(training_class))
    page_w, page_h = A4
    margin = 12 * mm
    top = page_h - margin - 16 * mm
    cell_w = (page_w - 2 * margin) / COLUMNS
    cell_h = (top - margin) / ROWS
    qr_side = min(cell_w, cell_h) - 18 * mm
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(badges) // per_page))
    for page in range(pages):
        pdf.setFont(PDF_FONT, 15)
        pdf.drawCentredString(page_w / 2, page_h - margin - 6 * mm, sheet_heading(training_class))
        pdf.setFont(PDF_FONT, 9)
        base = training_class.base.name if training_class.base else ""
        pdf.drawCentredString(
            page_w / 2, page_h - margin - 12 * mm,
            f"{base}  签发日期 {issued.isoformat()}  第 {page + 1}/{pages} 页  "
            "本人持码签到，不得代签",
        )
        for index, badge in enumerate(badges[page * per_page:(page + 1) * per_page]):
            col, row = index % COLUMNS, index // COLUMNS
            x = margin + col * cell_w
            y = top - (row + 1) * cell_h
            pdf.setDash(2, 2)
            pdf.rect(x + 1 * mm, y + 1 * mm, cell_w - 2 * mm, cell_h - 2 * mm)
            pdf.setDash()
            image = ImageReader(qr_image(badge.token, box_size=4))
            pdf.drawImage(image, x + (cell_w - qr_side) / 2, y + 14 * mm, qr_side, qr_side)
            pdf.setFont(PDF_FONT, 12)
            pdf.drawCentredString(x + cell_w / 2, y + 8.5 * mm, badge.name)
            pdf.setFont(PDF_FONT, 9)
            pdf.drawCentredString(x + cell_w / 2, y + 4 * mm, badge.id_masked)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def write_class_badges(class_id: uuid.UUID, out_dir: Path,
                       issued: date | None = None) -> list[Path]:
    """Write `<trainee_id>.png` per trainee of the class and `sheet.pdf`; return the paths."""
    training_class = db.session.get(TrainingClass, class_id)
    if training_class is None:
        raise LookupError(f"no class {class_id}")
    issued = issued or local_today()  # the date in the bureau's zone
    badges = class_badges(training_class, issued)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for badge in badges:
        path = out_dir / f"{badge.trainee_id}.png"
        path.write_bytes(badge_png(badge, training_class.name))
        written.append(path)
    sheet = out_dir / "sheet.pdf"
    sheet.write_bytes(badge_sheet_pdf(training_class, badges, issued))
    written.append(sheet)
    return written
