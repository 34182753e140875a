"""Anti-proxy flags (代签 caught, never silently accepted) and the attendance reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.errors import ApiError
from server.extensions import db
from server.models import SignIn, Visit
from server.services.badges import sign_badge
from server.services.selfsignin import check_code
from server.services.signin_flags import (
    flag_signin,
    geofence_flag,
    reconcile_attendance,
    verify_badge_for,
    visit_signin_flags,
)
from tests.conftest import make_test_app
from tests.e2e.conftest import offset_point
from tests.visits.signin_helpers import code_for, inspector_token, make_visit, self_sign_in

T0 = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)


def _badge_scan(world, visit_id, trainee, at, *, class_key="a", gps="site") -> SignIn:
    site = world.sites[class_key]
    signin = SignIn(
        visit_id=visit_id, trainee_id=trainee.id, method="badge", at=at,
        badge_token=sign_badge(trainee.id, world.classes[class_key].id),
        gps={"lat": site.lat, "lon": site.lon, "accuracy": 8} if gps == "site" else gps,
        device_id="phone-1",
    )
    db.session.add(signin)
    db.session.flush()
    flag_signin(signin, world.classes[class_key].id)
    db.session.commit()
    return signin


@pytest.fixture
def code(world, api):
    token = inspector_token(api)
    visit_id = uuid.uuid4()
    return visit_id, code_for(token, world.classes["a"].id, visit_id)


def test_one_phone_signing_in_several_trainees_flags_them_all(client, world, code):
    visit_id, c = code
    site = world.sites["a"]
    for trainee in world.trainees[:3]:
        # The test client keeps its cookies: one phone, three trainees.
        response = self_sign_in(client, c, trainee, lat=site.lat, lon=site.lon)
        assert response.status_code == 200
    rows = db.session.scalars(select(SignIn).where(SignIn.visit_id == visit_id)).all()
    assert len(rows) == 3
    assert all("signin.same_device_multiple" in s.flags for s in rows)
    assert "同一部手机为多名学员签到" in response.get_data(as_text=True)


def test_different_phones_are_not_flagged(app, world, code):
    visit_id, c = code
    site = world.sites["a"]
    for trainee in world.trainees[:2]:
        phone = app.test_client()  # a fresh cookie jar: another phone
        assert self_sign_in(phone, c, trainee, lat=site.lat, lon=site.lon).status_code == 200
    rows = db.session.scalars(select(SignIn).where(SignIn.visit_id == visit_id)).all()
    assert [s.flags for s in rows] == [[], []]


def test_one_trainee_signing_in_twice_is_flagged(app, world, code):
    visit_id, c = code
    site = world.sites["a"]
    for _ in range(2):
        response = self_sign_in(app.test_client(), c, world.trainees[0], lat=site.lat, lon=site.lon)
        assert response.status_code == 200
    rows = db.session.scalars(select(SignIn).where(SignIn.visit_id == visit_id)
                              .order_by(SignIn.received_at)).all()
    assert [s.flags for s in rows] == [[], ["signin.duplicate_trainee"]]
    assert "已经签到过" in response.get_data(as_text=True)


def test_a_second_badge_scan_of_the_same_trainee_is_flagged(world):
    visit_id = uuid.uuid4()
    first = _badge_scan(world, visit_id, world.trainees[0], T0)
    second = _badge_scan(world, visit_id, world.trainees[0], T0 + timedelta(seconds=20))
    assert (first.flags, second.flags) == ([], ["signin.duplicate_trainee"])


def test_a_duplicate_arriving_before_the_first_scan_is_still_the_one_flagged(world):
    visit_id = uuid.uuid4()
    later = _badge_scan(world, visit_id, world.trainees[0], T0 + timedelta(seconds=20))
    first = _badge_scan(world, visit_id, world.trainees[0], T0)
    assert (first.flags, later.flags) == ([], ["signin.duplicate_trainee"])


def test_a_sign_in_outside_the_geofence_is_flagged(client, world, code):
    visit_id, c = code
    site = world.sites["a"]
    lat, lon = offset_point(site.lat, site.lon, 2000)  # 2 km north: at home, not in class
    response = self_sign_in(client, c, world.trainees[0], lat=lat, lon=lon, accuracy=20)
    assert response.status_code == 200
    assert "不在培训场所范围内" in response.get_data(as_text=True)
    signin = db.session.scalars(select(SignIn)).one()
    assert signin.flags == ["signin.outside_geofence"]


def test_the_edge_of_the_geofence_counts_the_fix_accuracy(world):
    site = world.sites["a"]
    near = offset_point(site.lat, site.lon, site.radius_m + 40)
    inside = _badge_scan(world, uuid.uuid4(), world.trainees[0], T0,
                         gps={"lat": near[0], "lon": near[1], "accuracy": 50})
    outside = _badge_scan(world, uuid.uuid4(), world.trainees[0], T0,
                          gps={"lat": near[0], "lon": near[1], "accuracy": 10})
    assert (inside.flags, outside.flags) == ([], ["signin.outside_geofence"])


def test_a_fix_the_place_check_cannot_use_places_no_sign_in(world):
    # A mocked fix or one without an accuracy made the visit's place unverifiable (judge_place)
    # but placed a sign-in inside the fence (a mocked one at the site) or outside it.
    site = world.sites["a"]
    at_site = {"lat": site.lat, "lon": site.lon, "accuracy": 5}
    assert geofence_flag(at_site, [site]) is None
    assert geofence_flag({**at_site, "mocked": True}, [site]) == "signin.location_unverified"
    far = offset_point(site.lat, site.lon, site.radius_m + 400)
    assert geofence_flag({"lat": far[0], "lon": far[1]}, [site]) == "signin.location_unverified"
    assert geofence_flag({"lat": far[0], "lon": far[1], "accuracy": 5}, [site]) == \
        "signin.outside_geofence"


def test_a_sign_in_without_a_location_is_flagged_unverified(client, world, code):
    assert self_sign_in(client, code[1], world.trainees[0], lat=None, lon=None).status_code == 200
    assert db.session.scalars(select(SignIn)).one().flags == ["signin.location_unverified"]


def test_a_code_used_after_its_window_is_refused_and_shows_in_the_review(client, world, api):
    token = inspector_token(api)
    visit = make_visit(world, headcount=5)
    old = code_for(token, world.classes["a"].id, visit.id, datetime.now(UTC) - timedelta(minutes=2))
    assert client.get(f"/s/{old}").status_code == 410
    with pytest.raises(ApiError):
        check_code(old)
    assert [f["code"] for f in visit_signin_flags(visit.id)] == ["signin.code_expired"] * 2
    attendance = reconcile_attendance(visit)
    assert attendance.flags["signin.code_expired"] == 2
    proxy = [f for f in attendance.findings if f["code"] == "signin.proxy_suspected"]
    assert proxy and "signin.code_expired" in proxy[0]["details"]["reasons"]
    # The visit was already stored: its flags name the refused attempt for the review.
    db.session.refresh(visit)
    assert "signin.code_expired" in visit.flags and "signin.proxy_suspected" in visit.flags


def test_ten_badge_scans_under_a_second_apart_are_flagged(world):
    visit_id = uuid.uuid4()
    trainees = world.trainees[:5] * 2  # a pile of badges, scanned one after another
    scans = [_badge_scan(world, visit_id, t, T0 + timedelta(milliseconds=600 * i))
             for i, t in enumerate(trainees)]
    assert all("signin.rapid_scans" in s.flags for s in scans)


def test_nine_fast_scans_or_ten_slow_ones_are_not_flagged(world):
    fast = [_badge_scan(world, uuid.UUID(int=1), t,
                        T0 + timedelta(milliseconds=600 * i))
            for i, t in enumerate(world.trainees[:9])]
    slow_visit = uuid.UUID(int=2)
    slow = [_badge_scan(world, slow_visit, t, T0 + timedelta(milliseconds=1500 * i))
            for i, t in enumerate(world.trainees[:10])]
    assert not any("signin.rapid_scans" in s.flags for s in fast + slow)


def test_a_badge_that_does_not_fit_is_invalid(world):
    trainee, klass = world.trainees[0], world.classes["a"]
    good = sign_badge(trainee.id, klass.id)
    assert verify_badge_for(good, class_id=klass.id, trainee_id=trainee.id).trainee_id == trainee.id
    foreign = sign_badge(world.trainees[5].id, world.classes["b"].id)
    altered = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    cases = [(foreign, None, "other_class"), (altered, None, "signature"),
             (None, None, "signature"),
             (good, world.trainees[1].id, "other_trainee")]
    for token, trainee_id, reason in cases:
        with pytest.raises(ApiError) as error:
            verify_badge_for(token, class_id=klass.id, trainee_id=trainee_id)
        assert (error.value.code, error.value.details["reason"]) == ("signin.badge_invalid", reason)
        assert error.value.status == 422


def test_full_attendance_raises_no_finding(world):
    visit = make_visit(world, headcount=5)
    for i, trainee in enumerate(world.trainees[:5]):
        _badge_scan(world, visit.id, trainee, T0 + timedelta(seconds=5 * i))
    attendance = reconcile_attendance(visit)
    assert (attendance.rate, len(attendance.present), attendance.absent) == (1.0, 5, [])
    assert attendance.by_method == {"badge": 5}
    assert attendance.findings == []


def test_low_attendance_is_a_finding(world):
    visit = make_visit(world, headcount=3)
    for i, trainee in enumerate(world.trainees[:3]):
        _badge_scan(world, visit.id, trainee, T0 + timedelta(seconds=5 * i))
    attendance = reconcile_attendance(visit)
    assert attendance.rate == 0.6
    assert [a["name"] for a in attendance.absent] == ["a学员3", "a学员4"]
    assert [f["code"] for f in attendance.findings] == ["attendance.low"]
    assert attendance.findings[0]["details"]["min_rate"] == 0.9


def test_someone_of_another_class_or_uncounted_is_an_unknown_person(world):
    visit = make_visit(world, headcount=7)
    for i, trainee in enumerate(world.trainees[:5]):
        _badge_scan(world, visit.id, trainee, T0 + timedelta(seconds=5 * i))
    db.session.add(SignIn(visit_id=visit.id, trainee_id=world.trainees[6].id, method="manual",
                          at=T0 + timedelta(minutes=1), device_id="phone-1"))
    db.session.commit()
    attendance = reconcile_attendance(visit)
    assert [u["name"] for u in attendance.unknown] == ["b学员1"]
    unknown = [f for f in attendance.findings if f["code"] == "attendance.unknown_person"]
    assert unknown[0]["details"] == {"unknown_signins": 1, "in_room_not_signed_in": 2}


def test_more_sign_ins_than_people_in_the_room_is_suspected_proxy(world):
    visit = make_visit(world, headcount=3)
    for i, trainee in enumerate(world.trainees[:5]):
        _badge_scan(world, visit.id, trainee, T0 + timedelta(seconds=5 * i))
    attendance = reconcile_attendance(visit)
    proxy = [f for f in attendance.findings if f["code"] == "signin.proxy_suspected"]
    assert proxy[0]["details"]["reasons"] == ["signed_in_exceeds_headcount"]
    assert proxy[0]["details"]["signed_in"] == 5


def test_flags_on_sign_ins_make_the_visit_suspected_and_show_in_the_review(client, world, api):
    token = inspector_token(api)
    visit = make_visit(world, headcount=2)
    c = code_for(token, world.classes["a"].id, visit.id)
    site = world.sites["a"]
    for trainee in world.trainees[:2]:
        assert self_sign_in(client, c, trainee, lat=site.lat, lon=site.lon).status_code == 200
    attendance = reconcile_attendance(visit)
    assert attendance.flags == {"signin.same_device_multiple": 2}
    assert attendance.by_method == {"self": 2}
    codes = {f["code"] for f in attendance.findings}
    assert codes == {"attendance.low", "signin.proxy_suspected"}
    assert {f["code"] for f in visit_signin_flags(visit.id)} == {"signin.same_device_multiple"}


def test_the_minimum_rate_is_configurable(tmp_path, database_url):
    app = make_test_app(database_url, tmp_path, ATTENDANCE_MIN_RATE=0.5)
    with app.app_context():
        if database_url.startswith("postgresql"):
            from tests.conftest import _reset_pg_schema

            _reset_pg_schema()
        else:
            db.create_all()
        from tests.factories import build_world

        world = build_world()
        visit = make_visit(world, headcount=3)
        for i, trainee in enumerate(world.trainees[:3]):
            _badge_scan(world, visit.id, trainee, T0 + timedelta(seconds=5 * i))
        assert reconcile_attendance(visit).findings == []
        db.session.remove()
        if not database_url.startswith("postgresql"):
            db.drop_all()
        db.engine.dispose()


# --- through the sync push: the server checks every badge again -----------------------------


def _push_world(client, world):
    from tests.sync.fixtures import phone, publish_world

    publish_world(world)
    return phone(client)


def test_the_server_rejects_forged_altered_and_foreign_badges(client, world):
    device = _push_world(client, world)
    klass, trainee = world.classes["a"], world.trainees[0]
    good = sign_badge(trainee.id, klass.id)
    altered = good[:40] + ("A" if good[40] != "A" else "B") + good[41:]
    foreign = sign_badge(world.trainees[5].id, world.classes["b"].id)
    visit_id = uuid.uuid4()
    for token in (good, altered, foreign, "bm90LWEtYmFkZ2U"):
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=None, method="badge",
                          badge_token=token)
    status, body = device.push()
    assert status == 200, body
    results = body["results"]
    assert results[0]["status"] == "applied"
    assert [(r["status"], r["code"]) for r in results[1:]] == [("rejected",
                                                                "signin.badge_invalid")] * 3
    stored = db.session.scalars(select(SignIn)).all()
    assert [(s.trainee_id, s.method) for s in stored] == [(trainee.id, "badge")]


def test_pushed_rapid_scans_and_duplicates_are_flagged(client, world):
    device = _push_world(client, world)
    klass, site = world.classes["a"], world.sites["a"]
    visit_id = uuid.uuid4()
    gps = {"lat": site.lat, "lon": site.lon, "accuracy": 10.0,
           "captured_at": "2026-03-02T01:00:00Z",
           "mocked": False}
    for i, trainee in enumerate(world.trainees[:5] * 2):
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=trainee.id,
                          method="badge", badge_token=sign_badge(trainee.id, klass.id),
                          at=T0 + timedelta(milliseconds=400 * i), gps=gps)
    status, body = device.push()
    assert status == 200 and all(r["status"] == "applied" for r in body["results"]), body
    rows = db.session.scalars(select(SignIn).order_by(SignIn.at)).all()
    db.session.refresh(rows[0])
    assert all("signin.rapid_scans" in s.flags for s in rows)
    assert [("signin.duplicate_trainee" in s.flags) for s in rows] == [False] * 5 + [True] * 5
    assert not any("signin.outside_geofence" in s.flags for s in rows)


def test_a_pushed_visit_carries_its_attendance_findings(client, world):
    from tests.sync.client import visit_payload
    from tests.sync.fixtures import today_session

    device = _push_world(client, world)
    klass, version = world.classes["a"], world.versions["a"]
    visit_id = uuid.uuid4()
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id,
                                 method="badge",
                                 badge_token=sign_badge(t.id, klass.id))["entity_id"]
               for t in world.trainees[:3]]
    device.add_visit(visit_payload(class_id=klass.id, session=today_session(world),
                                   plan_version_id=version.id, site=world.sites["a"],
                                   signins=signins, headcount=3), visit_id=visit_id)
    status, body = device.push()
    assert status == 200, body
    visit = db.session.get(Visit, visit_id)
    db.session.refresh(visit)
    assert "attendance.low" in visit.flags
    assert visit.checks["reconciliation"]["rate"] == 0.6
    assert [a["name"] for a in visit.checks["reconciliation"]["absent"]] == ["a学员3", "a学员4"]
    # Two late sign-ins, pushed after the visit, lift the attendance and clear the finding.
    for t in world.trainees[3:5]:
        device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id,
                          method="badge", badge_token=sign_badge(t.id, klass.id))
    status, body = device.push()
    assert status == 200, body
    db.session.refresh(visit)
    assert visit.checks["reconciliation"]["rate"] == 1.0
    assert not set(visit.flags) & {"attendance.low"}
    assert "signin.proxy_suspected" in visit.flags  # 5 signed in, 3 counted in the room


def test_a_self_sign_in_after_its_visit_is_stored_judges_the_visit_again(app, client, runner,
                                                                          world, api):
    from tests.sync.client import visit_payload
    from tests.sync.fixtures import today_session

    device = _push_world(client, world)
    klass, version, site = world.classes["a"], world.versions["a"], world.sites["a"]
    visit_id = uuid.uuid4()
    signins = [device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=t.id,
                                 at=datetime.now(UTC) - timedelta(minutes=30))["entity_id"]
               for t in world.trainees[:3]]
    # Ended five minutes ago: the code its phone still shows is valid, a sign-in now is fresh.
    device.add_visit(visit_payload(class_id=klass.id, session=today_session(world),
                                   plan_version_id=version.id, site=site, signins=signins,
                                   started_at=datetime.now(UTC) - timedelta(minutes=45),
                                   headcount=5), visit_id=visit_id)
    status, body = device.push()
    assert status == 200, body
    visit = db.session.get(Visit, visit_id)
    assert "attendance.low" in visit.flags
    # Two latecomers sign themselves in on their own phones with the code the inspector shows.
    shown = code_for(inspector_token(api), klass.id, visit_id)
    for trainee in world.trainees[3:5]:
        response = self_sign_in(app.test_client(), shown, trainee, lat=site.lat, lon=site.lon)
        assert response.status_code == 200
    db.session.refresh(visit)
    assert visit.checks["reconciliation"]["rate"] == 1.0
    assert visit.checks["reconciliation"]["by_method"] == {"manual": 3, "self": 2}
    assert "attendance.low" not in visit.flags
    result = runner.invoke(args=["verify"])  # the visit's new findings are sealed with it
    assert result.exit_code == 0, result.output
