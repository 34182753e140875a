"""Flagging a push batch visit by visit gives exactly the flags of flagging each sign-in alone.

The reference below is the rule as first written (each new sign-in, earliest first, checked
against a fresh read of its visit's other sign-ins). flag_visit indexes the visit once instead;
Hypothesis compares the two on random visits: same flags, in the same order, on every sign-in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.services.signin_flags import (
    DUPLICATE,
    RAPID,
    SAME_DEVICE,
    _add_flag,
    _rapid_run,
    flag_visit,
    geofence_flag,
)

SITE = SimpleNamespace(lat=36.7075, lon=119.1610, radius_m=150)
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
RAPID_SETTINGS = (3, 1.0)  # small, so random visits often contain a rapid run
GPS = st.sampled_from([
    None, {"lat": 36.7075, "lon": 119.1610, "accuracy": 8},  # at the site
    {"lat": 36.80, "lon": 119.30, "accuracy": 10},  # far away
    {"lat": 36.7075, "lon": 119.1610, "accuracy": 900},  # too poor a fix
])


def _signin(draw_values: tuple, received: int) -> SimpleNamespace:
    trainee, method, device, tenths, gps = draw_values
    return SimpleNamespace(
        id=uuid.uuid4(), trainee_id=trainee, method=method, device_id=device,
        at=START + timedelta(seconds=tenths / 10), gps=gps, flags=[],
        received_at=START + timedelta(minutes=received),
    )


SIGNIN = st.tuples(
    st.sampled_from([None, *(uuid.UUID(int=i) for i in range(1, 5))]),
    st.sampled_from(["badge", "self", "manual"]),
    st.sampled_from([None, "phone-1", "phone-2"]),
    st.integers(min_value=0, max_value=60),  # tenths of a second: ties and fast runs happen
    GPS,
)


def _reference_flag(signin, visit_signins: list, sites: list) -> None:
    """The per-sign-in rule as first written, over the visit's rows as a query returned them."""
    others = [s for s in visit_signins if s.id != signin.id]
    earlier = [o for o in others if (o.at, str(o.id)) < (signin.at, str(signin.id))]
    if signin.trainee_id is not None and any(o.trainee_id == signin.trainee_id for o in earlier):
        _add_flag(signin, DUPLICATE)
    for later in (o for o in others if o not in earlier and o.trainee_id == signin.trainee_id
                  and signin.trainee_id is not None):
        _add_flag(later, DUPLICATE)
    if signin.method == "self" and signin.device_id:
        same_device = [o for o in others if o.method == "self" and o.device_id == signin.device_id
                       and o.trainee_id != signin.trainee_id]
        if same_device:
            _add_flag(signin, SAME_DEVICE)
            for other in same_device:
                _add_flag(other, SAME_DEVICE)
    if signin.method in ("self", "badge"):
        flag = geofence_flag(signin.gps, sites)
        if flag:
            _add_flag(signin, flag)
    if signin.method == "badge":
        badge = sorted([o for o in others if o.method == "badge"] + [signin], key=lambda s: s.at)
        for member in _rapid_run(badge, *RAPID_SETTINGS):
            _add_flag(member, RAPID)


def _clone(signins: list) -> list:
    return [SimpleNamespace(**{**vars(s), "flags": list(s.flags)}) for s in signins]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(SIGNIN, max_size=8), pushed=st.lists(SIGNIN, min_size=1, max_size=12),
       with_sites=st.booleans())
def test_batched_flags_equal_flagging_one_by_one(app, stored, pushed, with_sites):
    sites = [SITE] if with_sites else []
    old = [_signin(values, 0) for values in stored]
    new = [_signin(values, 1) for values in pushed]
    with app.app_context():
        # Sign-ins stored by earlier batches were flagged when they came.
        for index, signin in enumerate(old):
            _reference_flag(signin, sorted(old[:index + 1], key=lambda s: (s.at, s.received_at)),
                            sites)
        everyone = sorted(old + new, key=lambda s: (s.at, s.received_at))
        expected = _clone(everyone)
        by_id = {s.id: s for s in expected}
        for signin in sorted((by_id[s.id] for s in new), key=lambda s: (s.at, str(s.id))):
            _reference_flag(signin, expected, sites)

        # The visit's rows may come in any order (stored ones first, then the batch's).
        flag_visit(list(reversed(everyone)), new, lambda s: sites, RAPID_SETTINGS)

    assert [(s.id, s.flags) for s in everyone] == [(s.id, s.flags) for s in expected]


def test_a_rapid_run_and_a_late_duplicate_are_found_in_one_batch(app):
    trainees = [uuid.UUID(int=i) for i in range(1, 5)]
    new = [_signin((trainees[i % 4], "badge", "phone-1", i * 5, None), 1) for i in range(5)]
    with app.app_context():
        flag_visit(new, new, lambda s: [], RAPID_SETTINGS)
    # 0.5 s apart: all five are one rapid run; the fifth scans trainee 1 again.
    assert [s.flags for s in new] == [[RAPID]] * 4 + [[DUPLICATE, RAPID]]


def test_a_push_costs_the_same_queries_for_2_or_10_sign_ins(client, world):
    """Per-batch look-ups (trainees, the visit's sign-ins, flags), never one query per sign-in."""
    from sqlalchemy import event

    from server.extensions import db
    from tests.sync.fixtures import phone, publish_world

    publish_world(world)
    device = phone(client)
    klass, site = world.classes["a"], world.sites["a"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def push(trainees: list) -> int:
        visit_id = uuid.uuid4()
        for i, trainee in enumerate(trainees):
            device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id,
                              method="manual", at=START + timedelta(seconds=10 * i),
                              gps={"lat": site.lat, "lon": site.lon, "accuracy": 10.0,
                                   "captured_at": "2026-03-02T01:00:00Z", "mocked": False})
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            status, body = device.push()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert status == 200 and {r["status"] for r in body["results"]} == {"applied"}, body
        return len(statements)

    push(world.trainees[:1])  # the first push after login also loads the user once
    # Ten distinct trainees (both counties' rosters: existence is what is looked up).
    assert push(world.trainees[:2]) == push(world.trainees[:10])


def test_a_scan_arriving_after_its_duplicate_flags_the_stored_one(client, world):
    """The batch's rows are flagged in memory, earlier batches' rows through the session."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import SignIn
    from tests.sync.fixtures import phone, publish_world

    publish_world(world)
    device = phone(client)
    klass, trainee, visit_id = world.classes["a"], world.trainees[0], uuid.uuid4()
    late = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id,
                             at=START + timedelta(minutes=5))
    assert device.push()[0] == 200
    first = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id, at=START)
    other = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=world.trainees[1].id,
                              at=START + timedelta(minutes=1))
    again = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=world.trainees[1].id,
                              at=START + timedelta(minutes=2))
    assert device.push()[0] == 200
    db.session.expire_all()
    flags = {str(s.id): s.flags for s in db.session.scalars(select(SignIn))}
    assert flags == {late["entity_id"]: [DUPLICATE], first["entity_id"]: [],
                     other["entity_id"]: [], again["entity_id"]: [DUPLICATE]}
