"""A device's seqs are its own user's, and a restore starts a new epoch the phones recover from:
old cursors get sync.reset, a gap says `resend_from`, records already stored count as done."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.extensions import db
from server.models import SignIn, Visit
from server.services.backup import backup, restore
from server.services.media_store import LocalStore
from tests.conftest import TEST_PASSWORD
from tests.factories import build_world
from tests.sync.client import FlaskTransport, SyncClient
from tests.sync.fixtures import phone, publish_world, queue_visit


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_another_user_with_the_same_device_id_cannot_consume_its_seqs(client, world):
    victim = phone(client, "inspector_a", "shared-device")
    queue_visit(victim, world)
    intruder = phone(client, "inspector_b", "shared-device")
    intruder.add("signin.create", {"junk": True})
    status, body = intruder.push()
    assert status == 200 and body["results"][0]["seq"] == 1
    status, body = victim.push()
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["applied"] * 6
    assert body["last_seq"] == 6
    assert _count(Visit) == 1


def test_a_gap_answer_says_where_to_resend_from(client, world):
    device = phone(client)
    queue_visit(device, world)
    status, body = device.send(device.outbox[2:])
    assert status == 200
    assert body["resend_from"] == 1
    assert {r["status"] for r in body["results"]} == {"gap"}
    status, body = device.send(device.outbox[:2])
    assert "resend_from" not in body


def test_a_record_sent_again_under_new_seqs_counts_as_done_and_is_stored_once(client, world):
    """The phone re-sends, from resend_from on, records the server already holds."""
    device = phone(client, device_id="phone-resend")
    visit_id = queue_visit(device, world)
    held = [dict(m) for m in device.outbox]
    status, body = device.push()
    assert body["last_seq"] == 6
    again = phone(client, "inspector_a", "phone-resend")
    # the same records, renumbered after the server's last seq, with new mutation ids
    renumbered = [dict(m, seq=7 + i, mutation_id=str(uuid.uuid4())) for i, m in enumerate(held)]
    status, body = again.send(renumbered)
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["applied"] * 6
    assert (_count(Visit), _count(SignIn)) == (1, 5)
    assert db.session.get(Visit, visit_id) is not None


def test_another_record_under_a_stored_id_is_still_refused(client, world):
    device = phone(client)
    visit_id = queue_visit(device, world)
    device.push()
    other = phone(client, "inspector_a", "phone-other")
    queue_visit(other, world, visit_id=visit_id, headcount=2)
    status, body = other.push()
    assert body["results"][-1]["status"] == "rejected"
    assert body["results"][-1]["code"] == "visit.exists"


def _file_backed_app(database_url, tmp_path):
    from tests.conftest import fresh_database_url, make_test_app

    return make_test_app(fresh_database_url(database_url, tmp_path, "restore"), tmp_path)


def test_after_a_restore_old_cursors_reset_and_the_phone_recovers_what_it_holds(database_url,
                                                                                tmp_path):
    app = _file_backed_app(database_url, tmp_path)
    with app.app_context():
        db.create_all()
        world = build_world()
        publish_world(world)
        client = app.test_client()
        device = SyncClient(FlaskTransport(client), "phone-restore")
        assert device.login("inspector_a", TEST_PASSWORD) == 200
        _, cursor = device.pull_all()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        backup(tmp_path / "bk", url, LocalStore(tmp_path / "media"))

        first = queue_visit(device, world)
        held = list(device.outbox)  # the phone keeps acknowledged evidence
        assert device.push()[1]["last_seq"] == 6
        second = queue_visit(device, world)  # captured meanwhile, not yet sent
        restore(tmp_path / "bk", url, LocalStore(tmp_path / "media"))

        assert device.login("inspector_a", TEST_PASSWORD) == 200  # the restored tokens predate it
        status, body = device.pull(cursor)
        assert status == 409 and body["code"] == "sync.reset"
        status, body = device.send(device.outbox)
        assert body["resend_from"] == 1
        everything = held + device.outbox
        resent = [dict(m, seq=body["resend_from"] + i) for i, m in enumerate(everything)]
        status, body = device.send(resent)
        assert status == 200 and {r["status"] for r in body["results"]} <= {"applied", "flagged"}
        assert db.session.get(Visit, first) is not None and db.session.get(Visit,
                                                                           second) is not None
        assert _count(Visit) == 2
        db.session.remove()
        db.engine.dispose()
