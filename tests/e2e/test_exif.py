"""The phone reads a photo's capture time (EXIF DateTimeOriginal) before re-encoding it.

The field app's own pwa/src/capture/exif.js, bundled by esbuild and run in Chromium (zone
Asia/Shanghai), is fed JPEGs made with Pillow: little- and big-endian TIFF headers, with and
without OffsetTimeOriginal, no EXIF, impossible dates, and truncated or hostile EXIF blocks,
which must give null (no capture time), never an exception out of the parser.
"""

from __future__ import annotations

import base64
import io
import struct

import pytest
from PIL import Image

from tests.e2e.conftest import bundle_module

pytestmark = pytest.mark.e2e

EXIF_IFD, DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x8769, 0x9003, 0x9011


def jpeg(taken: str | None = None, offset: str | None = None, endian: str = "<") -> bytes:
    """A small JPEG; with an EXIF block (byte order `endian`) when a time or zone is given."""
    out = io.BytesIO()
    image = Image.new("RGB", (16, 16), (200, 30, 30))
    if taken is None and offset is None:
        image.save(out, "JPEG")
        return out.getvalue()
    exif = Image.Exif()
    exif.endian = endian
    exif[0x0110] = "Phone"  # Model, in IFD0 beside the Exif pointer
    sub = exif.get_ifd(EXIF_IFD)
    if taken is not None:
        sub[DATE_TIME_ORIGINAL] = taken
    if offset is not None:
        sub[OFFSET_TIME_ORIGINAL] = offset
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _tiff_start(data: bytes) -> int:
    return data.index(b"Exif\x00\x00") + 6


def patched(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value):]


def truncated(data: bytes) -> bytes:
    """The file ends inside its EXIF block."""
    return data[:_tiff_start(data) + 30]


def huge_ifd_count(data: bytes) -> bytes:
    """IFD0 claims 65535 entries and has no Exif pointer: the search runs off the end."""
    start = _tiff_start(data)
    ifd = struct.unpack_from("<I", data, start + 4)[0]
    pointer = data.index(struct.pack("<H", EXIF_IFD), start + ifd)
    return patched(patched(data, start + ifd, b"\xff\xff"), pointer, struct.pack("<H", 0x8768))


def ifd_far_away(data: bytes) -> bytes:
    """IFD0's offset points 2 GB past the block."""
    return patched(data, _tiff_start(data) + 4, struct.pack("<I", 0x7FFFFFF0))


def date_far_away(data: bytes) -> bytes:
    """DateTimeOriginal claims 4 G characters at an offset past the end."""
    entry = data.index(struct.pack("<HH", DATE_TIME_ORIGINAL, 2))
    return patched(data, entry + 4, struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFF0))


def zero_length_segment(data: bytes) -> bytes:
    """The first segment (APP0) says it is 0 bytes long."""
    return patched(data, 4, b"\x00\x00")


def not_tiff(data: bytes) -> bytes:
    """The EXIF block's byte order mark is neither II nor MM."""
    return patched(data, _tiff_start(data), b"XX")


@pytest.fixture(scope="module")
def exif_bundle() -> str:
    """The app's exif.js, bundled by esbuild into a script exposing `SpotcheckExif`."""
    return bundle_module("src/capture/exif.js", "SpotcheckExif")


@pytest.fixture(scope="module")
def exif_page(browser, exif_bundle):
    context = browser.new_context(timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    page.route("http://localhost/exif", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>exif</title>"))
    page.goto("http://localhost/exif")
    page.add_script_tag(content=exif_bundle)
    yield page
    context.close()


def taken_at(page, data: bytes):
    """Run the app's parser on the bytes as a File; an exception comes back as its text."""
    return page.evaluate("""async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        try {
            return await SpotcheckExif.exifTakenAt(new File([bytes], 'p.jpg',
                                                            { type: 'image/jpeg' }));
        } catch (error) {
            return 'threw: ' + error;
        }
    }""", base64.b64encode(data).decode())


@pytest.mark.parametrize(("data", "expected"), [
    (jpeg("2026:03:05 09:30:00"), "2026-03-05T01:30:00.000Z"),
    (jpeg("2026:03:05 09:30:00", endian=">"), "2026-03-05T01:30:00.000Z"),
    (jpeg("2026:03:05 09:30:00", "-05:00"), "2026-03-05T14:30:00.000Z"),
    (jpeg("2026:03:05 09:30:00", "+00:00", endian=">"), "2026-03-05T09:30:00.000Z"),
    (jpeg("2026:12:31 23:59:59", "+08:00"), "2026-12-31T15:59:59.000Z"),
    (jpeg("2026:03:05 09:30:00", "+8"), "2026-03-05T01:30:00.000Z"),  # zone unreadable: device's
], ids=["little", "big", "offset-west", "big-offset-utc", "offset-east", "bad-offset"])
def test_the_capture_time_is_read_in_its_zone(exif_page, data, expected):
    assert taken_at(exif_page, data) == expected


@pytest.mark.parametrize("data", [
    jpeg(),
    jpeg(offset="+08:00"),
    jpeg("2026:13:45 09:30:00"),
    jpeg("2026:02:30 09:30:00", endian=">"),
    jpeg("2026:03:05 24:00:00"),
    jpeg("1999:12:31 23:00:00"),
    jpeg("0000:00:00 00:00:00"),
    jpeg("2026-03-05 09:30:00"),
    truncated(jpeg("2026:03:05 09:30:00")),
    huge_ifd_count(jpeg("2026:03:05 09:30:00")),
    ifd_far_away(jpeg("2026:03:05 09:30:00")),
    date_far_away(jpeg("2026:03:05 09:30:00")),
    zero_length_segment(jpeg("2026:03:05 09:30:00")),
    not_tiff(jpeg("2026:03:05 09:30:00")),
    b"\x89PNG\r\n\x1a\n",
    b"",
], ids=["no-exif", "no-date", "month-13", "feb-30", "hour-24", "before-2000", "zeros",
        "dashes", "truncated", "huge-ifd-count", "ifd-far-away", "date-far-away",
        "zero-length-segment", "not-tiff", "png", "empty"])
def test_no_trustworthy_capture_time_gives_null_without_an_exception(exif_page, data):
    assert taken_at(exif_page, data) is None
