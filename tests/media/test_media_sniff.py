"""Judging a file's type by its bytes: what a phone claims is not what the server trusts."""

from __future__ import annotations

import io
import struct

from PIL import Image

from server.services.media_store import sniff_mime
from tests.media.tus_client import pdf_bytes


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def mp4_bytes() -> bytes:
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"moov", b"\x00" * 40) \
        + box(b"mdat", b"\x01" * 500)


def webm_bytes(doctype: bytes = b"webm") -> bytes:
    header_body = (b"\x42\x86\x81\x01" b"\x42\xf7\x81\x01" b"\x42\xf2\x81\x04" b"\x42\xf3\x81\x08"
                   + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
                   + b"\x42\x87\x81\x04" b"\x42\x85\x81\x02")
    header = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header_body)]) + header_body
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 200


def write(tmp_path, data: bytes):
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    return path


def test_png_passes_and_a_flipped_byte_fails_its_crc(tmp_path):
    data = png_bytes()
    assert sniff_mime(data) == "image/png"
    assert sniff_mime(write(tmp_path, data)) == "image/png"
    broken = bytearray(data)
    broken[40] ^= 0xFF  # inside the IDAT chunk: the CRC no longer matches
    assert sniff_mime(write(tmp_path, bytes(broken))) is None


def test_a_jpeg_must_decode_to_its_last_block(tmp_path):
    data = jpeg_bytes()
    assert sniff_mime(write(tmp_path, data)) == "image/jpeg"
    scan = data.index(b"\xff\xda") + 14  # the scan header's end: the compressed pixels follow
    for fake in (data[:scan] + b"<html><script>alert(1)</script></html>", data[:scan],
                 data[:len(data) // 2]):
        assert sniff_mime(fake) == "image/jpeg"  # the leading bytes alone look right
        assert sniff_mime(write(tmp_path, fake)) is None


def test_a_pdf_must_parse_to_at_least_one_page(tmp_path):
    data = pdf_bytes()
    assert sniff_mime(data) == "application/pdf"
    assert sniff_mime(write(tmp_path, data)) == "application/pdf"
    for fake in (b"%PDF-<html><script>alert(1)</script></html>", b"%PDF-1.4\n% proof\n",
                 data[:len(data) // 2]):
        assert sniff_mime(write(tmp_path, fake)) is None


def test_mp4_needs_ftyp_first_and_boxes_that_add_up(tmp_path):
    data = mp4_bytes()
    assert sniff_mime(data) == "video/mp4"
    assert sniff_mime(write(tmp_path, data)) == "video/mp4"
    assert sniff_mime(write(tmp_path, data[:-10])) is None  # truncated mdat
    assert sniff_mime(write(tmp_path, box(b"ftyp", b"isom") + b"random junk here")) is None


def test_webm_needs_the_webm_doctype_and_a_segment(tmp_path):
    assert sniff_mime(webm_bytes()) == "video/webm"
    assert sniff_mime(write(tmp_path, webm_bytes())) == "video/webm"
    assert sniff_mime(webm_bytes(b"matroska")) is None
    assert sniff_mime(write(tmp_path, webm_bytes()[:36] + b"\x00" * 50)) is None


def test_text_and_empty_files_are_nothing(tmp_path):
    assert sniff_mime(b"GIF89a....") is None
    assert sniff_mime(b"") is None
    assert sniff_mime(write(tmp_path, b"hello, I am a .jpg")) is None
