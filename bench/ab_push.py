"""Interleaved A/B of the push path: two checkouts, each under its own gunicorn, fed in turn.

    .venv/bin/python bench/ab_push.py OLD_CHECKOUT NEW_CHECKOUT [--n 10000] [--ids v4,v7]
                                      [--pg postgresql://postgres@127.0.0.1:5432/spotcheck_ab]

Each side gets a fresh instance (seeded by bench/seed.py; on PostgreSQL the databases
<name>_a and <name>_b) and the bench's sign-ins (bench_sync.make_mutations), minted with that
side's kind of id. Batch i goes to one side, then to the other (the order swapping each batch),
so both see the same noise on a shared machine: where `make bench` alone drifts by up to 2x
between runs, the two means stay comparable. Prints each side's median and mean time per batch
of 100 over HTTP. Not a test; asserts only that every batch was accepted.
A checkout needs its own built app (`make setup` there, or a venv link and `pwa/dist`).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_sync  # noqa: E402
from bench.common import KeepAliveClient, fresh_instance, gunicorn, login  # noqa: E402
from bench.seed import seed  # noqa: E402


def main() -> None:
    """Start both sides, push in turn, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="checkout A (served by its own wsgi.py)")
    parser.add_argument("new", type=Path, help="checkout B")
    parser.add_argument("--n", type=int, default=10_000, help="sign-ins per side")
    parser.add_argument("--ids", default="v7,v7",
                        help="each side's record ids, A,B (v4 or v7; default v7,v7)")
    parser.add_argument("--pg", default="", help="a PostgreSQL URL whose name gets _a and _b")
    args = parser.parse_args()
    if args.n < 5 * bench_sync.BATCH:
        parser.error(f"--n: at least {5 * bench_sync.BATCH} (the first 3 batches are warm-up)")
    kinds = args.ids.split(",")
    if len(kinds) != 2 or not set(kinds) <= set(bench_sync.ID_KINDS):
        parser.error(f"--ids: two of {bench_sync.ID_KINDS}, comma-separated")
    with contextlib.ExitStack() as stack:
        sides = []
        for label, root, kind in (("A", args.old, kinds[0]), ("B", args.new, kinds[1])):
            instance = stack.enter_context(
                fresh_instance(f"{args.pg}_{label.lower()}" if args.pg else ""))
            seeded = seed(instance)
            base = stack.enter_context(gunicorn(instance, root=root.resolve()))
            client = KeepAliveClient(base)
            login(client, base, seeded.inspector, "ab-phone")
            sides.append((label, root, kind, client, base,
                          bench_sync.make_mutations(seeded, args.n, ids=kind), []))
        for start in range(0, args.n, bench_sync.BATCH):
            order = sides if (start // bench_sync.BATCH) % 2 else sides[::-1]
            for _, _, _, client, base, mutations, seconds in order:
                began = time.perf_counter()
                response = client.post(base + "/api/v1/sync/push", json={
                    "device_id": "ab-phone",
                    "mutations": mutations[start:start + bench_sync.BATCH]})
                seconds.append(time.perf_counter() - began)
                assert response.status_code == 200, response.text[:300]
    for label, root, kind, _, _, _, seconds in sides:
        steady = seconds[3:]  # the first batches warm caches and compiled statements
        print(f"{label} {root} ({kind} ids, {'PostgreSQL' if args.pg else 'SQLite'}): "
              f"median {statistics.median(steady) * 1000:.2f} ms, mean "
              f"{statistics.mean(steady) * 1000:.2f} ms per batch of {bench_sync.BATCH} "
              f"-> {bench_sync.BATCH / statistics.mean(steady):,.0f}/s")


if __name__ == "__main__":
    main()
