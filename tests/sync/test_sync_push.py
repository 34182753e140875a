"""Push scenarios: an inspector's phone drains its outbox over a bad network (DESIGN §4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from schemas.sync import MAX_BATCH, PushRequestSchema
from server.extensions import db
from server.models import ApiToken, SignIn, SyncLedger, User, Visit, utcnow
from server.services import sync_store
from server.services.push_context import PushContext
from server.services.sync_store import SqlStore
from sync.push import Mutation
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user
from tests.sync.client import seal, visit_payload
from tests.sync.fixtures import new_plan_version, phone, publish_world, queue_visit, today_session
from tests.sync.statements import reads, statements


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))




def test_same_batch_twice_is_replayed_and_nothing_doubles(client, world):
    device = phone(client)
    queue_visit(device, world)
    batch = list(device.outbox)
    status, first = device.send(batch)
    assert status == 200
    assert [r["status"] for r in first["results"]] == ["applied"] * 6
    assert not any(r["replayed"] for r in first["results"])
    status, second = device.send(batch)
    assert status == 200
    assert all(r["replayed"] for r in second["results"])
    assert [r["status"] for r in second["results"]] == [r["status"] for r in first["results"]]
    assert second["last_seq"] == first["last_seq"] == 6
    assert (count(Visit), count(SignIn), count(SyncLedger)) == (1, 5, 6)


def test_commit_then_response_lost_the_retry_is_a_replay(client, world):
    device = phone(client)
    visit_id = queue_visit(device, world)
    device.send(device.outbox)  # committed; the answer never reaches the phone
    assert len(device.outbox) == 6
    status, body = device.push()
    assert status == 200 and all(r["replayed"] for r in body["results"])
    assert device.outbox == []
    assert count(Visit) == 1 and db.session.get(Visit, visit_id) is not None


def test_a_seq_gap_stops_the_batch_and_nothing_after_it_applies(client, world):
    device = phone(client)
    klass = world.classes["a"]
    visit_id = uuid.uuid4()
    for trainee in world.trainees[:4]:
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id)
    one, two, three, four = device.outbox
    status, body = device.send([one, three, four])
    assert [r["status"] for r in body["results"]] == ["applied", "gap", "gap"]
    assert body["results"][1]["code"] == "sync.gap"
    assert body["last_seq"] == 1 and count(SignIn) == 1 and count(SyncLedger) == 1
    status, body = device.send([two, three, four])
    assert [r["status"] for r in body["results"]] == ["applied"] * 3
    assert body["last_seq"] == 4 and count(SignIn) == 4


def test_two_devices_reporting_on_one_session_keep_two_visits_the_second_flagged(client, world):
    first, second = phone(client, device_id="phone-a1"), phone(client, "inspector_a", "phone-a2")
    one = queue_visit(first, world)
    two = queue_visit(second, world)
    assert first.push()[1]["results"][-1]["status"] == "applied"
    result = second.push()[1]["results"][-1]
    assert result["status"] == "flagged" and result["code"] == "visit.duplicate_session"
    assert db.session.get(Visit, one).flags == []
    assert db.session.get(Visit, two).flags == ["visit.duplicate_session"]
    assert count(Visit) == 2


def test_a_correction_supersedes_and_is_not_a_duplicate(client, world):
    device = phone(client)
    first = queue_visit(device, world)
    device.push()
    correction = queue_visit(device, world, supersedes=first, verdict="issues")
    result = device.push()[1]["results"][-1]
    assert result["status"] == "applied", result
    stored = db.session.get(Visit, correction)
    assert stored.supersedes_id == first and stored.verdict == "issues"
    assert db.session.get(Visit, first).verdict == "compliant"  # evidence is never changed


def test_a_correction_supersedes_only_its_own_inspector_s_record(client, world):
    # Naming another inspector's visit hid the pusher's duplicate flag and told them the id
    # exists; it is rejected as an unknown one is, and the visit stays a duplicate to review.
    first = phone(client)
    theirs = queue_visit(first, world)
    first.push()
    make_user("inspector_a2", "inspector", world.counties["a"])
    db.session.commit()
    other = phone(client, "inspector_a2", "phone-a2")
    mine = queue_visit(other, world, supersedes=theirs)
    result = other.push()[1]["results"][-1]
    assert result["status"] == "rejected" and result["code"] == "visit.unknown_supersedes"
    assert db.session.get(Visit, mine) is None


def test_plan_changed_meanwhile_the_visit_is_accepted_and_flagged(client, world):
    publish_world(world)
    device = phone(client)
    old = world.versions["a"]
    visit_id = queue_visit(device, world)  # made against version 1
    newer = new_plan_version(old)
    result = device.push()[1]["results"][-1]
    assert result["status"] == "flagged" and result["code"] == "plan.outdated"
    visit = db.session.get(Visit, visit_id)
    assert visit.plan_version_id == old.id and "plan.outdated" in visit.flags
    # judged against what the class should be doing now: the same session in the new version
    judged = uuid.UUID(visit.checks["judged_session_id"])
    assert judged in {s.id for s in newer.sessions}


def test_a_device_clock_a_day_off_is_flagged_and_cannot_prove_the_time(client, world):
    device = phone(client)
    device.clock_offset = timedelta(days=1)
    visit_id = queue_visit(device, world)
    result = device.push()[1]["results"][-1]
    assert result["status"] == "flagged" and result["code"] == "clock.skew"
    visit = db.session.get(Visit, visit_id)
    assert visit.checks["time"]["status"] == "unverifiable"
    assert abs(visit.checks["clock_skew_s"] - 86400) < 60
    assert visit.received_at < visit.client_time  # device time recorded, server time kept


def test_a_wrong_seal_is_rejected_and_the_seq_is_consumed_and_kept(client, world):
    device = phone(client)
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload["verdict"] = "issues"  # changed after sealing
    device.add_visit(payload)
    status, body = device.push()
    result = body["results"][0]
    assert result["status"] == "rejected" and result["code"] == "visit.seal_mismatch"
    assert body["last_seq"] == 1 and count(Visit) == 0
    ledger = db.session.scalar(select(SyncLedger))
    assert ledger.status == "rejected" and ledger.result["code"] == "visit.seal_mismatch"


def test_a_rejection_does_not_undo_the_rest_of_the_batch(client, world):
    device = phone(client)
    visit_id = uuid.uuid4()
    device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id)
    device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id, trainee_id=uuid.uuid4())
    device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                      trainee_id=world.trainees[1].id)
    body = device.push()[1]
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "applied"]
    assert body["results"][1]["code"] == "signin.unknown_trainee"
    assert count(SignIn) == 2 and count(SyncLedger) == 3


def test_an_unknown_trainee_costs_the_fast_try_no_query_and_gets_its_own_code(client, world):
    """The fast try leaves the trainee's existence to the sign-in's foreign key: a batch naming
    only known trainees reads no trainee; one naming an unknown trainee is retried carefully
    and only that sign-in is rejected, with its own code, whatever else is wrong with it."""
    device = phone(client)
    visit_id, klass = uuid.uuid4(), world.classes["a"].id
    for trainee in world.trainees[:2]:
        device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=trainee.id)
    with statements() as seen:
        status, body = device.push()
    assert status == 200 and {r["status"] for r in body["results"]} <= {"applied", "flagged"}
    assert reads(seen, "trainee") == []
    # An unknown trainee between two known ones; and one also outside the pusher's scope,
    # whose scope decides first (as on the careful try, so the code never depends on the try).
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=world.trainees[2].id)
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=uuid.uuid4())
    device.add_signin(visit_id=visit_id, class_id=uuid.uuid4(), trainee_id=uuid.uuid4())
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=world.trainees[3].id)
    with statements() as seen:
        body = device.push()[1]
    assert [(r["status"], r.get("code")) for r in body["results"]] == [
        ("applied", None), ("rejected", "signin.unknown_trainee"),
        ("rejected", "signin.unknown_class"), ("applied", None)]
    assert any("SAVEPOINT" in s for s in seen)  # the careful retry decided
    assert count(SignIn) == 4 and count(SyncLedger) == 6


def test_a_carefully_retried_batch_rolled_back_keeps_nothing(client, world):
    """A batch whose fast try failed is applied again with a savepoint per mutation; when the
    server dies before the commit, none of it may remain (SQLite: the savepoints sit inside the
    batch's transaction, their RELEASE is not a COMMIT)."""
    device = phone(client)
    visit_id = queue_visit(device, world)
    device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id, trainee_id=uuid.uuid4())
    batch = PushRequestSchema().load({"device_id": device.device_id, "mutations": device.outbox})
    user = db.session.get(User, world.users["inspector_a"].id)
    with statements() as seen:
        response = sync_store.push(user, device.device_id, batch["mutations"], commit=False)
    assert response.counts() == {"applied": 6, "rejected": 1}
    assert any("SAVEPOINT" in s for s in seen)
    db.session.rollback()
    assert (count(Visit), count(SignIn), count(SyncLedger)) == (0, 0, 0)


