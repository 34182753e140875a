"""A real server process killed with SIGKILL in the middle of a batch, restarted, then the
phone's retry: every mutation applied exactly once (SQLite file, or PostgreSQL when
TEST_DATABASE_URL names one).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from server.extensions import db
from server.models import SignIn, SyncLedger, Visit
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.factories import build_world
from tests.sync.client import HttpTransport, SyncClient, session_start, visit_payload
from tests.sync.fixtures import process_database, today_session, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.server_process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`flask run` of wsgi.py on a free port, with the environment given."""

    def __init__(self, database_url: str, tmp_path: Path, port: int | None = None,
                 app: str = "wsgi", **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
                       "MEDIA_DIR": str(tmp_path / "media"), **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", app, "run", "--no-reload",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ready, what="the server to listen")

    def ready(self) -> bool:
        assert self.proc.poll() is None, "the server process exited"
        try:
            requests.get(self.url + "/api/v1/sync/pull", timeout=1)  # any answer: it listens
            return True
        except requests.ConnectionError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def test_sigkill_mid_batch_then_restart_then_retry_applies_exactly_once(tmp_path):
    url = process_database(tmp_path)
    app = make_test_app(url, tmp_path)
    with app.app_context():
        db.drop_all()
        db.create_all()
        world = build_world()
        klass, version, site = world.classes["a"], world.versions["a"], world.sites["a"]
        session = today_session(world)
        roster = [t.id for t in world.trainees if t.name.startswith("a")]
        visit_id = uuid.uuid4()
        payload_args = dict(class_id=klass.id, session=session, plan_version_id=version.id,
                            site=site)

        marker = tmp_path / "hanging"
        server = ServerProcess(url, tmp_path, app="tests.sync.hanging_server", HANG_AFTER="4",
                               HANG_MARKER=str(marker))
        try:
            device = SyncClient(HttpTransport(server.url, timeout=60), "phone-crash")
            assert device.login("inspector_a", TEST_PASSWORD) == 200
            during = session_start(session.date, session.start_time) + timedelta(minutes=35)
            ids = [device.add_signin(visit_id=visit_id, class_id=klass.id,
                                     trainee_id=t, at=during)["entity_id"]
                   for t in roster]
            device.add_visit(visit_payload(**payload_args, signins=ids, headcount=5),
                             visit_id=visit_id)
            batch = list(device.outbox)
            outcome: list = []

            def send():
                try:
                    outcome.append(device.push())
                except requests.RequestException as error:
                    outcome.append(error)

            sender = threading.Thread(target=send)
            sender.start()
            wait_until(marker.exists, what="the server to stop mid-batch")
            server.kill()
            sender.join(timeout=30)
            assert isinstance(outcome[0], requests.RequestException)  # the phone got no answer
        finally:
            server.stop()
        assert len(device.outbox) == 6

        def counts():
            db.session.expire_all()
            return tuple(db.session.scalar(select(func.count()).select_from(m))
                         for m in (SyncLedger, SignIn, Visit))

        assert counts() == (0, 0, 0)  # the killed batch left nothing behind

        server = ServerProcess(url, tmp_path, port=server.port)  # the phone knows this address
        try:
            status, body = device.push()
            assert status == 200
            assert [r["status"] for r in body["results"]] == ["applied"] * 6
            assert not any(r["replayed"] for r in body["results"])
            assert device.outbox == []
            status, again = device.send(batch)  # and once more: all replays
            assert status == 200 and all(r["replayed"] for r in again["results"])
        finally:
            server.stop()
        assert counts() == (6, 5, 1)
        db.session.remove()
        db.engine.dispose()

