"""The fonts of the archival PDFs: TrueType files from Debian packages, embedded as subsets.

A record kept for five years (R12) must not depend on the reader's fonts, so nothing uses the
PDF base fonts or reportlab's built-in CID fonts (neither is embedded). Names may hold characters
outside the basic plane (𠮷 U+20BB7) or in Extension A (䶮 U+4DAE): each character is set in the
first font of the stack that has it, and the text layer maps every glyph back to its character.

Packages (the Makefile installs them): fonts-wqy-zenhei (Chinese text), fonts-hanazono
(Extensions A and B), fonts-dejavu-core (ASCII codes: seals, device ids).
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path("/usr/share/fonts/truetype")
# (reportlab name, file, index in a collection); the first is the text font, the rest fall back.
STACK = (
    ("SC", FONT_DIR / "wqy" / "wqy-zenhei.ttc", 0),
    ("SC-ExtA", FONT_DIR / "hanazono" / "HanaMinA.ttf", 0),
    ("SC-ExtB", FONT_DIR / "hanazono" / "HanaMinB.ttf", 0),
)
MONO = ("Mono", FONT_DIR / "dejavu" / "DejaVuSansMono.ttf", 0)


class FontsMissing(RuntimeError):
    """A font file of the stack is not installed (run `make run` or `make test`, which install it).
    """


@cache
def _face(name: str) -> frozenset[int]:
    """Register one font of the stack (once per process); return the characters it has.

    Fonts are loaded when first needed: the fallbacks are large (50 MB of glyphs) and most
    records never need them.
    """
    _, path, index = next(f for f in (*STACK, MONO) if f[0] == name)
    if not path.is_file():
        raise FontsMissing(f"font file missing: {path}")
    font = TTFont(name, str(path), subfontIndex=index)
    pdfmetrics.registerFont(font)
    return frozenset(font.face.charToGlyph)


def text_font() -> str:
    """The name of the text font (registered)."""
    _face(STACK[0][0])
    return STACK[0][0]


def mono_font() -> str:
    """The name of the monospaced font for codes (registered)."""
    _face(MONO[0])
    return MONO[0]


def _fallback(code: int) -> str | None:
    return next((name for name, _, _ in STACK[1:] if code in _face(name)), None)


def markup(text: str) -> str:
    """Escape text for a Paragraph, putting each run the text font lacks in a font that has it."""
    primary = _face(STACK[0][0])
    out: list[str] = []
    run: list[str] = []
    run_font: str | None = None

    def flush() -> None:
        if run:
            chunk = escape("".join(run)).replace("\n", "<br/>")
            out.append(chunk if run_font is None else f'<font name="{run_font}">{chunk}</font>')
            run.clear()

    for char in text:
        code = ord(char)
        font = None if code in primary or char == "\n" else _fallback(code)
        if font != run_font:
            flush()
            run_font = font
        run.append(char)
    flush()
    return "".join(out)


_BFCHAR = re.compile(rb"<([0-9A-F]{2})> <([0-9A-F]{5,6})>")


def _utf16_hex(match: re.Match[bytes]) -> bytes:
    code = int(match.group(2), 16)
    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
    return b"<" + match.group(1) + b"> <%04X%04X>" % (high, low)


def fix_text_layer(pdf: bytes) -> bytes:
    """Write characters beyond the basic plane into the ToUnicode maps as UTF-16 pairs.

    reportlab writes them as five hex digits, which no reader can parse, so 𠮷 would be drawn
    but not found by search or copy. The fix rewrites only those map entries.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    changed = False
    for page in writer.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            cmap_ref = font.get(NameObject("/ToUnicode"))
            if cmap_ref is None:
                continue
            stream = cmap_ref.get_object()
            data = stream.get_data()
            fixed = _BFCHAR.sub(_utf16_hex, data)
            if fixed != data:
                stream.set_data(fixed)
                changed = True
    if not changed:
        return pdf
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
