"""Load test: a morning when every inspector syncs at once.

Simulates N inspectors (default 200) against gunicorn (2 workers by default) on PostgreSQL at
127.0.0.1. Each inspector has logged in the day before (timed apart: scrypt is slow on purpose);
in the morning each pulls its scope page by page, uploads 3 photos through tus, pushes a sealed
visit plus its sign-ins, then retries the same push as a phone would after a lost response.
Afterwards it counts rows to show that nothing was lost or duplicated.

    .venv/bin/python bench/load_test.py [--inspectors 200] [--concurrency 40] [--workers 2]

Only loopback traffic; every request has a timeout; the run stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_sync import uuid7  # noqa: E402
from bench.common import ClientError, KeepAliveClient  # noqa: E402
from sync.canonical import compute_seal  # noqa: E402

# The random bits of the inspectors' record ids (the OS's generator, shared by the threads).
_ID_BITS = random.SystemRandom()
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "load-test-pw"
TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def seed(env: dict, inspectors: int, facts_path: Path) -> dict:
    """Migrate, seed the test world and N inspectors of county A, each with an assignment."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    code = f"""
import json
from server import create_app
from server.extensions import db
from server.models import User
from server.services.assignments import create_assignment
from server.services.auth import hash_password
from tests.e2e.seed import seed_world
app = create_app()
with app.app_context():
    facts = seed_world()
    from server.models import County
    county = db.session.query(County).filter_by(name="奎文区").one()
    names = []
    for i in range({inspectors}):
        user = User(username=f"load{{i:04d}}", display_name=f"抽查员{{i}}", role="inspector",
                    county_id=county.id, password_hash=hash_password({PASSWORD!r}))
        db.session.add(user)
        names.append(user.username)
    db.session.commit()
    facts["inspectors"] = names
    json.dump(facts, open({str(facts_path)!r}, "w"))
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return json.loads(facts_path.read_text())


def jpeg_bytes(rng: random.Random) -> bytes:
    """A unique ~40 KB JPEG (noise, so every photo has its own hash)."""
    from PIL import Image

    image = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3)).resize((640, 480))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []

    def timed(self, kind: str, fn, *args, ok=(200, 201, 204), **kwargs):
        started = time.perf_counter()
        try:
            response = fn(*args, timeout=TIMEOUT, **kwargs)
        except (requests.RequestException, ClientError) as error:
            with self.lock:
                self.errors[kind] += 1
                self.error_samples.append(f"{kind}: {error!r}")
            raise
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
            if response.status_code not in ok:
                self.errors[kind] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{kind}: {response.status_code} "
                                              f"{response.text[:300]}")
        return response


def log_in(base: str, username: str, rec: Recorder) -> str:
    """The day before (DESIGN §3, Prepare): the phone logs in and keeps its token for days."""
    response = rec.timed("login (day before)", requests.post, f"{base}/api/v1/auth/token",
                         json={"username": username, "password": PASSWORD,
                               "device_id": f"load-{username}"})
    return response.json()["token"]