def test_malformed_ids_in_a_batch_reject_only_their_sign_ins(client, world):
    # The batch's look-ups read the payloads before validation: ids of any JSON type, the
    # same trainee named twice with differently written ids, a trainee that does not exist.
    device = phone(client)
    visit_id, klass, trainee = uuid.uuid4(), world.classes["a"].id, world.trainees[0].id
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=trainee,
                      signature_sha256="ab" * 32)  # a signature: its owners are looked up
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=None)
    device.outbox[-1]["payload"].update(trainee_id=["x"], signature_sha256={"a": 1})
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=str(trainee).upper(),
                      at=datetime.now(UTC) - timedelta(minutes=1))
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id="not-a-uuid")
    device.add_signin(visit_id=visit_id, class_id=klass, trainee_id=uuid.uuid4())
    body = device.push()[1]
    assert [r["status"] for r in body["results"]] == [
        "applied", "rejected", "applied", "rejected", "rejected"]
    assert [r.get("code") for r in body["results"][1:4:2]] == ["validation_error"] * 2
    assert body["results"][4]["code"] == "signin.unknown_trainee"
    assert count(SignIn) == 2


def test_an_id_already_taken_rejects_only_that_mutation(client, world):
    device = phone(client)
    klass = world.classes["a"]
    taken = device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id,
                              trainee_id=world.trainees[0].id)
    device.push()
    device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id, trainee_id=world.trainees[1].id)
    device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id, trainee_id=world.trainees[2].id,
                      signin_id=taken["entity_id"])
    device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id, trainee_id=world.trainees[3].id)
    body = device.push()[1]
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "applied"]
    assert body["results"][1]["code"] == "sync.conflict"
    assert count(SignIn) == 3 and body["last_seq"] == 4


