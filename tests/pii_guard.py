"""A suite-wide guard: no page, API answer, export or log line shows a full ID number or a birth
date (PIPL). make_test_app installs it on every test app; an autouse fixture in conftest fails the
test that produced a finding.

Cheap on purpose: one regular expression over text answers and log lines; XLSX and ZIP answers
(streamed or not) are opened and their CSV/JSON/XML entries scanned. PDFs are not read (their text
is in compressed streams). The audited unmask (/trainees/<id>/identity) is the one answer allowed
to show a full number; the roster template carries an invented example.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from server.services.idcard import is_valid_id_number

FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
BIRTH_DATE = re.compile(r"(出生|born|birth)[^\n<]{0,24}?\d{4}[-/年.]\d{1,2}[-/月.]\d{1,2}", re.I)
ALLOWED_PATHS = re.compile(r"/trainees/[^/]+/identity$|roster-template\.xlsx$|/openapi\.json$")
SCANNED_ENTRIES = (".csv", ".json", ".xml", ".txt")
MAX_SCAN = 64 * 1024 * 1024

findings: list[str] = []


def problems_in(text: str) -> list[str]:
    """Full ID numbers (checksum-valid) and birth dates written out in a text."""
    found = [f"ID number {m.group(0)[:4]}…" for m in FULL_ID.finditer(text)
             if is_valid_id_number(m.group(0))]
    found += [f"birth date {m.group(0)[:40]!r}" for m in BIRTH_DATE.finditer(text)]
    return found


def problems_in_bytes(data: bytes, mimetype: str) -> list[str]:
    """Scan an answer's bytes: text as text, XLSX and ZIP entry by entry."""
    if data[:2] == b"PK":
        found = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(SCANNED_ENTRIES) and info.file_size <= MAX_SCAN:
                        found += [f"{info.filename}: {p}" for p in
                                  problems_in(zf.read(info).decode("utf-8", "replace"))]
        except (zipfile.BadZipFile, OSError, ValueError):
            return []
        return found
    if mimetype.startswith(("text/", "application/json")) or mimetype.endswith(("+json", "csv")):
        return problems_in(data.decode("utf-8", "replace"))
    return []


def _record(path: str, found: list[str]) -> None:
    findings.extend(f"{path}: {p}" for p in found)


class _Scanning:
    """Wrap a streamed answer: pass every chunk on, scan the whole once it has been sent."""

    def __init__(self, chunks, path: str, mimetype: str) -> None:
        self.chunks, self.path, self.mimetype = chunks, path, mimetype

    def __iter__(self):
        buffer = bytearray()
        for chunk in self.chunks:
            if len(buffer) < MAX_SCAN:
                buffer += chunk if isinstance(chunk, bytes) else chunk.encode()
            yield chunk
        _record(self.path, problems_in_bytes(bytes(buffer), self.mimetype))

    def close(self) -> None:
        if hasattr(self.chunks, "close"):
            self.chunks.close()


def scan_response(response):
    """after_request: scan what the suite's requests answer."""
    from flask import request

    if ALLOWED_PATHS.search(request.path):
        return response
    if response.is_streamed:
        response.response = _Scanning(response.response, request.path, response.mimetype or "")
        return response
    if not response.direct_passthrough:
        _record(request.path, problems_in_bytes(response.get_data(), response.mimetype or ""))
    return response


class LogScanner(logging.Handler):
    """A log handler that records log lines showing an ID number or a birth date."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call is not this guard's business
            return
        _record(f"log {record.name}", problems_in(message))


def install(app) -> None:
    """Scan every answer of this app."""
    app.after_request(scan_response)


def take_findings() -> list[str]:
    """Return and forget what was found since the last call."""
    found = list(findings)
    findings.clear()
    return found
