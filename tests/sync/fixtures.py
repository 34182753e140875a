"""Shared pieces of the sync tests: a published world, a phone, a new plan version."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from datetime import timedelta

from server.extensions import db
from server.models import Enrollment, PlanSession, PlanVersion
from server.services.changes import publish_plan_version
from tests.conftest import PG_URL, TEST_PASSWORD, make_test_app
from tests.factories import build_world
from tests.sync.client import FlaskTransport, SyncClient, session_start, visit_payload


def publish_world(world) -> None:
    """Record the world's filed plan versions in the change log (the world itself does not)."""
    for version in world.versions.values():
        publish_plan_version(version)
    db.session.commit()


def phone(client, username: str = "inspector_a", device_id: str = "phone-a1") -> SyncClient:
    """A logged-in device talking to the app in-process."""
    device = SyncClient(FlaskTransport(client), device_id)
    assert device.login(username, TEST_PASSWORD) == 200
    return device


def new_plan_version(version: PlanVersion, *, topic_suffix: str = "（调整）") -> PlanVersion:
    """File and record a new version of a plan: same sessions (same lineage), new topics."""
    plan = version.plan
    number = max(v.number for v in plan.versions) + 1
    newer = PlanVersion(plan=plan, number=number, status="recorded", reason="调整课程内容")
    db.session.add(newer)
    for s in version.sessions:
        newer.sessions.append(PlanSession(
            lineage_id=s.lineage_id, date=s.date, start_time=s.start_time, end_time=s.end_time,
            category=s.category, topic=s.topic + topic_suffix, teacher_id=s.teacher_id,
            site_id=s.site_id))
    for e in version.enrollments:
        newer.enrollments.append(Enrollment(trainee_id=e.trainee_id))
    db.session.add(newer)
    db.session.flush()
    publish_plan_version(newer)
    db.session.commit()
    return newer


def today_session(world, key: str = "a") -> PlanSession:
    """The world's session of its today (`world_today`: the world starts three days before)."""
    return world.versions[key].sessions[3]


def process_database(tmp_path, suffix: str = "proc") -> str:
    """A database of this test's own: a fresh SQLite file, or a PostgreSQL database."""
    from tests.conftest import _worker_pg_url, fresh_database_url

    return fresh_database_url(_worker_pg_url() if PG_URL else "sqlite://", tmp_path, suffix)


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll a condition until it holds (the other side is a separate process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)



def queue_visit(device, world, key="a", visit_id=None, **kwargs):
    """Queue five sign-ins and a sealed visit of today's session; return the visit id."""
    visit_id = visit_id or uuid.uuid4()
    klass, version = world.classes[key], world.versions[key]
    trainees = [t for t in world.trainees if t.name.startswith(key)]
    session = kwargs.pop("session", today_session(world, key))
    # Sign-ins are taken during the visit (visit_payload starts it 30 min into the session).
    at = kwargs.get("started_at") or (session_start(session.date, session.start_time)
                                      + timedelta(minutes=30))
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id,
                                 at=at + timedelta(minutes=5))["entity_id"]
               for t in trainees]
    payload = visit_payload(class_id=klass.id, session=session,
                            plan_version_id=kwargs.pop("plan_version_id", version.id),
                            site=world.sites[key], signins=signins, **kwargs)
    device.add_visit(payload, visit_id=visit_id)
    return visit_id


RACE_TIMEOUT = 30


def race_requests(app, calls) -> list[tuple[int, dict]]:
    """Run the requests in threads released together; return (status, body) of each.

    `calls` are functions of a test client; each thread has its own client (and so its own
    database session), as concurrent requests to the server have.
    """
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index, call):
        client = app.test_client()
        start.wait(RACE_TIMEOUT)
        response = call(client)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    return answers


def bearer(app, username: str) -> dict:
    """An Authorization header for a fresh token of this user (a device of its own)."""
    response = app.test_client().post("/api/v1/auth/token", json={
        "username": username, "password": TEST_PASSWORD, "device_id": f"d-{uuid.uuid4()}"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@contextlib.contextmanager
def shared_world(tmp_path, suffix: str):
    """An app on a database of its own that separate connections (threads) really share (a file
    for SQLite), with the test world built; yields (app, world) inside its app context."""
    app = make_test_app(process_database(tmp_path, suffix), tmp_path)
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app, build_world()
        db.session.remove()
        db.engine.dispose()
