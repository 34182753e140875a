"""The seal covers everything shown: `flask verify` names a visit whose verdict, checks or flags,
or a sign-in whose row, was edited in the database behind the server's back."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from server.extensions import db
from server.models import SignIn, Visit
from tests.sync.fixtures import phone, queue_visit


def _push(client, world) -> uuid.UUID:
    device = phone(client, device_id=f"phone-{uuid.uuid4()}")
    visit_id = queue_visit(device, world)
    status, body = device.push()
    assert {r["status"] for r in body["results"]} <= {"applied", "flagged"}
    return visit_id


def _verify(runner):
    result = runner.invoke(args=["verify"])
    return result.exit_code, result.output


def test_intact_records_verify_clean_after_the_server_s_own_updates(client, runner, world):
    _push(client, world)  # sign-ins first, then the visit: attendance judged again, flags raised
    code, output = _verify(runner)
    assert code == 0, output


def test_an_edited_verdict_is_named(client, runner, world):
    visit_id = _push(client, world)
    other = _push(client, world)
    db.session.execute(update(Visit).where(Visit.id == visit_id)
                       .values(verdict="could_not_inspect"))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert f"visit {visit_id}: shown values differ from the sealed payload (verdict)" in output
    assert str(other) not in output


def test_edited_checks_or_flags_are_named(client, runner, world):
    visit_id = _push(client, world)
    flagged = _push(client, world)
    visit = db.session.get(Visit, visit_id)
    checks = {**visit.checks, "place": {"status": "match", "reason": "edited"}}
    db.session.execute(update(Visit).where(Visit.id == visit_id).values(checks=checks))
    db.session.execute(update(Visit).where(Visit.id == flagged).values(flags=[]))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert f"visit {visit_id}: shown values (checks" in output
    assert f"visit {flagged}: shown values (checks" in output


def test_an_edited_sign_in_row_is_named(client, runner, world):
    visit_id = _push(client, world)
    signin = db.session.query(SignIn).filter_by(visit_id=visit_id).first()
    db.session.execute(update(SignIn).where(SignIn.id == signin.id)
                       .values(trainee_id=world.trainees[-1].id))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert f"sign-in {signin.id} (visit {visit_id})" in output
