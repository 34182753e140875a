"""Browser fixtures: a real server process on a free port, headless Debian Chromium at 360x640.

`live_server` starts `flask run` on a file SQLite database in a temporary instance folder, seeded
by tests/e2e/seed.py (inspector_a has an assignment for today's session of class a, whose window
surrounds now). `live_server.kill()` / `.restart()` simulate a crash; `live_server.sql(...)`
reads the server's database. `context` / `page` give a phone-sized browser context with
geolocation granted at site a; `at_site(context, facts, "a", offset_m=...)` moves the phone.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PWA_DIST = ROOT / "pwa" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 360, "height": 640}
# Let context.route() see requests that pass through the service worker (the app's API calls).
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")
PASSWORD = TEST_PASSWORD


def bundle_module(source: str, global_name: str) -> str:
    """One of the app's own modules (`source`, under pwa/), bundled by esbuild into a script that
    exposes its exports as `global_name`: the phone's code run in Chromium beside the server's."""
    result = subprocess.run(
        ["node_modules/.bin/esbuild", source, "--bundle", "--format=iife",
         f"--global-name={global_name}"],
        cwd=ROOT / "pwa", capture_output=True, text=True, check=True)
    return result.stdout


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_pwa_built() -> Path:
    """Build the field app once if pwa/dist has no shell yet (make test builds it beforehand)."""
    if not (PWA_DIST / "index.html").exists():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=ROOT / "pwa", check=True)
    return PWA_DIST


class LiveServer:
    """A `flask run` process on its own port and database; can be killed and restarted."""

    def __init__(self, instance: Path, dist: Path | None = None):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = instance / "spotcheck.sqlite3"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "MEDIA_DIR": str(instance / "media"),
            "SECRET_KEY": "e2e-secret",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            "PYTHONPATH": str(ROOT),
        }
        if dist is not None:
            self.env["PWA_DIST_DIR"] = str(dist)
        self.proc: subprocess.Popen | None = None
        self.log = instance / "server.log"
        self.facts: dict = {}

    def seed(self) -> dict:
        """Create and seed the database; return the seed facts (ids, coordinates)."""
        out = self.instance / "facts.json"
        subprocess.run([sys.executable, "-m", "tests.e2e.seed", str(out)], cwd=ROOT, env=self.env,
                       check=True)
        self.facts = json.loads(out.read_text(encoding="utf-8"))
        return self.facts

    def start(self) -> None:
        """Start the server and wait until it answers."""
        log = open(self.log, "ab")  # noqa: SIM115 - the child process owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-reload"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                requests.get(f"{self.url}/api/v1/openapi.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)  # polling a starting process: no event to wait on
        raise RuntimeError("server did not start in 30 s")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL to its process group), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """Start the server again on the same port and database."""
        self.kill()
        self.start()

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Run a read query against the server's SQLite database."""
        with sqlite3.connect(self.db_path, timeout=10) as conn:
            return conn.execute(query, params).fetchall()

    def app(self):
        """A Flask app on the server's database, for changes a test makes behind the phone's back.
        """
        from server import create_app

        return create_app({"DATABASE_URL": self.env["DATABASE_URL"],
                           "MEDIA_DIR": self.env["MEDIA_DIR"],
                           "SECRET_KEY": self.env["SECRET_KEY"]})

    def token(self, username: str = "inspector_a", device_id: str = "e2e-checker") -> str:
        """Log in through the API and return a bearer token."""
        response = requests.post(f"{self.url}/api/v1/auth/token", json={
            "username": username, "password": PASSWORD, "device_id": device_id}, timeout=10)
        response.raise_for_status()
        return response.json()["token"]


def start_demo_server(instance: Path, moment: datetime) -> LiveServer:
    """Start a server on the demo loaded as `make run` would at `moment` (tests/e2e/demo_seed.py);
    its facts hold the live site and the team's assignment in progress. The caller kills it."""
    ensure_pwa_built()
    server = LiveServer(instance)
    out = instance / "facts.json"
    subprocess.run([sys.executable, "-m", "tests.e2e.demo_seed", str(out), moment.isoformat()],
                   cwd=ROOT, env=server.env, check=True)
    server.facts = json.loads(out.read_text(encoding="utf-8"))
    server.start()
    return server


@pytest.fixture
def live_server(tmp_path):
    """A seeded server process for one test; `live_server.facts` holds the seed facts."""
    ensure_pwa_built()
    server = LiveServer(tmp_path)
    server.seed()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver per test process (a second one in the same process fails)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    """Headless Debian Chromium (never a downloaded browser)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          headless=True)
    yield chromium
    chromium.close()


def offset_point(lat: float, lon: float, north_m: float) -> tuple[float, float]:
    """Return the point north_m metres north of (lat, lon) (a spherical step is precise enough)."""
    return lat + math.degrees(north_m / 6_371_008.8), lon


def at_site(context, facts: dict, key: str = "a", offset_m: float = 0.0, accuracy: float = 15.0):
    """Put the phone offset_m north of site `key` with the given accuracy."""
    site = facts["sites"][key]
    lat, lon = offset_point(site["lat"], site["lon"], offset_m)
    context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": accuracy})
    return lat, lon


def new_phone(browser, facts: dict, **kwargs):
    """Open a 360x640 Chinese phone context with geolocation granted at site a."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=False,
        locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="allow",
        permissions=["geolocation"], **kwargs,
    )
    at_site(context, facts)
    return context


@pytest.fixture
def context(browser, live_server):
    """A fresh phone-sized browser context for the live server."""
    ctx = new_phone(browser, live_server.facts)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page in the phone context."""
    return context.new_page()


def wait_for_sw_control(page, timeout_ms: int = 30000) -> None:
    """Wait until the service worker controls the page (required before going offline).

    30 s: installing caches the whole shell, which took over 15 s once on this 2-core machine
    with both test workers busy (a wait, not a timing: it returns as soon as control is there).
    """
    page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    """Save a 360x640 screenshot to test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def draw_signature(page, testid: str, nth: int = 0) -> None:
    """Draw a short zig-zag with the mouse on the (nth) signature canvas with this data-testid."""
    canvas = page.get_by_test_id(testid).nth(nth)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x0 + i * 20, y0 + (15 if i % 2 else -15), steps=3)
    page.mouse.up()
