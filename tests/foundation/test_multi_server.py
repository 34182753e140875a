"""Two app servers, one PostgreSQL, one S3-compatible store: a phone whose every request lands on
the other server than the one before still logs in, pulls, uploads its photos (tus POST on one,
PATCHes on the other, a resume after a cut connection), pushes its visit, and reads it back:
one visit, every medium complete, `flask verify` clean with MEDIA_STORAGE=s3.

The servers are real gunicorn processes with separate local folders (MEDIA_DIR): nothing they
need from each other may live on a disk or in a process. The S3 server is moto's server mode on
127.0.0.1, which the app reaches only over HTTP through boto3.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

from server.extensions import db
from tests.conftest import PG_URL, TEST_PASSWORD, make_test_app
from tests.factories import build_world
from tests.media.s3_server import S3Server
from tests.media.tus_client import TUS, make_jpeg, make_png, metadata
from tests.sync.client import SyncClient, visit_payload
from tests.sync.fixtures import process_database, publish_world, today_session, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.server_process,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                       reason="needs PostgreSQL (TEST_DATABASE_URL): app servers share one "
                              "database, and SQLite is one machine's file"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """gunicorn running wsgi:app on its own port with its own MEDIA_DIR."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        folder.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env={**env, "MEDIA_DIR": str(folder / "media")},
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(self.ready, timeout=90, what=f"gunicorn on {self.port} to listen")
        except BaseException:
            self.stop()  # a server that never answered is not left running
            raise

    def ready(self) -> bool:
        assert self.proc.poll() is None, "gunicorn exited"
        try:
            return requests.options(self.url + "/api/v1/media/uploads", timeout=2).ok
        except (requests.ConnectionError, requests.Timeout):
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        if not self.log.closed:
            self.log.close()


class Alternating:
    """A transport that sends each request to the next server in turn."""

    def __init__(self, servers: list[AppServer]) -> None:
        self.servers = servers
        self.count = 0
        self.session = requests.Session()
        self.seen: list[int] = []

    def next_url(self) -> str:
        server = self.servers[self.count % len(self.servers)]
        self.count += 1
        self.seen.append(server.port)
        return server.url

    def request(self, method, path, *, json=None, params=None, headers=None):
        response = self.raw(method, path, json=json, params=params, headers=headers or {})
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def raw(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.next_url() + path, timeout=60, **kwargs)