def _queue_signin_reusing_an_id(first, second, world) -> tuple[dict, dict]:
    """first pushes a sign-in; second queues another sign-in under the same mutation_id.

    Returns (the pushed mutation, the queued one)."""
    klass = world.classes["a"]
    taken = first.add_signin(visit_id=uuid.uuid4(), class_id=klass.id,
                             trainee_id=world.trainees[0].id)
    first.push()
    again = second.add_signin(visit_id=uuid.uuid4(), class_id=klass.id,
                              trainee_id=world.trainees[1].id)
    again["mutation_id"] = taken["mutation_id"]
    return taken, again


@pytest.mark.parametrize("device_id, seq", [("phone-a1", 2), ("phone-a2", 1)],
                         ids=["same device, later seq", "another device's first push"])
def test_a_mutation_id_used_before_is_rejected_as_reused(client, world, device_id, seq):
    # Another device's first push: the owner look-up runs when a seq lies beyond the device's
    # last, 0 when it has none yet.
    first = phone(client, device_id="phone-a1")
    second = first if device_id == "phone-a1" else phone(client, device_id=device_id)
    _queue_signin_reusing_an_id(first, second, world)
    body = second.push()[1]
    assert [(r["seq"], r["status"], r.get("code")) for r in body["results"]] == [
        (seq, "rejected", "sync.mutation_reused")]
    assert count(SignIn) == 1 and count(SyncLedger) == 2


