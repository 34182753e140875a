"""A small tus client over the Flask test client, and JPEGs made for tests."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
import zlib

from PIL import Image
from pypdf import PdfWriter


def make_jpeg(side: int = 160, seed: int = 1) -> bytes:
    """Return a real JPEG of noise (noise keeps it large and unique per seed)."""
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def make_png(width: int = 120, height: int = 40) -> bytes:
    """Return a small real PNG (a blank signature)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A real one-page PDF (pypdf reads it)."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header declares width × height pixels (a decompression bomb's
    shape: the leading bytes say PNG, the pixels are not there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


class Tus:
    """A minimal tus client over the Flask test client."""

    def __init__(self, client, headers: dict):
        self.client = client
        self.auth = {**headers, **TUS}

    def create(self, data: bytes, mime: str = "image/jpeg", sha256: str | None = None,
               length: int | None = None):
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        return self.client.post(BASE, headers={
            **self.auth, "Upload-Length": str(len(data) if length is None else length),
            "Upload-Metadata": metadata(sha256, mime),
        })

    def patch(self, location: str, offset: int, chunk: bytes, checksum: str | None = None,
              content_length: int | None = None):
        headers = {**self.auth, "Upload-Offset": str(offset),
                   "Content-Type": "application/offset+octet-stream",
                   "Content-Length": str(len(chunk) if content_length is None else content_length)}
        if checksum:
            headers["Upload-Checksum"] = checksum
        # The test client recomputes Content-Length from the body; a dropped connection
        # announces more than it sends, so set it in the WSGI environ directly.
        return self.client.patch(location, input_stream=io.BytesIO(chunk), headers=headers,
                                 environ_overrides={"CONTENT_LENGTH": headers["Content-Length"]})

    def head(self, location: str):
        return self.client.head(location, headers=self.auth)


TUS = {"Tus-Resumable": "1.0.0"}


BASE = "/api/v1/media/uploads"


def metadata(sha256: str, mime: str = "image/jpeg", **extra: str) -> str:
    pairs = {"sha256": sha256, "mime": mime, **extra}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())
