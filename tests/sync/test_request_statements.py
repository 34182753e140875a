"""SQL statements of the morning's requests (bench/load_test.py): no query per entity, no row
read back that the request already holds. Counted with a SQLAlchemy event listener; no timing."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Media, PlanVersion, Visit
from tests.media.tus_client import Tus, make_jpeg
from tests.sync.client import visit_payload
from tests.sync.fixtures import new_plan_version, phone, publish_world, queue_visit, today_session
from tests.sync.statements import reads, statements


def pull_statements(device) -> int:
    with statements() as seen:
        pages, _ = device.pull_all()
    assert pages
    return len(seen)


def test_a_pull_page_reads_each_type_once_however_many_entities(client, world):
    publish_world(world)
    device = phone(client)
    version_id = world.versions["a"].id
    pull_statements(device)  # the first pull also publishes the badge key
    db.session.expunge_all()  # what the test holds must not spare the pull its reads
    before = pull_statements(device)
    # Two more plan versions in the same scope (with their sessions and rosters).
    new_plan_version(db.session.get(PlanVersion, version_id))
    new_plan_version(db.session.get(PlanVersion, version_id), topic_suffix="（再调整）")
    db.session.expunge_all()
    assert pull_statements(device) == before


def test_a_visit_pushed_with_its_sign_ins_is_judged_once(client, world):
    """The batch's visit is neither read back nor judged again by the end-of-batch steps."""
    publish_world(world)
    device = phone(client)
    visit_id = queue_visit(device, world)
    db.session.expunge_all()
    with statements() as seen:
        status, body = device.push()
    assert status == 200 and {r["status"] for r in body["results"]} <= {"applied", "flagged"}
    inserted = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO visit "))
    # Its look-ups (class, version, session, assignment, the version in force, a stored or
    # duplicate visit, foreign media) are one statement.
    assert len([s for s in seen[:inserted] if re.search(r"\bplan_(version|session)\b", s)]) == 1
    after = seen[inserted:]
    assert reads(after, "visit") == []
    assert reads(after, "plan_session") == [] and reads(after, "plan_version") == []
    # Written once, with its findings: no UPDATE after the INSERT.
    assert not [s for s in seen if s.startswith("UPDATE visit ")]
    # The visit's sign-ins are read once while judging (capture times and attendance; the
    # reconciliation reuses them) and once by the batch's flags (those stored by earlier pushes).
    assert len(reads(seen, "sign_in")) == 2
    # The roster is read once: judging counts the version's enrolments as loaded, and the
    # reconciliation names and counts the same collection.
    assert len(reads(seen, "enrollment")) == 1
    db.session.expire_all()
    assert db.session.get(Visit, visit_id).checks["attendance"]["present"] == 5


def test_a_sign_in_after_its_visit_in_the_same_batch_still_counts(client, world):
    publish_world(world)
    device = phone(client)
    klass, version = world.classes["a"], world.versions["a"]
    trainees = [t for t in world.trainees if t.name.startswith("a")]
    visit_id = uuid.uuid4()
    first = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainees[0].id)
    payload = visit_payload(class_id=klass.id, session=today_session(world),
                            plan_version_id=version.id, site=world.sites["a"],
                            signins=[first["entity_id"]])
    device.add_visit(payload, visit_id=visit_id)
    device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainees[1].id)
    status, body = device.push()
    assert status == 200 and len(body["results"]) == 3
    db.session.expire_all()
    assert db.session.get(Visit, visit_id).checks["attendance"]["present"] == 2


def _complete_upload(tus: Tus, data: bytes) -> Callable[[], object]:
    created = tus.create(data)
    assert created.status_code == 201
    return lambda: tus.patch(created.headers["Location"], 0, data)