def test_two_users_of_one_phone_each_reuse_an_id_without_wedging(client, world):
    # The reused mutation's ledger key was made of the device and the seq only: the second user
    # of a shared phone to reuse an id at seq 2 hit the first's key, and every retry answered
    # 503 sync.busy (their outbox stuck at seq 2 for ever).
    make_user("inspector_a2", "inspector", world.counties["a"])
    db.session.commit()
    for username in ("inspector_a", "inspector_a2"):
        device = phone(client, username, "shared-phone")
        _queue_signin_reusing_an_id(device, device, world)
        status, body = device.push()
        assert status == 200, body
        assert [(r["seq"], r["status"], r.get("code")) for r in body["results"]] == [
            (2, "rejected", "sync.mutation_reused")]
    assert count(SyncLedger) == 4


def test_a_batch_replaying_a_mutation_and_reusing_its_id_gets_both_answers_again(client, world):
    # The batch's one ledger query finds the id's owner among the batch's own replays.
    device = phone(client)
    first, again = _queue_signin_reusing_an_id(device, device, world)
    status, body = device.send([first, again])
    assert status == 200
    assert [(r["seq"], r["status"], r["replayed"], r.get("code")) for r in body["results"]] == [
        (1, "applied", True, None), (2, "rejected", False, "sync.mutation_reused")]
    status, body = device.send([first, again])  # the same batch again: both are replays now
    assert [(r["status"], r["replayed"], r.get("code")) for r in body["results"]] == [
        ("applied", True, None), ("rejected", True, "sync.mutation_reused")]
    assert count(SignIn) == 1 and count(SyncLedger) == 2 and body["last_seq"] == 2


def test_a_seq_taken_by_another_mutation_is_not_reported_as_applied(client, world):
    device = phone(client)
    klass = world.classes["a"]
    device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id, trainee_id=world.trainees[0].id)
    device.push()
    other = device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id,
                              trainee_id=world.trainees[1].id)
    other["seq"] = 1
    result = device.push()[1]["results"][0]
    assert result["status"] == "rejected" and result["code"] == "sync.seq_reused"
    assert count(SignIn) == 1


def test_pushing_for_another_device_is_forbidden_and_changes_nothing(client, world):
    device = phone(client)
    device.add_signin(visit_id=uuid.uuid4(), class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id)
    device.device_id = "someone-elses-phone"
    status, body = device.send(device.outbox)
    assert status == 403 and body["code"] == "sync.device_mismatch"
    assert count(SyncLedger) == 0


def test_a_malformed_batch_is_422_and_changes_nothing(client, world):
    device = phone(client)
    device.add_signin(visit_id=uuid.uuid4(), class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id)
    device.outbox[0]["seq"] = 0
    status, body = device.send(device.outbox)
    assert status == 422 and body["code"] == "validation_error"
    assert "mutations" in body["errors"]
    assert count(SyncLedger) == 0 and count(SignIn) == 0


def test_a_base_user_cannot_push(client, world):
    status, body = phone(client, "base_a", "base-phone").send([])
    assert status == 403


def test_expired_token_is_401_then_after_login_the_outbox_applies_once(client, world):
    device = phone(client)
    queue_visit(device, world)
    token = db.session.scalar(select(ApiToken).where(ApiToken.device_id == device.device_id))
    token.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    status, body = device.push()
    assert status == 401 and body["code"] == "auth.token_invalid"
    assert len(device.outbox) == 6 and count(SyncLedger) == 0
    assert device.login("inspector_a", TEST_PASSWORD) == 200
    status, body = device.push()
    assert status == 200 and [r["status"] for r in body["results"]] == ["applied"] * 6
    assert device.outbox == [] and count(Visit) == 1 and count(SignIn) == 5


def test_a_visit_out_of_the_inspectors_county_is_rejected(client, world):
    device = phone(client)  # county a
    queue_visit(device, world, key="b")
    result = device.push()[1]["results"][-1]
    assert result["status"] == "rejected" and result["code"] == "visit.unknown_class"
    assert count(Visit) == 0


