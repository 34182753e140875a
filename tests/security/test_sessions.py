"""Sessions that end: logout, password change (page, API, command, or the database itself),
deactivation and an administrator's revoke end page sessions and bearer tokens for good; the
built-in SECRET_KEY is refused outside debug and tests; unknown usernames cost a hash check."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, g
from flask import request as flask_request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from server import create_app
from server.extensions import db
from server.models import AuditEvent, User, WebSession, utcnow
from server.security import (
    BUILT_IN_SECRET_KEY,
    InsecureSecretError,
    load_local_secret,
    secret_problems,
)
from server.services import auth as auth_service
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a-new-password-2027"
ROOT = Path(__file__).resolve().parents[2]


def page_login(app, username: str, password: str = TEST_PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.status_code
    return client


def opens_pages(client) -> bool:
    # The app fixture keeps one app context (and `g`) for the whole test: drop Flask-Login's
    # cached user so this request loads its own, as a real server's request would.
    g.pop("_login_user", None)
    return client.get("/bureau/").status_code == 200


def token_works(client, token: str) -> bool:
    return client.get("/api/v1/bureau/visits",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_captured_before_logout_opens_nothing_after_it(app, world):
    web = page_login(app, "county_a")
    assert opens_pages(web)
    captured = session_cookie(web)
    assert web.post("/logout").status_code == 302
    assert not opens_pages(replay(app, captured))
    assert not opens_pages(web)


def test_a_forged_cookie_without_a_server_session_opens_nothing(app, world):
    forge = Flask("forge")
    forge.secret_key = app.config["SECRET_KEY"]  # even with the real key
    cookie = SecureCookieSessionInterface().get_signing_serializer(forge).dumps(
        {"_user_id": str(world.users["city"].id), "_fresh": True})
    assert not opens_pages(replay(app, cookie))


def _without_value(set_cookie: str) -> tuple[str, bool, list[str]]:
    pair, *attributes = set_cookie.split("; ")
    name, value = pair.split("=", 1)
    return name, bool(value), sorted(a for a in attributes if not a.startswith("Expires="))


def test_sessions_open_and_save_as_flasks_own(app, world):
    """The cookie session skips its signer without the cookie; what it opens and writes is
    Flask's: API requests (bearer tokens) get no cookie, pages keep theirs."""
    ours, flasks = app.session_interface, SecureCookieSessionInterface()
    assert type(ours).__name__ == "CookieSessions"
    web = page_login(app, "county_a")
    assert opens_pages(web)
    cookie = session_cookie(web)
    for cookies in ({}, {"session": cookie}, {"session": "not-signed"}):
        header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        with app.test_request_context("/bureau/", headers={"Cookie": header} if header else {}):
            request = app.request_class(flask_request.environ)
            opened, expected = ours.open_session(app, request), flasks.open_session(app, request)
            assert dict(opened) == dict(expected) and type(opened) is type(expected)
            for touch in (lambda s: None, lambda s: s.get("x"), lambda s: s.update(x=1),
                          lambda s: s.clear()):
                mine, theirs = app.response_class(), app.response_class()
                for session, response in ((opened, mine), (expected, theirs)):
                    session.accessed = session.modified = False
                    touch(session)
                    (ours if response is mine else flasks).save_session(app, session, response)
                # The cookie's own value carries a time in seconds: its name and attributes
                # say what was written (a new value, or its removal).
                assert ([_without_value(c) for c in mine.headers.getlist("Set-Cookie")]
                        == [_without_value(c) for c in theirs.headers.getlist("Set-Cookie")])
                assert mine.vary == theirs.vary
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "county_a",
                                                 "password": TEST_PASSWORD, "device_id": "d"})
    answer = api.get("/api/v1/bureau/visits",
                     headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def test_changing_the_password_on_the_page_ends_every_other_session_and_token(app, world, api,
                                                                              client):
    here, elsewhere = page_login(app, "county_a"), page_login(app, "county_a")
    token = api.token("county_a")
    response = here.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                    "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert opens_pages(here)  # the page that changed it gets a fresh session
    assert not opens_pages(elsewhere) and not token_works(client, token)
    page_login(app, "county_a", NEW_PASSWORD)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user.password_change")) is not None


def test_a_wrong_current_password_changes_nothing(app, world, api, client):
    web = page_login(app, "county_a")
    token = api.token("county_a")
    response = web.post("/account/password", data={"current_password": "wrong",
                                                    "new_password": NEW_PASSWORD})
    assert response.status_code == 401
    answer = client.post("/api/v1/auth/password", headers={"Authorization": f"Bearer {token}"},
                         json={"current_password": "wrong", "new_password": NEW_PASSWORD})
    assert answer.status_code == 401 and answer.get_json()["code"] == "auth.invalid_credentials"
    assert opens_pages(web) and token_works(client, token)


def test_changing_the_password_through_the_api_ends_every_session_and_token(app, world, api,
                                                                            client):
    web = page_login(app, "county_a")
    phone, laptop = api.token("county_a", device_id="phone"), api.token("county_a", device_id="pc")
    response = client.post("/api/v1/auth/password", headers={"Authorization": f"Bearer {phone}"},
                           json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert not token_works(client, phone) and not token_works(client, laptop)
    assert not opens_pages(web)
    too_short = client.post("/api/v1/auth/password",
                            headers={"Authorization": f"Bearer {api.token('county_b')}"},
                            json={"current_password": TEST_PASSWORD, "new_password": "short"})
    assert too_short.status_code == 422


def test_the_users_password_command_ends_every_session_and_token(app, world, api, client, runner):
    web, token = page_login(app, "county_a"), api.token("county_a")
    refused = runner.invoke(args=["users", "password", "--username", "county_a", "--password",
                                  "short"])
    assert refused.exit_code == 2 and token_works(client, token)
    result = runner.invoke(args=["users", "password", "--username", "county_a",
                                 "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert not token_works(client, token) and not opens_pages(web)
    page_login(app, "county_a", NEW_PASSWORD)


def test_a_password_hash_changed_in_the_database_ends_sessions_and_tokens(app, world, api, client):
    web, token = page_login(app, "county_a"), api.token("county_a")
    user = db.session.get(User, world.users["county_a"].id)
    user.password_hash = auth_service.hash_password(NEW_PASSWORD)  # as an operator's SQL would
    db.session.commit()
    assert not token_works(client, token) and not opens_pages(web)


def test_deactivation_ends_every_session_and_token(app, world, api, client, runner):
    web, token = page_login(app, "county_a"), api.token("county_a")
    assert runner.invoke(args=["users", "deactivate", "county_a"]).exit_code == 0
    assert not token_works(client, token) and not opens_pages(web)
    assert client.post("/login", data={"username": "county_a",
                                       "password": TEST_PASSWORD}).status_code == 401
    assert runner.invoke(args=["users", "activate", "county_a"]).exit_code == 0
    assert not token_works(client, token)  # old tokens stay dead
    page_login(app, "county_a")


def test_an_administrator_lists_devices_and_revokes_one_or_all(app, world, api, client):
    lost, kept = api.token("inspector_a", device_id="lost-phone"), api.token("inspector_a",
                                                                              device_id="new-phone")
    web = page_login(app, "inspector_a")
    admin = api.headers("city")
    user_id = world.users["inspector_a"].id
    listing = client.get(f"/api/v1/users/{user_id}/devices", headers=admin).get_json()
    assert {d["device_id"] for d in listing["devices"]} == {"lost-phone", "new-phone"}
    assert [s["live"] for s in listing["sessions"]] == [True]
    revoked = client.post(f"/api/v1/users/{user_id}/devices/lost-phone/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] == 1
    assert not token_works(client, lost)
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {kept}"}
                      ).status_code != 401
    everything = client.post(f"/api/v1/users/{user_id}/revoke", headers=admin)
    assert everything.status_code == 200 and everything.get_json()["revoked"] == 2
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {kept}"}
                      ).status_code == 401
    assert web.get("/app/").status_code in (200, 404)  # the shell is public; the API is what counts
    refused = client.get(f"/api/v1/users/{user_id}/devices", headers=api.headers("county_a"))
    assert refused.status_code == 403


def test_users_devices_and_revoke_commands(app, world, api, client, runner):
    token = api.token("inspector_a", device_id="lost-phone")
    listed = runner.invoke(args=["users", "devices", "inspector_a"])
    assert listed.exit_code == 0 and "lost-phone" in listed.output
    assert runner.invoke(args=["users", "revoke", "inspector_a", "--device", "lost-phone"]
                         ).output.strip() == "revoked 1"
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


# ---- lifetime: idle and absolute limits of page sessions ----------------------------------------

def age_sessions(username: str, *, idle: timedelta, since_login: timedelta) -> None:
    """Make a user's page sessions look last used `idle` ago and begun `since_login` ago."""
    now = utcnow()
    for row in db.session.scalars(select(WebSession).join(User).where(User.username == username)):
        row.last_seen_at, row.created_at = now - idle, now - since_login
    db.session.commit()


def test_a_page_session_unused_past_the_idle_limit_is_sent_to_login(app, world):
    web = page_login(app, "county_a")
    idle = timedelta(minutes=app.config["WEB_SESSION_IDLE_MINUTES"])
    age_sessions("county_a", idle=idle - timedelta(minutes=1), since_login=idle)
    assert opens_pages(web)  # just inside: still open, and now freshly used
    age_sessions("county_a", idle=idle + timedelta(minutes=1), since_login=idle * 2)
    g.pop("_login_user", None)
    answer = web.get("/bureau/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert not opens_pages(web)


def test_a_page_session_ends_at_its_absolute_limit_however_busy(app, world, api, client):
    web = page_login(app, "county_a")
    most = timedelta(hours=app.config["WEB_SESSION_MAX_HOURS"])
    age_sessions("county_a", idle=timedelta(0), since_login=most - timedelta(minutes=1))
    assert opens_pages(web)
    age_sessions("county_a", idle=timedelta(0), since_login=most + timedelta(minutes=1))
    assert not opens_pages(web)
    # The administrator's listing says the same.
    listing = client.get(f"/api/v1/users/{world.users['county_a'].id}/devices",
                         headers=api.headers("city")).get_json()
    assert [s["live"] for s in listing["sessions"]] == [False]
    page_login(app, "county_a")  # logging in again opens a new one


class TestWithAShortIdleLimit:
    @pytest.fixture
    def app_config(self):
        return {"WEB_SESSION_IDLE_MINUTES": 4}

    def test_a_session_in_use_notes_its_use_often_enough_to_stay_open(self, app, world):
        web = page_login(app, "county_a")
        for _ in range(3):  # used every three minutes: never four minutes idle
            age_sessions("county_a", idle=timedelta(minutes=3), since_login=timedelta(hours=1))
            assert opens_pages(web)
            seen = db.session.scalar(select(WebSession.last_seen_at))
            assert utcnow() - seen < timedelta(minutes=1)


# ---- secrets ----------------------------------------------------------------------------------

def test_the_built_in_secret_is_refused_outside_debug_and_tests(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = {"DATABASE_URL": "sqlite://", "MEDIA_DIR": str(tmp_path),
              "SECRET_KEY": BUILT_IN_SECRET_KEY}
    with pytest.raises(InsecureSecretError, match="SECRET_KEY"):
        create_app(config)
    assert create_app({**config, "TESTING": True}).config["SECRET_KEY"] == BUILT_IN_SECRET_KEY
    assert create_app({**config, "SECRET_KEY": "a-real-secret-" + "x" * 30}) is not None
    with pytest.raises(InsecureSecretError):
        create_app({**config, "SECRET_KEY": ""})


def test_keys_derived_from_the_built_in_secret_are_refused_too():
    from cryptography.hazmat.primitives import serialization

    from server.services.badges import _derived_key

    real = {"SECRET_KEY": "a-real-secret"}
    derived_pii = base64.b64encode(hashlib.sha256(("pii:" + BUILT_IN_SECRET_KEY).encode()).digest())
    assert secret_problems({**real, "PII_KEY": derived_pii.decode()}) == ["PII_KEY"]
    pem = _derived_key(BUILT_IN_SECRET_KEY).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    assert secret_problems({**real, "BADGE_SIGNING_KEY": pem}) == ["BADGE_SIGNING_KEY"]
    assert secret_problems({**real, "PII_KEY": base64.b64encode(os.urandom(32)).decode()}) == []


def test_the_local_secret_file_is_used_when_no_secret_is_set(tmp_path):
    app = Flask("x", instance_path=str(tmp_path))
    app.config["SECRET_KEY"] = BUILT_IN_SECRET_KEY
    load_local_secret(app)
    assert app.config["SECRET_KEY"] == BUILT_IN_SECRET_KEY  # no file: unchanged (then refused)
    (tmp_path / "secret_key").write_text("local-random-secret\n")
    load_local_secret(app)
    assert app.config["SECRET_KEY"] == "local-random-secret"
    app.config["SECRET_KEY"] = "from-the-environment"
    load_local_secret(app)
    assert app.config["SECRET_KEY"] == "from-the-environment"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_writes_a_private_random_secret_once(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    run = ["make", "-s", "-C", str(tmp_path), "instance/secret_key", "PYTHON=python3"]
    subprocess.run(run, check=True, capture_output=True, env={**os.environ, "PWA_SOURCES": ""})
    path = tmp_path / "instance" / "secret_key"
    first = path.read_text().strip()
    assert len(first) >= 40 and first != BUILT_IN_SECRET_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    subprocess.run(run, check=True, capture_output=True)
    assert path.read_text().strip() == first


# ---- timing: unknown usernames cost one hash check -------------------------------------------

def test_an_unknown_username_is_checked_against_a_hash_of_the_same_method(app, world, monkeypatch):
    checked = []
    real = auth_service.check_password_hash
    monkeypatch.setattr(auth_service, "check_password_hash",
                        lambda h, p: checked.append(h.split("$")[0]) or real(h, p))
    for username in ("nobody-here", "county_a"):
        with pytest.raises(Exception):  # noqa: B017 - ApiError either way
            auth_service.authenticate(username, "wrong-password")
    method = app.config["PASSWORD_HASH_METHOD"]
    assert checked == [method, method]

