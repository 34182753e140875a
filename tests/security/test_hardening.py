"""Hardening: headers, CSRF on forms, login lockout, token revocation, size limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.models import utcnow
from tests.conftest import TEST_PASSWORD


def test_every_response_carries_the_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class TestWithCsrfEnabled:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_form_post_without_its_csrf_token_is_refused(self, client, world):
        response = client.post("/login", data={"username": "city", "password": TEST_PASSWORD})
        assert response.status_code == 400
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/login", data={
            "username": "city", "password": TEST_PASSWORD, "csrf_token": token})
        assert response.status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, world):
    response = client.post("/login", data={"username": "city", "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


class TestWithSecureCookies:
    @pytest.fixture
    def app_config(self):
        return {"SESSION_COOKIE_SECURE": True}

    def test_secure_cookie_flag_follows_configuration(self, client, world):
        response = client.post("/login", data={"username": "city", "password": TEST_PASSWORD})
        assert "Secure" in response.headers["Set-Cookie"]


def test_repeated_wrong_passwords_lock_the_account(client, world, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = client.post("/api/v1/auth/token", json={
            "username": "inspector_a", "password": "wrong", "device_id": "d"})
        assert response.status_code == 401
    response = client.post("/api/v1/auth/token", json={
        "username": "inspector_a", "password": TEST_PASSWORD, "device_id": "d"})
    assert response.status_code == 429
    assert response.get_json()["code"] == "auth.locked"


def test_revoking_a_device_kills_its_token_but_not_another_devices(client, world, api):
    phone = {"Authorization": f"Bearer {api.token('inspector_a', device_id='phone')}"}
    tablet = {"Authorization": f"Bearer {api.token('inspector_a', device_id='tablet')}"}
    assert client.post("/api/v1/auth/revoke", headers=phone).status_code == 204
    assert client.post("/api/v1/auth/revoke", headers=phone).status_code == 401
    assert client.post("/api/v1/auth/revoke", headers=tablet).status_code == 204


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer not-a-token", "Basic abc"])
def test_missing_or_bad_bearer_is_401(client, world, header):
    response = client.post("/api/v1/auth/revoke",
                           headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.get_json()["code"] in {"auth.required", "auth.token_invalid"}


def test_expired_token_is_401(client, world, api, app):
    from server.extensions import db
    from server.models import ApiToken

    headers = api.headers("inspector_a")
    for token in db.session.query(ApiToken).all():
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post("/api/v1/auth/revoke", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.token_invalid"


class TestWithSmallRequestLimit:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 1024}

    def test_a_request_over_the_size_limit_is_413_in_the_one_shape(self, client):
        response = client.post("/api/v1/auth/token", data=b"x" * 4096,
                               content_type="application/json")
        assert response.status_code == 413
        assert response.get_json()["code"] == "payload_too_large"


def test_a_non_json_body_is_a_422_not_a_crash(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


@pytest.mark.parametrize("username, start", [
    ("city", "/bureau/"), ("county_a", "/bureau/"), ("base_a", "/bureau/"),
    ("inspector_a", "/app/"),
])
def test_each_role_lands_on_its_start_page(client, world, username, start):
    client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(start)


def test_anonymous_home_goes_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


class TestAddressRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_IP_MAX_FAILURES": 6, "LOGIN_MAX_FAILURES": 100}

    def test_an_address_spraying_many_accounts_is_refused_then_others_still_log_in(self, client,
                                                                                   world):
        names = ["inspector_a", "inspector_b", "county_a", "county_b", "base_a", "base_b"]
        for name in names:
            response = client.post("/api/v1/auth/token", json={
                "username": name, "password": "guess", "device_id": "d"},
                environ_base={"REMOTE_ADDR": "10.9.8.7"})
            assert response.status_code == 401
        # Even the right password is refused from that address for a while ...
        response = client.post("/api/v1/auth/token", json={
            "username": "city", "password": TEST_PASSWORD, "device_id": "d"},
            environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert response.status_code == 429 and response.get_json()["code"] == "rate_limited"
        # ... while another address, and the accounts themselves, are unaffected.
        response = client.post("/api/v1/auth/token", json={
            "username": "city", "password": TEST_PASSWORD, "device_id": "d"},
            environ_base={"REMOTE_ADDR": "10.9.8.8"})
        assert response.status_code == 200

    def test_the_login_page_shares_the_limit(self, client, world):
        for _ in range(6):
            client.post("/login", data={"username": "nobody", "password": "x"},
                        environ_base={"REMOTE_ADDR": "10.1.1.1"})
        response = client.post("/login", data={"username": "city", "password": TEST_PASSWORD},
                               environ_base={"REMOTE_ADDR": "10.1.1.1"})
        assert response.status_code == 429


@pytest.mark.parametrize("username, paths", [
    ("city",
     ["/bureau/", "/bureau/visits", "/bureau/draws", "/bureau/rectifications", "/filing/queue"]),
    ("base_a",
     ["/bureau/", "/filing/", "/filing/sites", "/filing/teachers", "/bureau/rectifications"]),
])
def test_pages_carry_no_inline_script_or_style_the_csp_would_block(client, world, username, paths):
    import re

    client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    for path in paths + ["/login?lang=en"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), path


def test_a_view_s_own_security_header_is_kept_and_the_rest_added(app):
    @app.get("/__own_csp")
    def own_csp():
        return "x", 200, {"content-security-policy": "default-src 'none'"}

    response = app.test_client().get("/__own_csp")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
