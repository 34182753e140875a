"""Run every benchmark in one go (so ratios hold on a noisy machine) and print the figures.

    make bench                      # or: .venv/bin/python bench/run_all.py [--n 10000] [--json
    out.json]

Not a test: it asserts only that the work was really done (every mutation applied, then
every one replayed; the pulled scope complete; each upload stored), never a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench import bench_floor, bench_media, bench_peer, bench_sync  # noqa: E402
from bench.common import (  # noqa: E402
    PG_URL,
    THREADS,
    WORKERS,
    KeepAliveClient,
    fresh_instance,
    gunicorn,
    login,
    pg_reachable,
)
from bench.seed import seed  # noqa: E402

TARGETS = {"push_vs_floor": 0.10, "push_vs_peer": 5.0, "replay_ms": 500.0, "noop_ms": 5.0,
           "pull_s": 1.0, "pull_bytes": 1_000_000, "media_mb_s": 50.0}


def measure(n: int, skip_peer: bool, ids: str = "v7") -> dict:
    """Seed a fresh instance, serve it under gunicorn, run every scenario; return the figures.

    ids: how the pushed records' ids are minted (bench_sync.ID_KINDS; the phone's is "v7").
    """
    figures: dict = {"cpus": os.cpu_count(), "workers": WORKERS, "threads": THREADS,
                     "load": os.getloadavg()}
    with fresh_instance() as instance:
        seeded = seed(instance)
        mutations = bench_sync.make_mutations(seeded, n, ids=ids)
        figures["floor"] = bench_floor.run(mutations)
        with gunicorn(instance) as base:
            # Sync through a lean kept-alive client (bench/common.KeepAliveClient: a phone's one
            # connection, without `requests`' per-request cost on the server's cores); media
            # through `requests`, whose cost is nothing beside 512 KB chunks.
            client = KeepAliveClient(base)
            device_id = "bench-phone-1"
            login(client, base, seeded.inspector, device_id)
            figures["push"] = bench_sync.run_push(client, base, device_id, seeded, n, ids)
            figures["pull"] = bench_sync.run_pull(client, base, seeded)
            session = requests.Session()
            session.headers.update(client.headers)
            figures["media"] = bench_media.run(session, base)
    if pg_reachable(PG_URL):
        figures["postgres"] = measure_postgres(n, ids)
    else:
        figures["postgres"] = {"skipped": f"PostgreSQL at {PG_URL} is not reachable"}
    figures["peer"] = {"skipped": "--skip-peer"} if skip_peer else bench_peer.run(n)
    return figures


def measure_postgres(n: int, ids: str) -> dict:
    """The sync scenarios again with PostgreSQL as the engine (same seed, same gunicorn)."""
    with fresh_instance(PG_URL) as instance:
        seeded = seed(instance)
        with gunicorn(instance) as base:
            client = KeepAliveClient(base)
            device_id = "bench-phone-pg"
            login(client, base, seeded.inspector, device_id)
            return {"push": bench_sync.run_push(client, base, device_id, seeded, n, ids),
                    "pull": bench_sync.run_pull(client, base, seeded)}


def report(f: dict) -> str:
    """Format the figures with their targets."""
    push, floor, peer, pull, media = f["push"], f["floor"], f["peer"], f["pull"], f["media"]
    ok = {True: "ok", False: "MISSED"}
    vs_floor = push["per_s"] / floor["per_s"]
    lines = [
        f"Spotcheck benchmark: {f['cpus']} CPUs, load average {f['load'][0]:.1f} / "
        f"{f['load'][1]:.1f} / {f['load'][2]:.1f} at the start, gunicorn "
        f"{f['workers']} gthread workers x {f['threads']} threads on 127.0.0.1",
        "",
        "SQLite (WAL, synchronous=FULL)",
        f"push ingest     {push['n']:>6} signin.create in batches of 100 "
        f"(~{push['bytes_per_mutation']:.0f} B each, {push['ids']} ids): {push['seconds']:.2f} s = "
        f"{push['per_s']:,.0f} mutations/s",
        f"  raw floor     sqlite3.executemany, same rows (sign-ins + ledger), one transaction: "
        f"{floor['per_s']:,.0f} mutations/s (2 rows each) -> push is {vs_floor:.3f} x the floor  "
        f"[target >= {TARGETS['push_vs_floor']}: {ok[vs_floor >= TARGETS['push_vs_floor']]}]",
    ]
    if "per_s" in peer:
        ratio = push["per_s"] / peer["per_s"]
        lines.append(
            f"  peer          PouchDB -> pouchdb-server, {peer['n']} docs of "
            f"~{peer['doc_bytes']:.0f} B: "
            f"{peer['per_s']:,.0f} docs/s -> push is {ratio:.2f} x the peer  "
            f"[target >= {TARGETS['push_vs_peer']:.0f}: {ok[ratio >= TARGETS['push_vs_peer']]}]")
    else:
        lines.append(f"  peer          skipped ({peer['skipped']})")
    lines += _sync_lines(push, pull, ok)
    lines += [
        f"full pull       {pull['trainees']} trainees, {pull['sessions']} sessions, "
        f"{pull['changes']} changes in {pull['pages']} page(s): {pull['seconds']:.3f} s, "
        f"{pull['wire_bytes']:,} B {'gzipped' if pull['gzip'] else 'NOT gzipped'}  "
        f"[target < 1 s: {ok[pull['seconds'] < TARGETS['pull_s']]}, < 1 MB: "
        f"{ok[pull['wire_bytes'] < TARGETS['pull_bytes']]}]",
        f"media upload    {media['bytes']:,} B JPEG in {media['chunks']} x 512 KB chunks: "
        f"{media['median_s'] * 1000:.0f} ms = {media['mb_per_s']:.1f} MB/s  "
        f"[target >= 50: {ok[media['mb_per_s'] >= TARGETS['media_mb_s']]}]",
        "",
    ]
    pg = f["postgres"]
    if "push" not in pg:
        lines.append(f"PostgreSQL: skipped ({pg['skipped']})")
        return "\n".join(lines)
    pg_push, pg_pull = pg["push"], pg["pull"]
    lines += [
        f"PostgreSQL ({PG_URL.rpartition('@')[2]})",
        f"push ingest     {pg_push['n']:>6} signin.create in batches of 100: "
        f"{pg_push['seconds']:.2f} s = {pg_push['per_s']:,.0f} mutations/s"
        + (f" -> {pg_push['per_s'] / peer['per_s']:.2f} x the peer" if "per_s" in peer else ""),
        *_sync_lines(pg_push, pg_pull, ok),
        f"full pull       {pg_pull['changes']} changes: {pg_pull['seconds']:.3f} s, "
        f"{pg_pull['wire_bytes']:,} B",
    ]
    return "\n".join(lines)


def _sync_lines(push: dict, pull: dict, ok: dict) -> list[str]:
    # The figure is for 10,000 mutations; a shorter run (--n) is held to its share.
    replay_target = TARGETS["replay_ms"] * push["n"] / 10_000
    return [
        f"repeat push     same {push['n']} again, all replayed: {push['replay_ms']:,.0f} ms  "
        f"[target < {replay_target:.0f} ms for {push['n']} (500 per 10,000): "
        f"{ok[push['replay_ms'] < replay_target]}]",
        f"no-op pull      from the last cursor: {pull['noop_ms']:.1f} ms  "
        f"[target < {TARGETS['noop_ms']:.0f} ms: {ok[pull['noop_ms'] < TARGETS['noop_ms']]}]",
    ]


def main() -> None:
    """Parse options, measure, print, optionally save the raw figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="mutations to push (default 10000)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run PouchDB")
    parser.add_argument("--ids", choices=bench_sync.ID_KINDS, default="v7",
                        help="record ids of the pushed sign-ins: v7 as the phone mints them "
                             "(default), or random v4 as older app versions did")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    figures = measure(args.n, args.skip_peer, args.ids)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
