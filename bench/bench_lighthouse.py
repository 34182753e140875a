"""Field app: Lighthouse mobile scores of the app shell (issue 12: every category ≥ 90).

Run: `.venv/bin/python bench/bench_lighthouse.py` (builds pwa/dist if missing). Starts a seeded
server on a free 127.0.0.1 port and runs Lighthouse (npm `lighthouse@12`, fetched by `npx` on
first use, not a project dependency) in its default mobile mode against Debian's Chromium
(`CHROME_PATH=/usr/bin/chromium`), on the field app's start page (/app/, the login screen a
newcomer sees). Prints each category's score and whether it meets 90.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, ensure_pwa_built  # noqa: E402

TARGET = 90
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def lighthouse_scores(url: str) -> dict[str, int]:
    """Run Lighthouse (mobile) once on `url` and return each category's score out of 100."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    command = ["npx", "--yes", "lighthouse@12", url, "--output=json", "--output-path=stdout",
               "--quiet", f"--chrome-flags={flags}",
               "--only-categories=" + ",".join(CATEGORIES)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True,
                          env={**os.environ, "CHROME_PATH": CHROMIUM})
    report = json.loads(done.stdout)
    return {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}


def main() -> int:
    """Print the scores; exit 0 (figures, not a test)."""
    ensure_pwa_built()
    with tempfile.TemporaryDirectory(prefix="bench-lighthouse-") as folder:
        server = LiveServer(Path(folder))
        server.seed()
        server.start()
        try:
            scores = lighthouse_scores(f"{server.url}/app/")
        finally:
            server.kill()
    print("Lighthouse, mobile, field app start page (/app/):")
    for name, score in scores.items():
        print(f"  {name:<15} {score:>3}  ({'meets' if score >= TARGET else 'misses'} ≥ {TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
