"""Sync over real HTTP: push ingest, replayed push, no-op pull, full pull of a large scope."""

from __future__ import annotations

import gzip
import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from bench.common import KeepAliveClient, median, timed
from bench.seed import Seeded

BATCH = 100
SIGNINS_PER_VISIT = 100


def utc_iso(value: datetime) -> str:
    """ISO 8601 UTC with Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# How the phone mints record ids (pwa/src/ids.js): UUIDv7, time-ordered, since 2026-12-07.
# "v4" mints random ids, as phones did before (and as any client still may: the server takes both).
ID_KINDS = ("v7", "v4")


def uuid7(unix_ms: int, rng: random.Random) -> uuid.UUID:
    """A version 7 UUID (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits.

    Built here, not with a library, so the bench's ids come from its seeded generator (the same
    run gives the same ids); the PWA mints them with the `uuid` package's v7().
    """
    rand = rng.getrandbits(74)
    return uuid.UUID(int=(unix_ms & (1 << 48) - 1) << 80 | 0x7 << 76 | (rand >> 62) << 64
                     | 0b10 << 62 | rand & (1 << 62) - 1)


def record_id(ids: str, unix_ms: int, rng: random.Random) -> str:
    """A record id of kind `ids` (ID_KINDS): a v7 minted at unix_ms, or a random v4."""
    if ids == "v7":
        return str(uuid7(unix_ms, rng))
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_mutations(seeded: Seeded, n: int, seed: int = 7, ids: str = "v7") -> list[dict]:
    """Build n signin.create mutations (seq 1..n) as a phone's outbox holds them.

    Each is a manual sign-in with a GPS fix and a signature hash: the richest sign-in the
    contract allows without a badge token. Visits get 100 sign-ins each, cycling the roster.
    ids: "v7" (the phone's: each id minted at its sign-in's time) or "v4" (random).
    """
    if ids not in ID_KINDS:
        raise ValueError(f"ids must be one of {ID_KINDS}, not {ids!r}")
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    client_time = utc_iso(start + timedelta(hours=2))
    mutations = []
    visit_id = ""
    for i in range(n):
        at = start + timedelta(seconds=i)
        unix_ms = int(at.timestamp() * 1000)
        if i % SIGNINS_PER_VISIT == 0:
            visit_id = record_id(ids, unix_ms, rng)
        mutations.append({
            "mutation_id": record_id(ids, unix_ms, rng),
            "seq": i + 1,
            "type": "signin.create",
            "entity_id": record_id(ids, unix_ms, rng),
            "client_time": client_time,
            "base": {"plan_version_id": seeded.plan_version_id},
            "payload": {
                "visit_id": visit_id, "class_id": seeded.class_id,
                "trainee_id": seeded.trainee_ids[i % len(seeded.trainee_ids)],
                "method": "manual", "at": utc_iso(at),
                "gps": {"lat": 36.7075 + rng.uniform(-1e-4, 1e-4),
                        "lon": 119.1610 + rng.uniform(-1e-4, 1e-4),
                        "accuracy": round(rng.uniform(5, 30), 1), "captured_at": utc_iso(at),
                        "mocked": False},
                "signature_sha256": f"{rng.getrandbits(256):064x}",
            },
        })
    return mutations


def push_all(session: KeepAliveClient, base: str, device_id: str,
             mutations: list[dict]) -> list[dict]:
    """POST the outbox in batches of 100 (each body encoded here, in the timed loop); return
    every result."""
    results = []
    for i in range(0, len(mutations), BATCH):
        response = session.post(base + "/api/v1/sync/push", json={
            "device_id": device_id, "mutations": mutations[i:i + BATCH]})
        assert response.status_code == 200, response.text[:500]
        results.extend(response.json()["results"])
    return results


def pull_all(session: KeepAliveClient, base: str, cursor: str | None = None,
             limit: int = 1000) -> dict:
    """Pull every page asking for gzip; return changes, cursor, pages and bytes on the wire."""
    changes, pages, wire = [], 0, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = session.get(base + "/api/v1/sync/pull", params=params,
                               headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, response.text[:500]
        raw = response.content  # as on the wire: the client does not decode gzip
        wire += len(raw)
        gzipped = response.headers.get("Content-Encoding") == "gzip"
        body = orjson.loads(gzip.decompress(raw) if gzipped else raw)
        pages += 1
        changes.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return {"changes": changes, "cursor": cursor, "pages": pages, "wire_bytes": wire,
                    "gzip": gzipped}


def run_push(session: KeepAliveClient, base: str, device_id: str, seeded: Seeded,
             n: int = 10_000, ids: str = "v7") -> dict:
    """Push n fresh mutations (record ids of kind `ids`), then the same n again (all replayed)."""
    mutations = make_mutations(seeded, n, ids=ids)
    wire = len(orjson.dumps({"device_id": device_id, "mutations": mutations[:BATCH]}))
    seconds, results = timed(lambda: push_all(session, base, device_id, mutations))
    statuses = {r["status"] for r in results}
    assert len(results) == n and statuses <= {"applied", "flagged"}, statuses
    replay_s, replayed = timed(lambda: push_all(session, base, device_id, mutations))
    assert all(r["replayed"] for r in replayed) and len(replayed) == n
    return {
        "n": n, "ids": ids, "seconds": seconds, "per_s": n / seconds,
        "bytes_per_mutation": wire / BATCH, "statuses": sorted(statuses),
        "replay_ms": replay_s * 1000,
    }


def run_pull(session: KeepAliveClient, base: str, seeded: Seeded, runs: int = 3) -> dict:
    """Full pull of the scope (median of runs), then no-op pulls from the last cursor."""
    fulls = [timed(lambda: pull_all(session, base)) for _ in range(runs)]
    seconds = [s for s, _ in fulls]
    page = fulls[-1][1]
    versions = [c for c in page["changes"] if c["type"] == "plan_version"]
    trainees = sum(len(c["data"]["roster"]) for c in versions)
    sessions = sum(len(c["data"]["sessions"]) for c in versions)
    assert (trainees, sessions) == (seeded.trainees, seeded.sessions), (trainees, sessions)
    noops = [timed(lambda: pull_all(session, base, page["cursor"]))[0] for _ in range(5)]
    return {
        "seconds": median(seconds), "all_seconds": seconds, "wire_bytes": page["wire_bytes"],
        "gzip": page["gzip"], "pages": page["pages"], "changes": len(page["changes"]),
        "trainees": trainees, "sessions": sessions, "noop_ms": median(noops) * 1000,
    }
