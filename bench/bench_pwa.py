"""Field app: shell size (gzipped JS + CSS) and offline time to an interactive assignment list.

Run: `.venv/bin/python bench/bench_pwa.py` (builds pwa/dist if missing). Starts a seeded server
on a free 127.0.0.1 port, logs in once online in headless Debian Chromium, then measures
navigations with the network cut: from navigation start to the first assignment on screen.
Targets (issue 4): shell ≤ 150 KB gzipped, list < 1 s.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    LiveServer,
    ensure_pwa_built,
    new_phone,
    wait_for_sw_control,
)

SHELL_TARGET_KB = 150
LIST_TARGET_MS = 1000
RUNS = 7


def shell_size(dist: Path) -> dict[str, int]:
    """Gzipped bytes of every shell JS and CSS file (lazily loaded chunks/ excluded)."""
    sizes = {}
    for path in sorted(dist.glob("*.js")) + sorted(dist.glob("*.css")):
        sizes[path.name] = len(gzip.compress(path.read_bytes(), compresslevel=9))
    return sizes


def offline_list_times(server: LiveServer) -> list[float]:
    """Milliseconds from navigation start to an interactive assignment list, offline."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = new_phone(browser, server.facts)
        page = context.new_page()
        page.goto(f"{server.url}/app/")
        page.get_by_test_id("login-username").fill("inspector_a")
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("assignment").first.wait_for(timeout=15000)
        wait_for_sw_control(page)
        context.set_offline(True)
        times = []
        for _ in range(RUNS):
            page.goto(f"{server.url}/app/")
            handle = page.wait_for_function(
                "() => { const a = document.querySelector('[data-testid=assignment]');"
                " return a && !a.disabled && performance.now(); }", polling="raf")
            times.append(float(handle.json_value()))
        browser.close()
    return times


def main() -> int:
    """Print the figures; exit 1 when a target is missed."""
    dist = ensure_pwa_built()
    sizes = shell_size(dist)
    total_kb = sum(sizes.values()) / 1024
    print("Field app shell (gzip -9):")
    for name, size in sizes.items():
        print(f"  {name:<24} {size / 1024:7.1f} KB")
    print(f"  total JS + CSS           {total_kb:7.1f} KB   (target ≤ {SHELL_TARGET_KB} KB)")

    with tempfile.TemporaryDirectory(prefix="spotcheck-bench-pwa-") as tmp:
        server = LiveServer(Path(tmp))
        server.seed()
        server.start()
        try:
            times = offline_list_times(server)
        finally:
            server.kill()
    first, rest = times[0], times[1:]
    print(f"Offline navigation → interactive assignment list ({RUNS} runs, headless Chromium):")
    print(f"  first {first:.0f} ms, median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms   (target < {LIST_TARGET_MS} ms)")
    print(f"  runs: {', '.join(f'{t:.0f}' for t in times)}  (after the first: median "
          f"{statistics.median(rest):.0f} ms)")
    ok = total_kb <= SHELL_TARGET_KB and max(times) < LIST_TARGET_MS
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
