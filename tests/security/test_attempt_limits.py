"""Attempt limits count what the client cannot change (visit, account, address), never a cookie
or a client-chosen id alone: self sign-in guesses, logins, unfinished uploads."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from server.services import selfsignin
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