def run_inspector(base: str, username: str, token: str, facts: dict, rec: Recorder,
                  photos_taken: list[bytes], http: KeepAliveClient | None = None) -> None:
    """One inspector's sync morning: pull, 3 photos, push, retry the push.

    `http` is a fresh kept-alive connection (bench/common.KeepAliveClient: a phone's one
    connection, and a load generator that leaves the shared cores to the server) unless given
    (bench/profile_morning.py passes one that calls the app in its own process).
    """
    http = http or KeepAliveClient(base, timeout=TIMEOUT)
    device = f"load-{username}"
    http.headers["Authorization"] = f"Bearer {token}"
    cursor = None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = rec.timed("pull", http.get, f"{base}/api/v1/sync/pull", params=params).json()
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    photos = []
    for data in photos_taken:
        sha = hashlib.sha256(data).hexdigest()
        meta = (f"sha256 {base64.b64encode(sha.encode()).decode()},"
                f"mime {base64.b64encode(b'image/jpeg').decode()}")
        created = rec.timed("upload_create", http.post, f"{base}/api/v1/media/uploads", headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta})
        location = created.headers.get("Location")
        if location and created.headers.get("Upload-Offset") != str(len(data)):
            url = location if location.startswith("http") else base + location
            rec.timed("upload_patch", http.patch, url, data=data, headers={
                "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"})
        photos.append({"sha256": sha, "caption": "现场照片"})
    # Record ids as the phone mints them (pwa/src/ids.js): time-ordered UUIDv7.
    def record_id() -> str:
        return str(uuid7(time.time_ns() // 1_000_000, _ID_BITS))

    visit_id = record_id()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    site = facts["sites"]["a"]
    roster = facts["roster"]["a"]
    mutations = []
    for seq, trainee in enumerate(roster[:3], start=1):
        mutations.append({"mutation_id": record_id(), "seq": seq, "type": "signin.create",
                          "entity_id": record_id(), "client_time": now,
                          "base": {"plan_version_id": facts["versions"]["a"]},
                          "payload": {"visit_id": visit_id, "class_id": facts["classes"]["a"],
                                      "trainee_id": trainee, "method": "manual", "at": now}})
    payload = {
        "class_id": facts["classes"]["a"], "session_id": facts["sessions"]["a"],
        "assignment_id": facts["assignment_id"], "plan_version_id": facts["versions"]["a"],
        "started_at": now, "ended_at": now,
        "gps": {"lat": site["lat"], "lon": site["lon"], "accuracy": 12, "captured_at": now},
        "observed": {"teacher_matches": True, "content_matches": True, "headcount": 3},
        "signins": [m["entity_id"] for m in mutations], "findings": [], "verdict": "compliant",
        "signatures": [], "photos": photos,
    }
    payload["seal"] = compute_seal(payload)
    mutations.append({"mutation_id": record_id(), "seq": len(mutations) + 1,
                      "type": "visit.submit",
                      "entity_id": visit_id, "client_time": now,
                      "base": {"plan_version_id": facts["versions"]["a"]}, "payload": payload})
    body = {"device_id": device, "mutations": mutations}
    first = rec.timed("push", http.post, f"{base}/api/v1/sync/push", json=body).json()
    again = rec.timed("push_retry", http.post, f"{base}/api/v1/sync/push", json=body).json()
    refused = [r for r in first["results"] if r["status"] not in {"applied", "flagged"}]
    not_replayed = [r for r in again["results"] if not r["replayed"]]
    if refused or not_replayed:
        with rec.lock:
            rec.errors["push_semantics"] += 1
            rec.error_samples.append(f"push results: refused {refused[:1]} / not replayed "
                                     f"{not_replayed[:1]}")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_snapshot(server_pid: int, url: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn processes, this process and the database's backends.

    Read before and after the morning: where the two cores went (the server, the load
    generator itself, PostgreSQL). Reading it costs a few /proc reads and one query.
    """
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
    return {
        "gunicorn": {pid: _cpu_seconds(pid) for pid in [server_pid, *_children(server_pid)]},
        "load generator": {os.getpid(): _cpu_seconds(os.getpid())},
        "PostgreSQL": {pid: _cpu_seconds(pid) for pid in backends},
    }


def cpu_used(before: dict[str, dict[int, float]],
             after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots (a process born meanwhile counts from 0)."""
    return {group: sum(seconds - before[group].get(pid, 0.0) for pid, seconds in pids.items())
            for group, pids in after.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (Linux)."""
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per gthread worker (default 2: bench/common.THREADS)")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"),
                        help="gunicorn's worker class (sync serves one request at a time per "
                             "worker and closes each connection; --threads is then ignored)")
    parser.add_argument("--database", default="spotcheck_load")
    args = parser.parse_args()

    print(f"load average at the start {load_average()}")
    tmp = Path(tempfile.mkdtemp(prefix="spotcheck-load-"))
    url = fresh_database(args.database)
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="load-test", MEDIA_DIR=str(tmp / "media"),
               PYTHONPATH=str(ROOT))
    facts = seed(env, args.inspectors, tmp / "facts.json")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", args.worker_class,
         "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "gunicorn.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/api/v1/openapi.json", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        rec = Recorder()
        # Logins happen the day before, not in the morning rush: done first, reported apart.
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            tokens = list(pool.map(lambda name: log_in(base, name, rec), facts["inspectors"]))
        # The photos were taken during the visits: made before the clock starts.
        album = [[jpeg_bytes(random.Random(i * 3 + k)) for k in range(3)]
                 for i in range(len(tokens))]
        cpu_before = cpu_snapshot(server.pid, url)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            futures = [pool.submit(run_inspector, base, name, token, facts, rec, album[i])
                       for i,
                       (name, token) in enumerate(zip(facts["inspectors"], tokens, strict=True))]
            crashed = sum(1 for f in futures if f.exception(timeout=600) is not None)
        elapsed = time.perf_counter() - started
        cpu = cpu_used(cpu_before, cpu_snapshot(server.pid, url))
    finally:
        server.terminate()
        server.wait(timeout=30)

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("visit", "sign_in", "media", "sync_ledger")}
        dup_visits = conn.execute("SELECT count(*) FROM (SELECT seal FROM visit GROUP BY seal "
                                  "HAVING count(*) > 1) d").fetchone()[0]
    requests_total = sum(len(v) for k, v in rec.latencies.items() if not k.startswith("login"))
    print(f"# Load test: {args.inspectors} inspectors, concurrency {args.concurrency}, "
          f"gunicorn {args.workers} {args.worker_class} workers"
          + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
          + ", PostgreSQL")
    print(f"sync morning: wall time {elapsed:.1f} s, {requests_total} requests, "
          f"{requests_total / elapsed:.0f} req/s, "
          f"{args.inspectors / elapsed:.1f} inspectors/s, crashed inspector scripts {crashed}")
    print("CPU during the morning: " + ", ".join(
        f"{group} {seconds:.1f} s ({seconds / elapsed * 100:.0f} % of one core)"
        for group, seconds in cpu.items()) + f"; load average {load_average()}")
    print("| request | n | p50 ms | p95 ms | p99 ms | mean ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, values in sorted(rec.latencies.items()):
        print(f"| {kind} | {len(values)} | {percentile(values, .5) * 1000:.0f} | "
              f"{percentile(values, .95) * 1000:.0f} | {percentile(values, .99) * 1000:.0f} | "
              f"{statistics.mean(values) * 1000:.0f} | {rec.errors.get(kind, 0)} |")
    print(f"rows: {counts}; duplicate visits: {dup_visits}")
    expected = {"visit": args.inspectors, "sign_in": 3 * args.inspectors,
                "media": 3 * args.inspectors, "sync_ledger": 4 * args.inspectors}
    lost = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    print("nothing lost or duplicated" if not lost and not dup_visits
          else f"MISMATCH (got, expected): {lost}")
    for sample in rec.error_samples[:10]:
        print("error:", sample)
    errors = sum(rec.errors.values()) + crashed
    return 0 if errors == 0 and not lost and not dup_visits else 1


if __name__ == "__main__":
    sys.exit(main())
