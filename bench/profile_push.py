"""Profile the push hot path in one process: the bench's own mutations, no HTTP, no gunicorn.

    .venv/bin/python bench/profile_push.py [--n 2000] [--pg URL] [--profile push|replay] [--http]

Seeds a fresh instance (bench/seed.py), logs in through the real endpoint, pushes the
bench's signin.create mutations (bench_sync.make_mutations) in batches of 100 through Flask's
test client (the route, the token check, the schema, the ledger, the inserts, the flags, the
commit), then pushes them all again (every one replayed). Prints the time per batch and per
sign-in of both, wall clock and this process's CPU (steadier on a shared machine); with
--profile, the cProfile of that phase (cumulative, top entries).
Not a test and not the bench: the figures leave out HTTP and gunicorn (bench/run_all.py has them);
--http pushes the same way to the bench's gunicorn instead (no profile: the work is in its workers).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_sync  # noqa: E402
from bench.common import (  # noqa: E402
    PASSWORD,
    SECRET,
    KeepAliveClient,
    fresh_instance,
    gunicorn,
    login,
)
from bench.seed import seed  # noqa: E402


def _push(client, headers: dict, device_id: str, mutations: list[dict]) -> list[dict]:
    results = []
    for i in range(0, len(mutations), bench_sync.BATCH):
        response = client.post("/api/v1/sync/push", headers=headers, json={
            "device_id": device_id, "mutations": mutations[i:i + bench_sync.BATCH]})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        results.extend(response.get_json()["results"])
    return results


def main() -> None:
    """Seed, push, replay; print the figures (and a profile when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sign-ins to push (default 2000)")
    parser.add_argument("--pg", default="", help="a PostgreSQL URL to use (recreated) instead "
                                                 "of SQLite")
    parser.add_argument("--profile", choices=("push", "replay"), help="profile this phase")
    parser.add_argument("--http", action="store_true", help="push to gunicorn over HTTP")
    parser.add_argument("--ids", choices=bench_sync.ID_KINDS, default="v7",
                        help="record ids: v7 as the phone mints them (default) or random v4")
    parser.add_argument("--top", type=int, default=45, help="profile entries to print")
    parser.add_argument("--sort", default="cumulative", help="profile sort key")
    args = parser.parse_args()

    if args.http:
        http(args)
        return
    from server import create_app

    with fresh_instance(args.pg) as instance:
        seeded = seed(instance)
        app = create_app({"DATABASE_URL": instance.database_url,
                          "MEDIA_DIR": str(instance.media_dir), "SECRET_KEY": SECRET})
        client = app.test_client()
        device_id = "profile-phone"
        token = client.post("/api/v1/auth/token", json={
            "username": seeded.inspector, "password": PASSWORD, "device_id": device_id})
        headers = {"Authorization": "Bearer " + token.get_json()["token"]}
        mutations = bench_sync.make_mutations(seeded, args.n, ids=args.ids)
        # One batch first, outside the figures: imports, compiled statements, warm caches.
        _push(client, headers, device_id, mutations[:bench_sync.BATCH])
        rest = mutations[bench_sync.BATCH:]
        batches = len(rest) / bench_sync.BATCH
        for phase in ("push", "replay"):
            profiler = cProfile.Profile() if args.profile == phase else None
            start, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            results = _push(client, headers, device_id, rest)
            if profiler:
                profiler.disable()
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            replayed = all(r["replayed"] for r in results)
            assert replayed == (phase == "replay"), phase
            print(f"{instance.engine} {phase}: {seconds / batches * 1000:.2f} ms per batch of "
                  f"{bench_sync.BATCH}, {seconds / len(rest) * 1e6:.0f} µs per sign-in, "
                  f"{len(rest) / seconds:,.0f}/s; this process's CPU {cpu / len(rest) * 1e6:.0f} "
                  f"µs per sign-in{' (profiled)' if profiler else ''}")
            if profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        with app.app_context():
            from server.extensions import db
            db.session.remove()
            db.engine.dispose()


def http(args: argparse.Namespace) -> None:
    """The same two phases over HTTP to the bench's gunicorn (bench_sync.push_all)."""
    with fresh_instance(args.pg) as instance:
        seeded = seed(instance)
        mutations = bench_sync.make_mutations(seeded, args.n, ids=args.ids)
        with gunicorn(instance) as base:
            session = KeepAliveClient(base)
            login(session, base, seeded.inspector, "profile-phone")
            bench_sync.push_all(session, base, "profile-phone", mutations[:bench_sync.BATCH])
            rest = mutations[bench_sync.BATCH:]
            for phase in ("push", "replay"):
                start = time.perf_counter()
                bench_sync.push_all(session, base, "profile-phone", rest)
                seconds = time.perf_counter() - start
                print(f"{instance.engine} {phase} over HTTP: {seconds / len(rest) * 1e5:.2f} ms "
                      f"per batch of {bench_sync.BATCH}, {len(rest) / seconds:,.0f}/s")


if __name__ == "__main__":
    main()
