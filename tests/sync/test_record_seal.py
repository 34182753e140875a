"""The seal covers everything shown: `flask verify` names a visit whose verdict, checks or flags,
or a sign-in whose row, was edited in the database behind the server's back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from server.extensions import db
from server.models import SignIn, Visit
from server.services.record_seal import record_seal, signin_seal, visit_seal
from tests.sync.fixtures import phone, queue_visit
from tests.visits.signin_helpers import code_for, inspector_token, self_sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


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


# --- a sign-in's flags are shown (review page, API detail, PDF, exports): they are sealed too --


def _signin_of(visit_id, trainee) -> SignIn:
    return db.session.scalar(select(SignIn).where(SignIn.visit_id == visit_id,
                                                  SignIn.trainee_id == trainee.id)
                             .order_by(SignIn.at))


def _scan_again(client, world, visit_id, trainee, minutes: int) -> SignIn:
    """A second push: the trainee signed in again, `minutes` after (or before) the first scan."""
    first = _signin_of(visit_id, trainee)
    device = phone(client, device_id=f"phone-{uuid.uuid4()}")
    again = device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                              trainee_id=trainee.id, at=first.at + timedelta(minutes=minutes))
    status, body = device.push()
    assert status == 200 and body["results"][0]["status"] in ("applied", "flagged")
    db.session.expire_all()
    return db.session.get(SignIn, uuid.UUID(again["entity_id"]))


def test_edited_sign_in_flags_are_named(client, runner, world):
    visit_id = _push(client, world)
    trainee = world.trainees[0]
    duplicate = _scan_again(client, world, visit_id, trainee, minutes=2)
    assert duplicate.flags == ["signin.duplicate_trainee"]
    clean = _signin_of(visit_id, world.trainees[1])
    assert clean.flags == []
    # A proxy sign-in hidden, and a clean one accused, in the database behind the server's back.
    db.session.execute(update(SignIn).where(SignIn.id == duplicate.id).values(flags=[]))
    db.session.execute(update(SignIn).where(SignIn.id == clean.id)
                       .values(flags=["signin.outside_geofence"]))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert f"sign-in {duplicate.id} (visit {visit_id})" in output
    assert f"sign-in {clean.id} (visit {visit_id})" in output
    assert output.count("sign-in ") == 2, output


def test_flags_the_server_adds_in_a_later_push_verify_clean(client, runner, world):
    visit_id = _push(client, world)
    # A scan after the stored one: the new row is flagged (the batch's own sign-ins).
    later = _scan_again(client, world, visit_id, world.trainees[0], minutes=2)
    assert later.flags == ["signin.duplicate_trainee"]
    # A scan before the stored one: the stored row is the duplicate (an earlier batch's row).
    stored = _signin_of(visit_id, world.trainees[1])
    _scan_again(client, world, visit_id, world.trainees[1], minutes=-2)
    db.session.refresh(stored)
    assert stored.flags == ["signin.duplicate_trainee"]
    code, output = _verify(runner)
    assert code == 0, output


def test_a_stale_sign_in_flagged_after_its_visit_verifies_clean(client, runner, world):
    visit_id = _push(client, world)
    late = _scan_again(client, world, visit_id, world.trainees[2], minutes=24 * 60)
    assert "signin.stale" in late.flags
    code, output = _verify(runner)
    assert code == 0, output


def test_self_sign_ins_flagged_on_a_later_request_verify_clean(client, runner, world, api):
    token = inspector_token(api)
    visit_id = uuid.uuid4()
    code_shown = code_for(token, world.classes["a"].id, visit_id)
    site = world.sites["a"]
    for trainee in world.trainees[:3]:  # one phone (one cookie jar) signing in three trainees
        response = self_sign_in(client, code_shown, trainee, lat=site.lat, lon=site.lon)
        assert response.status_code == 200
    rows = db.session.scalars(select(SignIn).where(SignIn.visit_id == visit_id)).all()
    assert [s.flags for s in rows] == [["signin.same_device_multiple"]] * 3
    code, output = _verify(runner)
    assert code == 0, output


def test_the_demo_verifies_clean_after_load_and_refresh(app, runner):
    from server.demo import load_demo_data, refresh_demo_data

    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1"  # the demo's many users, quickly
    yesterday = datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)
    assert load_demo_data(now=yesterday) is True
    assert db.session.scalar(select(func.count()).select_from(SignIn))  # sign-ins to verify
    code, output = _verify(runner)
    assert code == 0, output
    days, _ = refresh_demo_data(now=yesterday + timedelta(days=1))  # re-seals what it moves
    assert days == 1
    code, output = _verify(runner)
    assert code == 0, output


def test_an_unflagged_self_sign_in_verifies_clean(client, runner, world, api):
    # Made by the ORM with its id, flags and received time left to the column defaults.
    shown = code_for(inspector_token(api), world.classes["a"].id, uuid.uuid4())
    site = world.sites["a"]
    response = self_sign_in(client, shown, world.trainees[0], lat=site.lat, lon=site.lon)
    assert response.status_code == 200
    assert [s.flags for s in db.session.scalars(select(SignIn))] == [[]]
    code, output = _verify(runner)
    assert code == 0, output


def test_a_deleted_sign_in_is_named_by_its_visit(client, runner, world):
    from sqlalchemy import delete

    visit_id = _push(client, world)
    other = _push(client, world)
    late = _scan_again(client, world, other, world.trainees[0], minutes=2)  # counted later
    gone = _signin_of(visit_id, world.trainees[1])
    db.session.execute(delete(SignIn).where(SignIn.id == gone.id))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert (f"visit {visit_id}: sign-ins its sealed reconciliation counted are gone "
            "(manual: 1)") in output
    assert str(other) not in output and str(late.id) not in output


def test_a_deleted_refused_attempt_is_named_by_its_visit(client, runner, world, api):
    # A refused self sign-in is an audit row with no seal of its own; the visit's sealed
    # reconciliation counts it, so deleting the row is named like a deleted sign-in.
    from sqlalchemy import delete

    from server.models import AuditEvent

    visit_id = _push(client, world)
    old = code_for(inspector_token(api), world.classes["a"].id, visit_id,
                   datetime.now(UTC) - timedelta(minutes=2))
    assert client.get(f"/s/{old}").status_code == 410  # refused, recorded, the visit judged
    code, output = _verify(runner)
    assert code == 0, output
    refused = AuditEvent.action == "signin.code_expired"
    recorded = db.session.scalar(select(func.count()).select_from(AuditEvent).where(refused))
    assert recorded >= 1
    db.session.execute(delete(AuditEvent).where(refused))
    db.session.commit()
    code, output = _verify(runner)
    assert code == 1
    assert (f"visit {visit_id}: refused sign-in attempts its sealed reconciliation counted are "
            f"gone (signin.code_expired: {recorded})") in output


# --- the seal's bytes never change: rows sealed by earlier code must still verify ---------------

PLUS_8 = timezone(timedelta(hours=8))
PINNED_SIGNIN = {
    "id": uuid.UUID("0b7e5c1e-3a55-4c8e-9a51-0f6e1c2d3b4a"),
    "visit_id": uuid.UUID("9f1c2e3d-4b5a-4678-8e9f-a0b1c2d3e4f5"),
    "trainee_id": uuid.UUID("12345678-9abc-4def-8123-456789abcdef"),
    "method": "manual", "badge_token": None,
    "at": datetime(2026, 3, 2, 9, 0, 5, 120000, tzinfo=PLUS_8),
    "gps": {"lat": 36.70751234, "lon": 119.16102, "accuracy": 12.5,
            "captured_at": "2026-03-02T01:00:05Z", "mocked": False},
    "signature_sha256": "ab" * 32, "device_id": "phone-名", "user_id": uuid.UUID(int=7),
    "received_at": datetime(2026, 3, 2, 3, 0, 5, 123456), "flags": ("signin.duplicate_trainee",),
}
# An integral float (the reference writer's path), an empty list of flags, an aware UTC time.
PINNED_SIGNIN_SLOW = {**PINNED_SIGNIN, "gps": {**PINNED_SIGNIN["gps"], "accuracy": 5.0},
                      "flags": [], "at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC)}
PINNED_VISIT = SimpleNamespace(
    id=uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), class_id=uuid.UUID(int=1),
    session_id=None, assignment_id=uuid.UUID(int=2), plan_version_id=uuid.UUID(int=3),
    inspector_id=uuid.UUID(int=4), device_id="d1", started_at=datetime(2026, 3, 2, 1, 0),
    ended_at=datetime(2026, 3, 2, 2, 30, tzinfo=UTC),
    client_time=datetime(2026, 3, 2, 10, 31, tzinfo=PLUS_8),
    received_at=datetime(2026, 3, 2, 2, 31, 0, 1), verdict="issues", seal="cd" * 32,
    checks={"reconciliation": {"rate": 1.0, "present": [{"name": "张三", "trainee_id": "x"}],
                               "headcount": None},
            "place": {"status": "match", "distance_m": 12.25}, "day": "2026-03-02"},
    flags=["attendance.low"], supersedes_id=None, check_of_id=uuid.UUID(int=5))


@pytest.mark.parametrize(("seal", "values", "expected"), [
    (signin_seal, PINNED_SIGNIN,
     "cd4976abf2d5f49b768f1c14fb15b03731f328a9feb1d9e96ad3e98c566bf595"),
    (signin_seal, PINNED_SIGNIN_SLOW,
     "0c9c9049811a818fb4b75c43a69b9b7f2f49f13263dfb09aef57a3fc71a8187a"),
    (visit_seal, PINNED_VISIT, "8f66a5c89af32ec57e08998a9947f301118a98904d6e699e3a8492530761bd7d"),
    (lambda values: record_seal(("d", "dt"), values),
     {"d": date(2026, 3, 2), "dt": datetime(2026, 3, 2)},
     "3e13d1936bc76f932f500e30dc7c2ef59681af1b4a0cba159e80fe32e6980e3f"),
])
def test_the_seal_of_fixed_values_is_the_one_earlier_code_wrote(app, seal, values, expected):
    # The constants were computed by the code before canonical JSON went through orjson.
    app.config["SECRET_KEY"] = "pinned-secret"
    assert seal(values) == expected


def test_the_batch_sealer_writes_the_pinned_seals_and_signin_seal_s_for_any_row(app):
    # The push seals its rows with SigninSealer (the key read once, a shared received_at written
    # once, only the values gated): the same bytes as signin_seal, row after row.
    from server.services.record_seal import SigninSealer

    app.config["SECRET_KEY"] = "pinned-secret"
    with app.app_context():
        sealer = SigninSealer()
        rows = [dict(PINNED_SIGNIN), dict(PINNED_SIGNIN_SLOW)]
        for row in rows:
            sealer.seal(row)
        assert [row["row_seal"] for row in rows] == [
            "cd4976abf2d5f49b768f1c14fb15b03731f328a9feb1d9e96ad3e98c566bf595",
            "0c9c9049811a818fb4b75c43a69b9b7f2f49f13263dfb09aef57a3fc71a8187a"]
        shared = datetime(2026, 3, 2, 11, 0, tzinfo=PLUS_8)
        others = [  # naive and aware times, no gps, values only the slow writer writes
            {**PINNED_SIGNIN, "received_at": shared, "at": datetime(2026, 3, 2, 1, 0)},
            {**PINNED_SIGNIN, "received_at": shared, "gps": None, "badge_token": "b.t",
             "flags": ["x", "y"], "device_id": "d\u2028"},
            {**PINNED_SIGNIN, "received_at": None, "gps": {"lat": 2.0**60, "lon": -0.0,
                                                           "n": 2**70, "é𝄞": 1e-7}},
        ]
        for row in others:
            expected = signin_seal(row)
            sealer.seal(row)
            assert row["row_seal"] == expected
