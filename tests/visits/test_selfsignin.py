"""Self sign-in: rotating codes made offline on the inspector's phone, /s/<code> on the trainee's.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import select

from server.errors import ApiError
from server.extensions import db
from server.models import AuditEvent, Media, SignIn
from server.services import selfsignin
from server.services.auth import hash_password
from server.services.selfsignin import WINDOW_SECONDS, check_code, window_of
from server.services.signin_flags import visit_anomalies
from tests.media.tus_client import png_header_only
from tests.visits.signin_helpers import (
    TICKET,
    code_for,
    inspector_token,
    last6,
    make_visit,
    self_sign_in,
    signature_data_url,
)

NOW = datetime(2026, 3, 2, 1, 30, 10, tzinfo=UTC)  # 09:30:10 in Shanghai


def _flip(code: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.fixture
def token(world, api):
    return inspector_token(api)


@pytest.fixture
def class_a(world):
    return world.classes["a"]


def test_a_code_is_accepted_in_its_window_and_the_next(token, class_a):
    visit_id = uuid.uuid4()
    code = code_for(token, class_a.id, visit_id, NOW)
    for seconds in (-WINDOW_SECONDS, 0, WINDOW_SECONDS, 2 * WINDOW_SECONDS - 11):
        decoded = check_code(code, now=NOW + timedelta(seconds=seconds))
        assert (decoded.class_id, decoded.visit_id) == (class_a.id, visit_id)
        assert decoded.device_id == "phone-1"


def test_a_new_code_every_30_seconds(token, class_a):
    visit_id = uuid.uuid4()
    start = NOW - timedelta(seconds=10)  # the start of a window
    codes = {code_for(token, class_a.id, visit_id, start + timedelta(seconds=s))
             for s in range(0, 120, 10)}
    assert len(codes) == 4
    assert window_of(NOW + timedelta(seconds=20)) == window_of(NOW) + 1


def test_an_expired_code_is_refused_and_recorded(token, class_a):
    visit_id = uuid.uuid4()
    code = code_for(token, class_a.id, visit_id, NOW)
    with pytest.raises(ApiError) as refused:
        check_code(code, now=NOW + timedelta(seconds=2 * WINDOW_SECONDS))
    assert refused.value.code == "signin.code_expired"
    anomalies = visit_anomalies(visit_id)
    assert [a["code"] for a in anomalies] == ["signin.code_expired"]
    assert anomalies[0]["details"]["late_seconds"] == 60


def test_a_code_from_a_clock_far_ahead_is_refused(token, class_a):
    code = code_for(token, class_a.id, uuid.uuid4(), NOW + timedelta(minutes=5))
    with pytest.raises(ApiError) as refused:
        check_code(code, now=NOW)
    assert refused.value.code == "signin.code_invalid"


@pytest.mark.parametrize("index", [0, 5, 20, 34, 36, 40, 50, 60])
def test_an_altered_code_is_refused(token, class_a, index):
    code = _flip(code_for(token, class_a.id, uuid.uuid4(), NOW), index)
    with pytest.raises(ApiError) as refused:
        check_code(code, now=NOW)
    assert refused.value.code == "signin.code_invalid"


def test_a_code_made_with_another_key_or_for_another_class_is_refused(api, token, class_a, world):
    inspector_token(api, device_id="phone-2")
    genuine = code_for(token, class_a.id, uuid.uuid4(), NOW)
    raw = bytearray(base64.urlsafe_b64decode(genuine + "=="))
    raw[38:45] = b"phone-2"  # claim the other phone's key
    with pytest.raises(ApiError):
        check_code(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode(), now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(genuine + "=="))
    raw[1:17] = world.classes["b"].id.bytes  # move the code to class b
    with pytest.raises(ApiError):
        check_code(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode(), now=NOW)


def test_a_code_for_a_class_outside_the_inspector_s_county_is_refused(client, token, world):
    # The phone makes its codes offline and writes any class into them: the server must hold the
    # code's inspector to the scope a push of theirs is held to (signins.may_sign_in), or the
    # form would show another county's class and take sign-ins onto its visit.
    class_b = world.classes["b"]
    code = code_for(token, class_b.id, uuid.uuid4())
    page = client.get(f"/s/{code}")
    assert page.status_code in (400, 403, 404, 422)
    assert class_b.name not in page.get_data(as_text=True)
    form = {"ticket": "x", "name": world.trainees[6].name, "id_last6": last6(world.trainees[6]),
            "signature": signature_data_url(), "lat": "", "lon": "", "accuracy": "10"}
    assert client.post(f"/s/{code}", data=form).status_code in (400, 403, 404, 422)
    assert db.session.scalars(select(SignIn)).all() == []
    with pytest.raises(ApiError) as refused:
        check_code(code_for(token, class_b.id, uuid.uuid4(), NOW), now=NOW)
    assert refused.value.code == "signin.code_invalid"


def test_a_code_naming_another_class_s_stored_visit_is_refused(token, class_a, world):
    visit_b = make_visit(world, "b")
    db.session.commit()
    with pytest.raises(ApiError) as refused:
        check_code(code_for(token, class_a.id, visit_b.id, NOW), now=NOW)
    assert refused.value.code == "signin.code_invalid"


def test_a_phone_logged_in_again_still_has_its_codes_checked(api, token, class_a):
    again = inspector_token(api)  # same device, new token and key
    assert again.id != token.id
    for made_by in (token, again):
        code = code_for(made_by, class_a.id, uuid.uuid4(), NOW)
        assert check_code(code, now=NOW).token_id == made_by.id


def test_a_base_user_cannot_make_codes(api, world, class_a):
    staff = inspector_token(api, username="base_a", device_id="base-phone")
    with pytest.raises(ApiError):
        check_code(code_for(staff, class_a.id, uuid.uuid4(), NOW), now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "%%%", "A" * 92, "A" * 500])
def test_garbage_codes_are_refused(token, garbage):
    with pytest.raises(ApiError) as refused:
        check_code(garbage, now=NOW)
    assert refused.value.code == "signin.code_invalid"


def test_a_revoked_phone_cannot_make_codes_any_more(token, class_a):
    token.revoked_at = NOW
    db.session.commit()
    with pytest.raises(ApiError):
        check_code(code_for(token, class_a.id, uuid.uuid4(), NOW + timedelta(seconds=40)),
                   now=NOW + timedelta(seconds=40))


def test_a_phone_past_its_token_s_life_cannot_make_codes(token, class_a):
    # The key outlived its token: a phone whose login had expired, or whose inspector was
    # deactivated or changed the password (a lost phone), still made codes the form took.
    later = NOW + timedelta(seconds=40)
    code = code_for(token, class_a.id, uuid.uuid4(), later)
    assert check_code(code, now=later).visit_id
    token.expires_at = NOW
    db.session.commit()
    with pytest.raises(ApiError):
        check_code(code, now=later)
    token.expires_at = NOW + timedelta(days=1)
    token.user.password_hash = hash_password("another-password-2026")
    db.session.commit()
    with pytest.raises(ApiError):
        check_code(code, now=later)
    token.password_stamp = token.user.password_stamp
    token.user.active = False
    db.session.commit()
    with pytest.raises(ApiError):
        check_code(code, now=later)


def test_a_trainee_signs_in_on_their_own_phone(client, token, class_a, world):
    visit_id = uuid.uuid4()
    trainee = world.trainees[0]
    site = world.sites["a"]
    response = self_sign_in(client, code_for(token, class_a.id, visit_id), trainee,
                            lat=site.lat, lon=site.lon)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "签到成功" in body and trainee.name in body
    assert last6(trainee) not in body
    signin = db.session.scalars(select(SignIn)).one()
    assert (signin.visit_id, signin.trainee_id, signin.method) == (visit_id, trainee.id, "self")
    assert signin.flags == []
    assert signin.device_id.startswith("web:")
    assert signin.gps["lat"] == pytest.approx(site.lat)
    media = db.session.get(Media, signin.signature_sha256)
    assert media is not None and media.mime == "image/png"
    assert "sc_dev=" in response.headers.get("Set-Cookie", "") or client.get_cookie("sc_dev")


def test_the_form_shows_in_chinese_and_never_an_id_number(client, token, class_a, world):
    page = client.get(f"/s/{code_for(token, class_a.id, uuid.uuid4())}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "学员签到" in html and "身份证号后6位" in html and class_a.name in html
    assert all(t.id_masked not in html for t in world.trainees)
    assert "<script>" not in html  # the CSP forbids inline script
    # Tests share one app context across requests, so the language remembered in g must go.
    g.pop("lang", None)
    english = client.get(f"/s/{code_for(token, class_a.id, uuid.uuid4())}?lang=en")
    assert "Trainee sign-in" in english.get_data(as_text=True)


def test_an_expired_code_gets_a_clear_refusal_page(client, token, class_a):
    visit_id = uuid.uuid4()
    old = code_for(token, class_a.id, visit_id, datetime.now(UTC) - timedelta(minutes=3))
    page = client.get(f"/s/{old}")
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "签到二维码已过期" in html and 'data-code="signin.code_expired"' in html
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "signin.code_expired")).one().entity_id == str(visit_id)


def test_someone_not_on_the_roster_is_refused(client, token, class_a, world):
    outsider = world.trainees[5]  # enrolled in class b, not a
    response = self_sign_in(client, code_for(token, class_a.id, uuid.uuid4()), outsider,
                            lat=None, lon=None)
    assert response.status_code == 422
    assert "不在本班次已备案的名册中" in response.get_data(as_text=True)
    wrong_tail = self_sign_in(client, code_for(token, class_a.id, uuid.uuid4()), world.trainees[0],
                              lat=None, lon=None, id_last6="000000")
    assert wrong_tail.status_code == 422
    assert db.session.scalars(select(SignIn)).all() == []


def test_names_typed_with_spaces_and_a_lowercase_x_still_match(client, token, class_a, world):
    trainee = world.trainees[1]
    response = self_sign_in(client, code_for(token, class_a.id, uuid.uuid4()), trainee,
                            lat=None, lon=None, name=" ".join(trainee.name),
                            id_last6=last6(trainee).lower())
    assert response.status_code == 200


def test_guessing_id_numbers_is_stopped(client, token, class_a, world):
    visit_id = uuid.uuid4()
    code = code_for(token, class_a.id, visit_id)
    for guess in range(selfsignin.MAX_ROSTER_MISSES):
        assert self_sign_in(client, code, world.trainees[0], lat=None, lon=None,
                            id_last6=f"{guess:06d}").status_code == 422
    blocked = self_sign_in(client, code, world.trainees[0], lat=None, lon=None)
    assert blocked.status_code == 429
    assert db.session.scalars(select(SignIn)).all() == []


def test_a_bad_form_is_shown_again_with_the_reason(client, token, class_a, world):
    code = code_for(token, class_a.id, uuid.uuid4())
    ticket = TICKET.search(client.get(f"/s/{code}").get_data(as_text=True)).group(1)
    response = client.post(f"/s/{code}", data={
        "ticket": ticket, "name": world.trainees[0].name, "id_last6": "12",
        "signature": "not-a-picture"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请输入身份证号后6位" in html and "请在签名框内签名" in html
    assert db.session.scalars(select(SignIn)).all() == []


def test_a_signature_that_is_not_a_png_is_refused(client, token, class_a, world):
    code = code_for(token, class_a.id, uuid.uuid4())
    ticket = TICKET.search(client.get(f"/s/{code}").get_data(as_text=True)).group(1)
    response = client.post(f"/s/{code}", data={
        "ticket": ticket, "name": world.trainees[0].name, "id_last6": last6(world.trainees[0]),
        "signature": "data:image/png;base64," + base64.b64encode(b"GIF89a....").decode()})
    assert response.status_code == 422
    assert db.session.scalars(select(SignIn)).all() == []


def test_a_signature_with_png_magic_but_no_real_picture_is_refused(client, token, class_a, world):
    fake = png_header_only(100000, 100000)  # 65 bytes declaring 10 gigapixels
    code = code_for(token, class_a.id, uuid.uuid4())
    ticket = TICKET.search(client.get(f"/s/{code}").get_data(as_text=True)).group(1)
    response = client.post(f"/s/{code}", data={
        "ticket": ticket, "name": world.trainees[0].name, "id_last6": last6(world.trainees[0]),
        "signature": "data:image/png;base64," + base64.b64encode(fake).decode()})
    assert 400 <= response.status_code < 500
    assert db.session.scalars(select(SignIn)).all() == []
    assert db.session.scalars(select(Media)).all() == []


def test_a_stale_form_must_be_scanned_again(client, token, class_a, world, monkeypatch):
    monkeypatch.setattr(selfsignin, "FORM_MINUTES", -1)
    response = self_sign_in(client, code_for(token, class_a.id, uuid.uuid4()), world.trainees[0],
                            lat=None, lon=None)
    assert response.status_code == 410
    assert "重新扫描" in response.get_data(as_text=True)


def test_a_ticket_of_another_code_is_refused(client, token, class_a, world):
    first = code_for(token, class_a.id, uuid.uuid4())
    second = code_for(token, class_a.id, uuid.uuid4())
    ticket = TICKET.search(client.get(f"/s/{first}").get_data(as_text=True)).group(1)
    response = client.post(f"/s/{second}", data={
        "ticket": ticket, "name": world.trainees[0].name, "id_last6": last6(world.trainees[0]),
        "signature": signature_data_url()})
    assert response.status_code == 400
    assert db.session.scalars(select(SignIn)).all() == []


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_form_without_its_csrf_token_is_refused(self, client, token, class_a, world):
        code = code_for(token, class_a.id, uuid.uuid4())
        html = client.get(f"/s/{code}").get_data(as_text=True)
        ticket = TICKET.search(html).group(1)
        form = {"ticket": ticket, "name": world.trainees[0].name,
                "id_last6": last6(world.trainees[0]), "signature": signature_data_url()}
        assert client.post(f"/s/{code}", data=form).status_code == 400
        assert db.session.scalars(select(SignIn)).all() == []
        import re

        form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        assert client.post(f"/s/{code}", data=form).status_code == 200


def test_a_self_sign_in_after_its_visit_arrived_is_counted_by_the_attendance_check(
        client, token, class_a, world):
    # As for a pushed sign-in that arrives after its visit (visits.rejudge_touched_visits): the
    # visit's attendance check, not only its reconciliation, counts the late sign-in.
    from server.models import Visit
    from tests.sync.client import visit_payload
    from tests.sync.fixtures import phone, today_session

    visit_id = uuid.uuid4()
    device = phone(client, device_id="phone-pusher")
    device.add_visit(visit_payload(class_id=class_a.id, session=today_session(world),
                                   plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                   headcount=1), visit_id=visit_id)
    assert device.push()[1]["results"][0]["status"] in ("applied", "flagged")
    before = db.session.get(Visit, visit_id).checks["attendance"]
    assert before["present"] == 0
    site = world.sites["a"]
    response = self_sign_in(client, code_for(token, class_a.id, visit_id), world.trainees[0],
                            lat=site.lat, lon=site.lon)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    db.session.expire_all()
    after = db.session.get(Visit, visit_id).checks["attendance"]
    assert after["present"] == 1
    assert "attendance.count_differs" not in {r["code"] for r in after["reasons"]}


def test_a_self_sign_in_s_signature_is_its_inspector_s_evidence(client, token, class_a, world):
    # Stored for the inspector whose code was scanned: another county's push may not cite it
    # (visits.foreign_media); before, a file with no uploader belonged to nobody.
    from server.models import Media
    from tests.sync.fixtures import phone

    site = world.sites["a"]
    response = self_sign_in(client, code_for(token, class_a.id, uuid.uuid4()), world.trainees[0],
                            lat=site.lat, lon=site.lon)
    assert response.status_code == 200
    signature = db.session.scalars(select(SignIn)).one().signature_sha256
    assert db.session.get(Media, signature).uploaded_by_id == token.user_id
    other = phone(client, "inspector_b", "phone-b1")
    other.add_signin(visit_id=uuid.uuid4(), class_id=world.classes["b"].id,
                     trainee_id=world.trainees[6].id, signature_sha256=signature)
    status, body = other.push()
    assert body["results"][0]["code"] == "visit.foreign_media"


def test_the_inspector_s_phone_reads_the_self_signins_of_its_visit(client, api, token, class_a,
                                                                   world):
    # Trainees sign in on their own phones: the server has these sign-ins, the inspector's phone
    # does not, yet the server counts them in the visit's attendance. The phone asks for them.
    visit_id, site = uuid.uuid4(), world.sites["a"]
    for trainee in world.trainees[:2]:
        response = self_sign_in(client, code_for(token, class_a.id, visit_id), trainee,
                                lat=site.lat, lon=site.lon)
        assert response.status_code == 200
    path = f"/api/v1/visits/{visit_id}/self-signins"
    answer = client.get(path, query_string={"class_id": str(class_a.id)},
                        headers=api.headers("inspector_a"))
    assert answer.status_code == 200, answer.get_json()
    stored = db.session.scalars(select(SignIn).order_by(SignIn.at, SignIn.id)).all()
    assert answer.get_json()["signins"] == [
        {"id": str(s.id), "trainee_id": str(s.trainee_id),
         "at": s.at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"), "flags": s.flags}
        for s in stored]
    assert {s["trainee_id"] for s in answer.get_json()["signins"]} == {
        str(t.id) for t in world.trainees[:2]}


def test_another_county_s_inspector_cannot_read_a_visit_s_self_signins(client, api, token,
                                                                       class_a, world):
    visit_id, site = uuid.uuid4(), world.sites["a"]
    self_sign_in(client, code_for(token, class_a.id, visit_id), world.trainees[0],
                 lat=site.lat, lon=site.lon)
    path = f"/api/v1/visits/{visit_id}/self-signins"
    outsider = api.headers("inspector_b")
    answer = client.get(path, query_string={"class_id": str(class_a.id)}, headers=outsider)
    assert answer.status_code == 404 and answer.get_json()["code"] == "not_found"
    assert "signins" not in answer.get_json()
    # Under a class of their own (the visit not stored yet names none): none of another's codes.
    answer = client.get(path, query_string={"class_id": str(world.classes["b"].id)},
                        headers=outsider)
    assert answer.status_code == 200 and answer.get_json()["signins"] == []
    # A city inspector may see the class, but the sign-ins came by inspector_a's code.
    answer = client.get(path, query_string={"class_id": str(class_a.id)},
                        headers=api.headers("city_inspector"))
    assert answer.status_code == 200 and answer.get_json()["signins"] == []
    # The visit stored, its class is the only one it may be read under.
    make_visit(world, "a", visit_id=visit_id)
    db.session.commit()
    mine = api.headers("inspector_a")
    assert client.get(path, query_string={"class_id": str(world.classes["b"].id)},
                      headers=mine).status_code == 404
    assert client.get(path, headers=mine).get_json()["code"] == "validation_error"
    assert client.get(path, query_string={"class_id": "nope"}, headers=mine).status_code == 422