def test_a_payload_that_breaks_the_schema_is_rejected_with_field_errors(client, world):
    device = phone(client)
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload["verdict"] = "fine"
    device.add_visit(seal(payload))
    result = device.push()[1]["results"][0]
    assert result["status"] == "rejected" and result["code"] == "validation_error"
    assert "verdict" in result["errors"]


def test_unknown_mutation_type_is_rejected_and_consumes_its_seq(client, world):
    device = phone(client)
    device.add("visit.teleport", {"x": 1})
    device.add_signin(visit_id=uuid.uuid4(), class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id)
    body = device.push()[1]
    assert [r["status"] for r in body["results"]] == ["rejected", "applied"]
    assert body["results"][0]["code"] == "sync.unknown_type" and body["last_seq"] == 2


def test_batches_of_any_size_and_an_empty_one_are_answered_from_one_ledger_query(client, world):
    """The ledger query pads its lists (3 -> 4, 5 -> 8): padding finds nothing more."""
    device = phone(client)
    klass = world.classes["a"]
    visit_id = uuid.uuid4()
    for trainee in world.trainees[:5]:
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id)
    batch = list(device.outbox)
    status, body = device.send(batch[:3])
    assert status == 200 and body["last_seq"] == 3
    status, body = device.send(batch)
    assert [r["replayed"] for r in body["results"]] == [True] * 3 + [False] * 2
    assert [r["status"] for r in body["results"]] == ["applied"] * 5
    status, body = device.send([])
    assert status == 200 and body == {"results": [], "last_seq": 5}
    status, body = device.send(batch[::-1])
    assert [r["seq"] for r in body["results"]] == [5, 4, 3, 2, 1]
    assert all(r["replayed"] for r in body["results"])
    assert count(SignIn) == 5 and count(SyncLedger) == 5


def test_the_ledger_query_takes_a_batch_of_the_largest_size(client, world):
    """1,000 seqs and ids (padded to 1,024 each) fit one statement on either database."""
    device = phone(client)
    klass = world.classes["a"]
    device.add_signin(visit_id=uuid.uuid4(), class_id=klass.id, trainee_id=world.trainees[0].id)
    first = device.outbox[0]
    device.push()
    user = db.session.scalar(select(User).where(User.username == "inspector_a"))
    batch = [Mutation(first["mutation_id"], 1, "signin.create", None, None, {}, {})] + [
        Mutation(str(uuid.uuid4()), seq, "signin.create", None, None, {}, {})
        for seq in range(2, MAX_BATCH + 1)]
    store = SqlStore(PushContext(user=user, device_id=device.device_id, received_at=utcnow(),
                                 batch=batch), careful=False)
    assert store.last_seq(device.device_id) == 1
    assert list(store.ledger_entries(device.device_id, [1])) == [1]
    assert store.mutation_owners([m.mutation_id for m in batch]) == {
        first["mutation_id"]: (device.device_id, 1)}


def test_a_list_parameter_means_in_and_not_in_on_every_database(app, world):
    from server.models import Trainee
    from server.services.push_context import any_of, dialect_name, none_of

    dialect, column = dialect_name(), Trainee.__table__.c.id
    every = {t.id for t in world.trainees}
    some = [world.trainees[0].id, uuid.uuid4()]
    matching = select(column).where(any_of(column, "ids", dialect))
    others = select(column).where(none_of(column, "ids", dialect))
    assert set(db.session.scalars(matching, {"ids": some})) == {world.trainees[0].id}
    assert set(db.session.scalars(others, {"ids": some})) == every - {world.trainees[0].id}
    assert set(db.session.scalars(matching, {"ids": []})) == set()
    assert set(db.session.scalars(others, {"ids": []})) == every


def test_a_list_parameter_is_one_statement_whatever_its_length(app, world):
    # The list is one bound value (an array, a JSON array on SQLite): a statement built once
    # is sent as the same SQL for 1 id and for 100, and finds the same rows an IN finds.
    from server.models import Trainee
    from server.services.push_context import any_of, dialect_name
    from tests.sync.statements import statements

    column = Trainee.__table__.c.id
    matching = select(column).where(any_of(column, "ids", dialect_name()))
    wanted = [t.id for t in world.trainees]
    lists = [wanted[:1], [*wanted, *(uuid.uuid4() for _ in range(100))]]
    with statements() as seen:
        found = [set(db.session.scalars(matching, {"ids": ids})) for ids in lists]
    assert found == [set(wanted[:1]), set(wanted)]
    assert len(seen) == 2 and seen[0] == seen[1]


