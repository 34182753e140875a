"""Media: a ~5 MB JPEG over tus in 512 KB chunks (creation + every PATCH, completion checks
included).
"""

from __future__ import annotations

import base64
import hashlib
import io
import random

import requests
from PIL import Image

from bench.common import median, timed

CHUNK = 512 * 1024
SIDE = 2100  # a noise JPEG at quality 95 of this side is about 5.2 MB
TUS = {"Tus-Resumable": "1.0.0"}


def make_photo(seed: int) -> bytes:
    """Return a real JPEG of about 5 MB (noise does not compress, like a sharp photo)."""
    pixels = random.Random(seed).randbytes(SIDE * SIDE * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (SIDE, SIDE), pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def upload(session: requests.Session, base: str, data: bytes) -> None:
    """Send one file the way the field app does: create, then PATCH chunk after chunk."""
    sha = hashlib.sha256(data).hexdigest()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                    for k, v in (("sha256", sha), ("mime", "image/jpeg")))
    created = session.post(base + "/api/v1/media/uploads", headers={
        **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert created.status_code == 201, created.text
    location = base + created.headers["Location"]
    offset = 0
    while offset < len(data):
        chunk = data[offset:offset + CHUNK]
        response = session.patch(location, data=chunk, headers={
            **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert offset == len(data)


def run(session: requests.Session, base: str, runs: int = 3) -> dict:
    """Upload `runs` distinct files; return the median MB/s (1 MB = 10^6 B)."""
    photos = [make_photo(seed) for seed in range(runs)]
    seconds = [timed(lambda p=photo: upload(session, base, p))[0] for photo in photos]
    size = len(photos[0])
    return {
        "bytes": size, "chunks": -(-size // CHUNK), "seconds": seconds,
        "median_s": median(seconds), "mb_per_s": size / median(seconds) / 1e6,
    }