def cut_patch(base_url: str, path: str, headers: dict[str, str], sent: bytes,
              announced: int) -> None:
    """Send a PATCH announcing `announced` bytes, send only `sent`, then drop the connection."""
    host = urlsplit(base_url)
    lines = [f"PATCH {path} HTTP/1.1", f"Host: {host.netloc}", f"Content-Length: {announced}",
             "Connection: close", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((host.hostname, host.port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode() + sent)
        sock.shutdown(socket.SHUT_WR)  # the body ends early: the server sees a dropped client
        while sock.recv(65536):
            pass


@pytest.fixture
def s3():
    server = S3Server()
    yield server
    server.stop()


def test_a_phone_alternating_between_two_app_servers_syncs_one_complete_visit(tmp_path, s3):
    url = process_database(tmp_path, "multi")
    with make_test_app(url, tmp_path).app_context():
        db.drop_all()
        db.create_all()
        world = build_world()
        publish_world(world)
        # Plain values from here on: the servers own the database.
        class_id, version_id = world.classes["a"].id, world.versions["a"].id
        today = today_session(world)
        session = SimpleNamespace(id=today.id, date=today.date, start_time=today.start_time)
        site = SimpleNamespace(lat=world.sites["a"].lat, lon=world.sites["a"].lon)
        roster = [t.id for t in world.trainees if t.name.startswith("a")][:3]
        db.session.remove()

    env = {**os.environ, **s3.settings, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1", "PYTHONPATH": str(ROOT)}
    servers: list[AppServer] = []
    try:
        servers.append(AppServer(env, tmp_path / "app1"))
        servers.append(AppServer(env, tmp_path / "app2"))
        net = Alternating(servers)
        phone = SyncClient(net, f"phone-{uuid.uuid4().hex[:8]}")
        assert phone.login("inspector_a", TEST_PASSWORD) == 200
        changes, _ = phone.pull_all(limit=50)
        assert (("plan_version", str(version_id)) in {(c["type"], c["id"]) for c in changes})

        photos = [make_jpeg(side=420, seed=31), make_jpeg(side=380, seed=32)]
        signature = make_png()
        auth = {**phone.headers, **TUS}
        for index, data in enumerate([*photos, signature]):
            sha = hashlib.sha256(data).hexdigest()
            mime = "image/png" if data is signature else "image/jpeg"
            created = net.raw("POST", "/api/v1/media/uploads", headers={
                **auth, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(sha, mime)})
            assert created.status_code == 201, created.text
            location = urlsplit(created.headers["Location"]).path
            offset, step = 0, max(len(data) // 3, 1)
            if index == 0:
                # The first photo's connection drops after 1,000 of its bytes; the next server
                # knows where it stands (HEAD) and the upload goes on from there.
                cut_patch(net.next_url(), location, {
                    **auth, "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream"}, data[:1000], len(data))
                head = net.raw("HEAD", location, headers=auth)
                assert head.status_code == 200
                offset = int(head.headers["Upload-Offset"])
                assert offset == 1000
            while offset < len(data):
                piece = data[offset:offset + step]
                answer = net.raw("PATCH", location, data=piece, headers={
                    **auth, "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})
                assert answer.status_code == 204, answer.text
                offset = int(answer.headers["Upload-Offset"])
            assert net.raw("HEAD", location,
                           headers=auth).headers["Upload-Offset"] == str(len(data))
            assert s3.bucket.read(f"{sha[:2]}/{sha}") == data
        assert s3.bucket.keys("uploads/") == []  # no chunk left behind
        # Both servers took part, each with a local folder that holds no media.
        assert set(net.seen) == {servers[0].port, servers[1].port}
        for folder in ("app1", "app2"):
            media = tmp_path / folder / "media"
            assert not [p for p in media.rglob("*") if p.is_file()]

        visit_id = uuid.uuid4()
        ids = [phone.add_signin(visit_id=visit_id, class_id=class_id, trainee_id=t)["entity_id"]
               for t in roster]
        phone.add_visit(visit_payload(
            class_id=class_id, session=session, plan_version_id=version_id, site=site,
            signins=ids, headcount=3,
            photos=[hashlib.sha256(p).hexdigest() for p in photos],
            signatures=[hashlib.sha256(signature).hexdigest()]), visit_id=visit_id)
        batch = list(phone.outbox)
        status, body = phone.push()
        assert status == 200, body
        assert {r["status"] for r in body["results"]} <= {"applied", "flagged"}
        # The answer was lost, say: the same batch again, to the other server, changes nothing.
        status, again = phone.send(batch)
        assert status == 200 and all(r["replayed"] for r in again["results"]), again

        status, listing = net.request("GET", "/api/v1/visits", headers=phone.headers)
        assert status == 200
        [visit] = [v for v in listing["visits"] if v["id"] == str(visit_id)]
        assert visit["media_complete"] is True
        status, listing = net.request("GET", "/api/v1/visits", headers=phone.headers)
        assert [v["id"] for v in listing["visits"]].count(str(visit_id)) == 1

        # The login limits live in the database too: failures on alternating servers add up.
        thief = SyncClient(net, "phone-thief")
        for _ in range(5):
            assert thief.login("inspector_b", "not-the-password") == 401
        assert thief.login("inspector_b", TEST_PASSWORD) == 429
    finally:
        for server in servers:
            server.stop()

    verify = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "verify"], cwd=ROOT,
        env={**env, "MEDIA_DIR": str(tmp_path / "verifier")}, capture_output=True, text=True,
        timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert "3 files intact" in verify.stdout and "1 visits" in verify.stdout
