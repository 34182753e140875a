"""The raw floor: the rows a push of sign-ins stores, through stdlib sqlite3, one transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable


def _rows(mutations: list[dict], user_id: str, device_id: str) -> tuple[list[tuple], list[tuple]]:
    """The sign_in and sync_ledger rows the server writes for these mutations."""
    received = "2026-03-02 03:00:00.000000"
    signins, ledger = [], []
    for m in mutations:
        p = m["payload"]
        signins.append((
            uuid.UUID(m["entity_id"]).hex, uuid.UUID(p["visit_id"]).hex,
            uuid.UUID(p["trainee_id"]).hex, p["method"], None, p["at"], json.dumps(p["gps"]),
            p["signature_sha256"], device_id, user_id, received, "[]",
            hashlib.sha256(m["entity_id"].encode()).hexdigest()))
        result = {"mutation_id": m["mutation_id"], "seq": m["seq"], "status": "applied",
                  "replayed": False}
        ledger.append((device_id, m["seq"], uuid.UUID(m["mutation_id"]).hex, user_id, m["type"],
                       uuid.UUID(m["entity_id"]).hex, "applied", json.dumps(result), received))
    return signins, ledger


def run(mutations: list[dict], runs: int = 3) -> dict:
    """Insert the rows (sign-ins + ledger) with executemany in one transaction; median rows/s."""
    from server.models import SignIn, SyncLedger

    user_id, device_id = uuid.uuid4().hex, "bench-phone-1"
    signins, ledger = _rows(mutations, user_id, device_id)
    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="spotcheck-floor-") as tmp:
            conn = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
            # The app's own pragmas (server/__init__.py), minus foreign keys: no parent tables here.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            for table in (SignIn.__table__, SyncLedger.__table__):
                conn.execute(str(CreateTable(table).compile(dialect=sqlite.dialect())))
            start = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO sign_in (id, visit_id, trainee_id, method, badge_token, at, gps, "
                "signature_sha256, device_id, user_id, received_at, flags, row_seal) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", signins)
            conn.executemany(
                "INSERT INTO sync_ledger (device_id, seq, mutation_id, user_id, type, entity_id, "
                "status, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger)
            conn.execute("COMMIT")
            seconds.append(time.perf_counter() - start)
            conn.close()
    median = sorted(seconds)[len(seconds) // 2]
    return {"n": len(mutations), "seconds": median, "all_seconds": seconds,
            "per_s": len(mutations) / median}
