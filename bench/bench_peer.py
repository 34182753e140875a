"""The peer: PouchDB replicating ~1 KB docs to pouchdb-server, with the shared harness.

../shared/peers/pouchdb is read-only (and so is CI's copy), so the harness is copied to a
temporary directory and installed there with `npm ci`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import ROOT

# Beside the checkout (../shared); BENCH_PEERS_DIR names another place (e.g. from a worktree).
HARNESS = Path(os.environ.get("BENCH_PEERS_DIR") or ROOT.parent / "shared" / "peers") / "pouchdb"


def run(n: int = 10_000, runs: int = 1, harness: Path = HARNESS) -> dict:
    """Replicate n docs `runs` times on a fresh pouchdb-server; return the median docs/s."""
    if not (harness / "bench.js").is_file():
        return {"skipped": f"no harness at {harness}"}
    with tempfile.TemporaryDirectory(prefix="spotcheck-peer-") as tmp:
        work = Path(tmp) / "pouchdb"
        shutil.copytree(harness, work, ignore=shutil.ignore_patterns("node_modules"))
        for path in [work, *work.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # the source is read-only
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                       check=True, timeout=600, stdout=subprocess.DEVNULL)
        out = Path(tmp) / "peer.jsonl"
        subprocess.run(["node", "bench.js", "--n", str(n), "--att-n", "0", "--runs", str(runs),
                        "--json", str(out), "--timeout-s", "900"], cwd=work, check=True,
                       timeout=960, stdout=subprocess.DEVNULL)
        rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    initial = sorted(r["seconds"] for r in rows if r["scenario"] == "docs_initial")
    noop = sorted(r["seconds"] for r in rows if r["scenario"] == "docs_noop")
    seconds = initial[len(initial) // 2]
    return {
        "n": n, "seconds": seconds, "per_s": n / seconds, "noop_ms": noop[len(noop) // 2] * 1000,
        "doc_bytes": rows[0]["payload_bytes"] / n, "requests": rows[0]["requests"],
    }