def test_bulk_insert_stores_what_an_orm_insert_stores(app, world):
    # bulk_insert converts each value itself (a faster equivalent for UTC times on SQLite): the
    # stored values, read back raw from the driver, are those SQLAlchemy's insert writes.
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import bindparam, insert, text

    from server.services.push_context import bulk_insert

    user = db.session.scalar(select(User))
    received = datetime(2026, 3, 2, 3, 0, 5, 123456, tzinfo=UTC)
    times = [datetime(2026, 3, 2, 1, 0, 5, 120000, tzinfo=UTC), datetime(2026, 3, 2, 1, tzinfo=UTC),
             datetime(2026, 3, 2, 9, 0, 5, 1, tzinfo=timezone(timedelta(hours=8)))]

    def rows():
        return [{"id": uuid.uuid4(), "visit_id": uuid.uuid4(), "trainee_id": world.trainees[0].id,
                 "method": "manual", "badge_token": None, "at": at,
                 "gps": {"lat": 36.5, "lon": 119.0, "captured_at": "2026-03-02T01:00:05Z"},
                 "signature_sha256": None, "device_id": "phone-名", "user_id": user.id,
                 "received_at": received, "flags": (), "row_seal": "ab" * 32} for at in times]

    fast, reference = rows(), rows()
    bulk_insert(SignIn.__table__, fast)
    db.session.execute(insert(SignIn.__table__), reference)
    table = SignIn.__table__.name
    columns = [c.name for c in SignIn.__table__.c if c.name not in ("id", "visit_id")]
    query = text(f"SELECT {', '.join(columns)} FROM {table} WHERE id = :id").bindparams(
        bindparam("id", type_=SignIn.__table__.c.id.type))

    def stored(row):
        return tuple(db.session.execute(query, {"id": row["id"]}).one())

    for mine, theirs in zip(fast, reference, strict=True):
        assert stored(mine) == stored(theirs)


def test_a_county_visit_of_a_session_the_city_checked_covertly_is_not_flagged(client, world):
    # Two checks, not a repeat; and the flag would tell the county inspector of the covert
    # check before its review (R10).
    county = phone(client, device_id="phone-a1")
    mine = queue_visit(county, world)
    covert_device = phone(client, "city_inspector", "phone-city")
    covert = queue_visit(covert_device, world)
    assert covert_device.push()[1]["results"][-1]["status"] in ("applied", "flagged")
    result = county.push()[1]["results"][-1]
    assert result["status"] == "applied", result
    assert db.session.get(Visit, mine).flags == []
    assert "visit.duplicate_session" not in db.session.get(Visit, covert).flags
    again = phone(client, device_id="phone-a2")
    repeat = queue_visit(again, world)
    assert again.push()[1]["results"][-1]["code"] == "visit.duplicate_session"
    assert db.session.get(Visit, repeat).flags == ["visit.duplicate_session"]


def test_a_batch_that_lost_to_another_is_tried_again_and_a_plain_error_is_not():
    # A PostgreSQL deadlock was retried only because its message says "blocked by"; it is now
    # retried by its SQLSTATE, as a serialization failure is, and SQLite's busy lock by its words.
    import sqlite3

    import psycopg
    from sqlalchemy.exc import OperationalError

    def wrapped(orig: Exception) -> OperationalError:
        return OperationalError("INSERT", {}, orig)

    assert sync_store._is_retryable(wrapped(psycopg.errors.DeadlockDetected("deadlock")))
    assert sync_store._is_retryable(wrapped(psycopg.errors.SerializationFailure("conflict")))
    assert sync_store._is_retryable(wrapped(sqlite3.OperationalError("database is locked")))
    assert not sync_store._is_retryable(wrapped(psycopg.errors.QueryCanceled("timeout")))
    assert not sync_store._is_retryable(wrapped(sqlite3.OperationalError("disk I/O error")))
