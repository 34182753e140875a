"""Benchmark plumbing: a fresh instance dir, the app under gunicorn on 127.0.0.1, timing helpers.

Why these workers: see WORKERS. Every process started here is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-secret-not-for-production"
PASSWORD = "bench-password-1"

# Two gthread workers x 2 threads: one worker per core; gthread keeps HTTP connections alive
# (the sync worker closes each one, so every request would pay a TCP handshake that a phone
# on a kept-alive connection does not). SQLite has one writer at a time, so more processes
# than cores would only queue on its lock. Two threads, not four: at 40 simultaneous syncs
# the load test's push p95 was 275/278 ms with 2 against 413/351 ms with 4 (alternate runs,
# docs/PERFORMANCE.md); fewer threads per worker spend less on GIL hand-offs.
WORKERS = 2
THREADS = 2


PG_URL = os.environ.get("BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/spotcheck_bench")


class ClientError(OSError):
    """A request the keep-alive client could not complete (connection refused, cut, timed out)."""


class Reply:
    """What the bench reads of an answer: status, headers (case-insensitive), body, JSON."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)


class KeepAliveClient:
    """A lean HTTP/1.1 client on one kept-alive connection, for the timed loops of the bench.

    What a phone's fetch does (one connection, kept alive), without `requests`' per-request
    machinery (about 0.6 ms of the client's CPU a request here, on the same two cores as the
    server). The JSON bodies are still encoded and decoded inside the timed loop, with orjson:
    about as fast as a phone's native JSON.stringify (the standard library's encoder takes
    1.0 ms for a batch of 100 sign-ins, orjson about 0.06 ms). The same call shape as
    `requests.Session` for what the bench uses: get/post/patch(url, params=, json=, data=,
    headers=, timeout=) and a `headers` dict sent with every request. Not for the open
    internet: no redirects, no TLS, no proxies.
    """

    def __init__(self, base: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, url: str, *, params: dict | None = None, json: Any = None,
                data: bytes | None = None, headers: dict | None = None,
                timeout: float | None = None) -> Reply:
        """Send one request and read the whole answer; reconnects once if the kept-alive
        connection was closed by the server while idle (nothing was processed then)."""
        path = url[len(self.base):] if url.startswith(self.base) else url
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        sent = {**self.headers, **(headers or {})}
        if json is not None:
            data = _json_body(json)
            sent.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            fresh = self._conn is None
            if fresh:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=timeout or self.timeout)
            try:
                self._conn.request(method, path, body=data, headers=sent)
                answer = self._conn.getresponse()
                content = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as cut:
                self.close()
                if fresh or attempt:
                    raise ClientError(f"{method} {path}: {cut!r}") from cut
                continue
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise ClientError(f"{method} {path}: {error!r}") from error
            if answer.will_close:
                self.close()
            return Reply(answer.status, answer.headers, content)
        raise AssertionError("unreachable")

    def get(self, url: str, **kwargs: Any) -> Reply:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Reply:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", url, **kwargs)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _json_body(value: Any) -> bytes:
    return orjson.dumps(value)


@dataclass
class Instance:
    """A fresh instance dir: the database (an SQLite file there, or a fresh PostgreSQL
    database when `postgres` is set) and the media folder."""

    root: Path
    postgres: str = ""

    @property
    def database_url(self) -> str:
        return self.postgres or f"sqlite:///{self.root / 'spotcheck.sqlite3'}"

    @property
    def engine(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    def env(self) -> dict[str, str]:
        """Environment the app reads its configuration from (server/config.py)."""
        return {
            **os.environ, "DATABASE_URL": self.database_url, "MEDIA_DIR": str(self.media_dir),
            "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT),
        }


@contextlib.contextmanager
def fresh_instance(postgres: str = "") -> Iterator[Instance]:
    """Yield an empty instance dir (and an empty PostgreSQL database if asked), removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="spotcheck-bench-") as tmp:
        if postgres:
            _recreate_pg_database(postgres)
        try:
            yield Instance(Path(tmp), postgres)
        finally:
            if postgres:
                _recreate_pg_database(postgres, drop_only=True)


def _admin(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return f"{base}/postgres".replace("postgresql+psycopg://", "postgresql://"), name


def pg_reachable(url: str) -> bool:
    """Tell whether the PostgreSQL server of url accepts a connection."""
    import psycopg

    try:
        with psycopg.connect(_admin(url)[0], connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _recreate_pg_database(url: str, drop_only: bool = False) -> None:
    import psycopg

    admin, name = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(instance: Instance, workers: int = WORKERS, threads: int = THREADS,
             root: Path = ROOT) -> Iterator[str]:
    """Run the app of the checkout at `root` (this one by default) under gunicorn on a free
    loopback port; yield its base URL."""
    port = free_port()
    log = open(instance.root / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30",
         "--log-level", "warning", "wsgi:app"],
        cwd=root, env={**instance.env(), "PYTHONPATH": str(root)}, stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(base: str, process: subprocess.Popen) -> None:
    for _ in range(200):  # bounded: about 20 s
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            # The tus discovery answer needs neither the database nor a token: a cheap probe.
            if requests.options(base + "/api/v1/media/uploads", timeout=5).status_code == 204:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not become ready")


def login(session: requests.Session | KeepAliveClient, base: str, username: str,
          device_id: str) -> None:
    """Get a bearer token through the real endpoint and keep it on the session."""
    response = session.post(base + "/api/v1/auth/token", json={
        "username": username, "password": PASSWORD, "device_id": device_id})
    assert response.status_code == 200, response.text[:300]
    session.headers["Authorization"] = "Bearer " + response.json()["token"]


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """Run action once; return (seconds, its result)."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return statistics.median(values)
