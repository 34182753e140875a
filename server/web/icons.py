"""The pages' favicon and app icon: the field app's mark (a teal square with a white check)."""

from __future__ import annotations

from functools import cache
from io import BytesIO

from PIL import Image, ImageDraw

SIZES = (32, 180, 192, 512)


@cache
def icon_png(size: int) -> bytes:
    """Return the icon as a size×size PNG (drawn once per process; it never changes)."""
    scale = 4  # draw large, then shrink: smooth edges without an antialiasing API
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.18),
                           fill=(15, 118, 110, 255))

    def at(v: float) -> float:
        return big / 2 + (v - 0.5) * big * 0.9

    draw.line([(at(0.22), at(0.52)), (at(0.42), at(0.72)), (at(0.8), at(0.3))],
              fill=(255, 255, 255, 255), width=max(1, int(big * 0.135)), joint="curve")
    out = BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()
