"""Where the server's time goes in the load test's morning, per request kind, without queueing.

Seeds a fresh PostgreSQL database exactly as `bench/load_test.py` does, then plays each
inspector's morning (pull pages, 3 tus uploads, the sealed push, the same push again) one
request at a time through the app in this process (Flask's test client, no HTTP, no threads).
Per kind it prints the service time (p50, mean) and the SQL statements per request; with
`--profile KIND` a cProfile of that kind's requests only (top functions by own or cumulative
time).

    .venv/bin/python bench/profile_morning.py [--inspectors 60] [--database NAME]
        [--profile push] [--sort tottime|cumulative] [--top 40]

Not a test: it asserts nothing about time; a run stops by itself.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.load_test import (  # noqa: E402
    Recorder,
    fresh_database,
    jpeg_bytes,
    run_inspector,
    seed,
)


class _Response:
    """The few parts of a `requests` response the load test's inspector script reads."""

    def __init__(self, response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.get_data(as_text=True)

    def json(self):
        return self._response.get_json()


class InProcessSession:
    """A `requests.Session` look-alike that sends each request to the app in this process."""

    def __init__(self, client, base: str) -> None:
        self.client = client
        self.base = base
        self.headers: dict[str, str] = {}

    def _open(self, method: str, url: str, *, params=None, json=None, data=None, headers=None,
              timeout=None):
        path = url[len(self.base):] if url.startswith(self.base) else url
        response = self.client.open(path, method=method, query_string=params, json=json,
                                    data=data, headers={**self.headers, **(headers or {})})
        return _Response(response)

    def get(self, url, **kwargs):
        return self._open("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._open("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._open("PATCH", url, **kwargs)


class Meter(Recorder):
    """The load test's recorder, also counting SQL statements and CPU per request kind."""

    def __init__(self, profile_kind: str | None) -> None:
        super().__init__()
        self.statements: dict[str, list[int]] = defaultdict(list)
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.profile_kind = profile_kind
        # Wall time (a CPU-time timer costs a system call per function call and skews the view).
        self.profiler = cProfile.Profile() if profile_kind else None
        self._count = threading.local()
        self.show_kind: str | None = None
        self.shown: list[str] = []
        self.shown_done: set[str] = set()

    def on_statement(self, conn, cursor, statement, *args) -> None:
        self._count.n = getattr(self._count, "n", 0) + 1
        kind = getattr(self._count, "kind", None)
        if kind is not None and kind == self.show_kind and kind not in self.shown_done:
            self.shown.append(" ".join(statement.split())[:300])

    def timed(self, kind, fn, *args, **kwargs):
        self._count.n = 0
        self._count.kind = kind
        cpu = time.process_time()
        profiling = self.profiler is not None and self.profile_kind in (kind, "all")
        if profiling:
            self.profiler.enable()
        try:
            return super().timed(kind, fn, *args, **kwargs)
        finally:
            if profiling:
                self.profiler.disable()
            self.cpu[kind].append(time.process_time() - cpu)
            self.statements[kind].append(self._count.n)
            if kind == self.show_kind:
                self.shown_done.add(kind)
            self._count.kind = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inspectors", type=int, default=60)
    parser.add_argument("--database", default="spotcheck_profile")
    parser.add_argument("--profile", help="request kind to profile (pull, push, upload_patch…)")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--sql", help="request kind whose SQL statements to print (once)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--only", help="regex of the file names to list (e.g. 'server/')")
    parser.add_argument("--warmup", type=int, default=5,
                        help="inspectors played first and left out of the figures")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="spotcheck-profile-"))
    url = fresh_database(args.database)
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="load-test",
               MEDIA_DIR=str(tmp / "media"), PYTHONPATH=str(ROOT))
    total = args.inspectors + args.warmup
    facts = seed(env, total, tmp / "facts.json")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "MEDIA_DIR")})

    import wsgi  # noqa: PLC0415 (the app as gunicorn builds it, gc.freeze included)
    from server.extensions import db  # noqa: PLC0415
    from server.models import User  # noqa: PLC0415
    from server.services.auth import issue_token  # noqa: PLC0415

    app = wsgi.app
    # The day before: a token per inspector (the login itself is not part of the morning).
    tokens = []
    with app.app_context():
        users = {u.username: u for u in db.session.query(User).filter(
            User.username.in_(facts["inspectors"]))}
        for name in facts["inspectors"]:
            raw, _ = issue_token(users[name], f"load-{name}")
            tokens.append(raw)
        db.session.commit()
        engine = db.engine
    album = [[jpeg_bytes(random.Random(i * 3 + k)) for k in range(3)] for i in range(total)]

    base = "http://localhost"
    warm = Meter(None)
    meter = Meter(args.profile)
    meter.show_kind = args.sql
    event.listen(engine, "before_cursor_execute", meter.on_statement)
    event.listen(engine, "before_cursor_execute", warm.on_statement)
    client = app.test_client()
    for i, (name, token) in enumerate(zip(facts["inspectors"], tokens, strict=True)):
        rec = warm if i < args.warmup else meter
        run_inspector(base, name, token, facts, rec, album[i], InProcessSession(client, base))

    errors = sum(meter.errors.values()) + sum(warm.errors.values())
    print(f"# In-process morning: {args.inspectors} inspectors one after another "
          f"(+{args.warmup} warm-up), PostgreSQL; load average "
          f"{open('/proc/loadavg').read().split()[0]}")
    print("| request | n | p50 ms | mean ms | CPU ms (mean) | SQL statements (mean) | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, values in sorted(meter.latencies.items()):
        print(f"| {kind} | {len(values)} | {statistics.median(values) * 1000:.1f} | "
              f"{statistics.mean(values) * 1000:.1f} | "
              f"{statistics.mean(meter.cpu[kind]) * 1000:.1f} | "
              f"{statistics.mean(meter.statements[kind]):.1f} | {meter.errors.get(kind, 0)} |")
    total_cpu = sum(sum(v) for v in meter.cpu.values())
    print(f"CPU per inspector's morning: {total_cpu / args.inspectors * 1000:.1f} ms")
    for sample in (meter.error_samples + warm.error_samples)[:10]:
        print("error:", sample)
    for number, statement in enumerate(meter.shown, start=1):
        print(f"{number:3} {statement}")
    if meter.profiler is not None:
        out = io.StringIO()
        pstats.Stats(meter.profiler, stream=out).sort_stats(args.sort).print_stats(
            *([args.only] if args.only else []), args.top)
        print(out.getvalue())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
