"""Attempt limits count what the client cannot change (visit, account, address), never a cookie
or a client-chosen id alone: self sign-in guesses, logins, password changes, unfinished uploads.
A name no account has is limited and answered exactly as an account's name."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import FailedLogin
from server.services import auth as auth_service
from server.services import selfsignin
from tests.conftest import TEST_PASSWORD
from tests.media.tus_client import Tus
from tests.visits.signin_helpers import code_for, inspector_token, self_sign_in


def fresh_phone(app, address: str):
    """A phone with no cookies at all, from one address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def guess(app, code, trainee, address, n):
    return self_sign_in(fresh_phone(app, address), code, trainee, lat=None, lon=None,
                        id_last6=f"{n:06d}").status_code


def test_clearing_the_cookie_buys_no_more_guesses(app, api, world):
    code = code_for(inspector_token(api), world.classes["a"].id, uuid.uuid4())
    trainee = world.trainees[0]
    for n in range(selfsignin.MAX_ROSTER_MISSES):
        assert guess(app, code, trainee, "10.1.1.1", n) == 422
    # A new browser (no cookie) from the same address is still refused, even with the right answer.
    blocked = self_sign_in(fresh_phone(app, "10.1.1.1"), code, trainee, lat=None, lon=None)
    assert blocked.status_code == 429
    # Another trainee's phone on another address signs in as usual.
    other = self_sign_in(fresh_phone(app, "10.1.1.2"), code, world.trainees[1], lat=None, lon=None)
    assert other.status_code == 200


def test_a_guesser_on_many_addresses_meets_the_visits_own_limit(app, api, world, monkeypatch):
    monkeypatch.setattr(selfsignin, "MAX_VISIT_ROSTER_MISSES", 6)
    code = code_for(inspector_token(api), world.classes["a"].id, uuid.uuid4())
    trainee = world.trainees[0]
    statuses = [guess(app, code, trainee, f"10.2.0.{n}", n) for n in range(8)]
    assert statuses == [422] * 6 + [429] * 2


def test_an_account_locks_whatever_device_id_each_try_names(client, world, app):
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/api/v1/auth/token", json={
            "username": "county_a", "password": "wrong",
            "device_id": f"new-{n}"}).status_code == 401
    locked = client.post("/api/v1/auth/token", json={
        "username": "county_a", "password": "pw-for-tests", "device_id": "yet-another"})
    assert locked.status_code == 429


FLASH_ERROR = re.compile(r'data-testid="flash-error"><strong>[^<]*</strong>([^<]*)</p>')


def api_login(client, username: str, password: str) -> tuple[int, str]:
    response = client.post("/api/v1/auth/token", json={
        "username": username, "password": password, "device_id": "d"})
    return response.status_code, response.get_json().get("code", "")


def page_login(client, username: str, password: str) -> tuple[int, str]:
    response = client.post("/login", data={"username": username, "password": password})
    flashed = FLASH_ERROR.search(response.get_data(as_text=True))
    return response.status_code, flashed.group(1).strip() if flashed else ""


@pytest.mark.parametrize("login", [api_login, page_login], ids=["api", "page"])
def test_an_unknown_name_locks_and_answers_as_an_account_does(client, world, app, login):
    tries = app.config["LOGIN_MAX_FAILURES"] + 2
    answers = {name: [login(client, name, "wrong-password") for _ in range(tries)]
               for name in ("inspector_a", "no_such_user")}
    assert answers["inspector_a"] == answers["no_such_user"]
    assert [status for status, _ in answers["inspector_a"]] == [401] * (tries - 2) + [429] * 2
    # Locked means locked: the right password too, and a case variant of the name shares the count.
    assert login(client, "inspector_a", TEST_PASSWORD)[0] == 429
    assert login(client, "Inspector_A ", "wrong-password")[0] == 429


