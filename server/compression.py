"""gzip for large JSON answers (the full pull of a scope) when the client accepts it.

Phones pull their scope over slow mobile data; the JSON (UUIDs, repeated keys) shrinks
several times. Only the paths listed are compressed: small answers are not worth the CPU,
and error bodies stay plain.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

COMPRESSED_PATHS = ("/api/v1/sync/pull",)
MIN_BYTES = 1024
# Level 5: most of level 9's saving on this JSON for a fraction of the CPU (docs/PERFORMANCE.md).
LEVEL = 5


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def init_compression(app: Flask) -> None:
    """Compress successful JSON answers of COMPRESSED_PATHS for clients that accept gzip."""

    @app.after_request
    def gzip_json(response: Response) -> Response:
        if (request.path not in COMPRESSED_PATHS or response.status_code != 200
                or response.mimetype != "application/json" or response.direct_passthrough
                or "Content-Encoding" in response.headers or not _accepts_gzip()):
            return response
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return response
