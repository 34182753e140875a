"""Concurrent writers against a shared database (a file SQLite, or PostgreSQL when
TEST_DATABASE_URL names one): pull never skips, a device's seq is never applied twice.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select, text

from server.extensions import db
from server.models import SignIn, SyncLedger
from server.services.changes import record_change
from tests.sync.fixtures import phone, publish_world, shared_world, wait_until

TIMEOUT = 30


@pytest.fixture
def shared_app(tmp_path):
    """An app on a database that separate connections (threads) really share."""
    with shared_world(tmp_path, "conc") as (app, world):
        publish_world(world)
        yield app, world


def waiting_for_lock() -> bool:
    """PostgreSQL: is some backend waiting for a lock?"""
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar() > 0


def test_writers_committing_out_of_order_never_make_a_pager_skip(shared_app):
    app, world = shared_app
    client = app.test_client()
    device = phone(client)
    seen, cursor = device.pull_all(limit=3)
    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    county = world.counties["a"].id
    allocated, release_first, second_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_writer():
        try:
            with app.app_context():
                record_change("training_class", first_id, county_id=county)
                db.session.flush()
                allocated.set()
                assert release_first.wait(TIMEOUT)  # commit last, after the second has tried
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 (reported to the test thread)
            errors.append(error)
            allocated.set()

    def second_writer():
        try:
            with app.app_context():
                record_change("training_class", second_id, county_id=county)
                db.session.commit()
                second_done.set()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
            second_done.set()

    one = threading.Thread(target=first_writer)
    one.start()
    assert allocated.wait(TIMEOUT)
    two = threading.Thread(target=second_writer)
    two.start()
    # the second writer cannot take a seq, let alone commit, while the first holds the counter
    if db.engine.dialect.name == "postgresql":
        wait_until(waiting_for_lock)
    assert not second_done.is_set()
    # a client paging meanwhile sees neither change and its cursor does not pass them
    changes, cursor = device.pull_all(cursor, limit=1)
    assert changes == []
    release_first.set()
    one.join(TIMEOUT)
    two.join(TIMEOUT)
    assert not errors, errors
    assert second_done.is_set()
    changes, cursor = device.pull_all(cursor, limit=1)
    ids = [c["id"] for c in changes]
    assert ids == [str(first_id), str(second_id)]  # commit order, nothing skipped


def test_two_pushes_of_one_batch_at_once_apply_it_once(shared_app):
    app, world = shared_app
    device = phone(app.test_client())
    klass = world.classes["a"]
    visit_id = uuid.uuid4()
    for trainee in world.trainees[:5]:
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id)
    batch = list(device.outbox)
    start = threading.Barrier(2)
    answers: list = []

    def send():
        start.wait(TIMEOUT)
        answers.append(device.send(batch))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert [status for status, _ in answers] == [200, 200]
    applied = [r for _, body in answers for r in body["results"] if not r["replayed"]]
    replayed = [r for _, body in answers for r in body["results"] if r["replayed"]]
    assert len(applied) == 5 and len(replayed) == 5
    assert {r["status"] for r in applied} == {"applied"}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SignIn)) == 5
    assert db.session.scalar(select(func.count()).select_from(SyncLedger)) == 5