def test_a_locked_answer_costs_the_same_hash_check(client, world, app, monkeypatch):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        api_login(client, "inspector_a", "wrong-password")
        api_login(client, "no_such_user", "wrong-password")
    checked = []
    real = auth_service.check_password_hash
    monkeypatch.setattr(auth_service, "check_password_hash",
                        lambda h, p: checked.append(h) or real(h, p))
    assert api_login(client, "inspector_a", "x") == api_login(client, "no_such_user", "x")
    assert api_login(client, "inspector_a", "x")[0] == 429
    assert len(checked) == 3


def test_a_lock_ends_after_its_time_and_a_success_forgets_the_failures(client, world, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        api_login(client, "inspector_a", "wrong-password")
    assert api_login(client, "inspector_a", TEST_PASSWORD)[0] == 429
    minutes = app.config["LOGIN_LOCKOUT_MINUTES"]
    for failure in db.session.scalars(select(FailedLogin)):
        failure.at -= timedelta(minutes=minutes)
    db.session.commit()
    for _ in range(limit - 1):
        api_login(client, "inspector_a", "wrong-password")
    assert api_login(client, "inspector_a", TEST_PASSWORD)[0] == 200
    # The owner's own slips before that success no longer count towards a lock.
    assert api_login(client, "inspector_a", "wrong-password")[0] == 401
    assert api_login(client, "inspector_a", TEST_PASSWORD)[0] == 200


def test_a_login_named_like_a_self_sign_in_miss_counts_as_a_login(client, world):
    visit_id = uuid.uuid4()
    for _ in range(3):
        api_login(client, f"selfsignin:{visit_id}", "wrong-password")
    assert selfsignin._roster_misses(visit_id, "127.0.0.1") == (0, 0)


def api_change(client, headers, current: str) -> tuple[int, str]:
    response = client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": current, "new_password": "a-new-password-2027"})
    return response.status_code, (response.get_json() or {}).get("code", "")


def test_guessing_the_current_password_through_the_api_locks_as_a_login(client, world, app, api):
    headers = api.headers("county_a")
    limit = app.config["LOGIN_MAX_FAILURES"]
    answers = [api_change(client, headers, f"guess-{n}") for n in range(limit)]
    assert answers == [(401, "auth.invalid_credentials")] * limit
    assert api_change(client, headers, TEST_PASSWORD) == (429, "auth.locked")
    # One count for the name: the login is locked too.
    assert api_login(client, "county_a", TEST_PASSWORD)[0] == 429


def test_guessing_the_current_password_on_the_page_locks_as_a_login(client, world, app):
    assert client.post("/login", data={"username": "county_a",
                                       "password": TEST_PASSWORD}).status_code == 302
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        api_login(client, "county_a", "wrong-password")  # failed logins and guesses share a count
    guess = client.post("/account/password", data={"current_password": "guess",
                                                   "new_password": "a-new-password-2027"})
    assert guess.status_code == 401
    right = client.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                   "new_password": "a-new-password-2027"})
    assert right.status_code == 429
    assert FLASH_ERROR.search(right.get_data(as_text=True)).group(1).strip() == (
        "登录失败次数过多，请稍后再试")
    assert api_login(client, "county_a", TEST_PASSWORD)[0] == 429  # the password is unchanged


def test_an_administrators_new_password_lifts_the_lock(client, world, app, runner):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        api_login(client, "county_a", "wrong-password")
    result = runner.invoke(args=["users", "password", "--username", "county_a",
                                 "--password", "a-new-password-2027"])
    assert result.exit_code == 0, result.output
    assert api_login(client, "county_a", "a-new-password-2027")[0] == 200


@pytest.fixture
def app_config():
    return {"MEDIA_MAX_OPEN_UPLOADS": 3}


def test_unfinished_uploads_are_counted_by_account_not_device(client, api, world):
    created = []
    for n in range(4):
        tus = Tus(client, api.headers("inspector_a", device_id=f"phone-{n}"))
        data = f"photo {n}".encode() * 50
        created.append(tus.create(data, sha256=hashlib.sha256(data).hexdigest()).status_code)
    assert created == [201, 201, 201, 429]
    other = Tus(client, api.headers("inspector_b"))
    assert other.create(b"x" * 100).status_code == 201