def test_a_completing_patch_reads_its_upload_once_and_takes_no_savepoint(client, api, world):
    tus = Tus(client, api.headers("inspector_a"))
    data = make_jpeg(seed=7)
    # Two uploads of one file under way at once (two phones of a team): both complete.
    patches = [_complete_upload(tus, data), _complete_upload(tus, data)]
    db.session.expunge_all()
    with statements() as seen:
        response = patches[0]()
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(len(data))
    assert len(reads(seen, "upload")) == 1
    assert not [s for s in seen if "SAVEPOINT" in s]
    assert reads(seen, "media") == []
    # The local folder keeps no chunk rows: nothing to delete. On PostgreSQL the offset's UPDATE
    # rides in the Media row's INSERT (a data-modifying CTE); SQLite sends it on its own.
    assert not [s for s in seen if "upload_chunk" in s]
    writes = [s for s in seen if not s.startswith("SELECT")]
    assert len(writes) == (1 if db.engine.dialect.name == "postgresql" else 2)
    assert "UPDATE upload " in writes[0] and "INSERT INTO media " in writes[-1]
    # The second finds the file recorded: stored once, its row kept as the first wrote it.
    assert patches[1]().status_code == 204
    db.session.expire_all()
    media = db.session.scalars(select(Media)).all()
    assert [(m.sha256, m.size) for m in media] == [(hashlib.sha256(data).hexdigest(), len(data))]


def test_creating_an_upload_does_not_read_it_back(client, api, world):
    tus = Tus(client, api.headers("inspector_a"))
    db.session.expunge_all()
    with statements() as seen:
        created = tus.create(make_jpeg(seed=8))
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "0"
    # The token, then one INSERT … SELECT that applies the open-upload limit, looks for a file
    # already held and returns the new row's offset; nothing reads the row back.
    assert len(seen) == 2 and seen[0].startswith("SELECT")
    assert seen[1].startswith("INSERT INTO upload ") and "count(*)" in seen[1]
    assert "RETURNING" in seen[1]


def test_a_pull_with_nothing_new_reads_the_token_and_the_state_only(client, world):
    """The most common pull (nothing committed since the cursor) asks for no change."""
    publish_world(world)
    device = phone(client)
    _, cursor = device.pull_all()
    with statements() as seen:
        status, body = device.pull(cursor)
    assert status == 200 and body["changes"] == [] and body["cursor"] == cursor
    assert body["has_more"] is False and "gps_max_accuracy_m" in body["judging"]
    assert [s.split(" FROM ")[1].split()[0] for s in seen] == ["app_user", "sync_state"]


def test_a_replayed_push_reads_the_token_and_the_ledger_once_and_writes_nothing(client, world):
    publish_world(world)
    device = phone(client)
    queue_visit(device, world)
    batch = list(device.outbox)
    device.send(batch)
    with statements() as seen:
        status, body = device.send(batch)
    assert status == 200 and all(r["replayed"] for r in body["results"])
    assert len(seen) == 2 and reads(seen, "app_user") and reads(seen, "sync_ledger")


@pytest.mark.parametrize("late", [False, True])
def test_the_reconciliation_of_a_pushed_visit_sees_the_batchs_flags_and_late_sign_ins(
        client, world, late):
    """The end of the batch reconciles a visit from the sign-ins visit.submit read (with the
    flags the batch added since), or reads them again when a later sign-in belongs to it."""
    publish_world(world)
    device = phone(client)
    klass, version = world.classes["a"], world.versions["a"]
    trainees = [t for t in world.trainees if t.name.startswith("a")]
    visit_id = uuid.uuid4()
    first = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainees[0].id)
    again = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainees[0].id)
    payload = visit_payload(class_id=klass.id, session=today_session(world),
                            plan_version_id=version.id, site=world.sites["a"],
                            signins=[first["entity_id"], again["entity_id"]])
    device.add_visit(payload, visit_id=visit_id)
    if late:
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainees[1].id)
    status, body = device.push()
    assert status == 200 and len(body["results"]) == (4 if late else 3)
    db.session.expire_all()
    reconciliation = db.session.get(Visit, visit_id).checks["reconciliation"]
    assert reconciliation["flags"].get("signin.duplicate_trainee") == 1
    assert len(reconciliation["present"]) == (2 if late else 1)
    assert sum(reconciliation["by_method"].values()) == (3 if late else 2)
