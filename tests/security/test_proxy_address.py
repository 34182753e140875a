"""Behind a reverse proxy (TRUSTED_PROXIES) the per-address login limit counts the phone's
address from X-Forwarded-For; without the setting that header is not believed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import FailedLogin


def failed_login_from(client, forwarded: str) -> str:
    response = client.post("/api/v1/auth/token", headers={"X-Forwarded-For": forwarded}, json={
        "username": "inspector_a", "password": "wrong-password", "device_id": "phone-x"})
    assert response.status_code == 401
    return db.session.scalars(select(FailedLogin.ip)).one()


class TestBehindOneProxy:
    @pytest.fixture
    def app_config(self):
        return {"TRUSTED_PROXIES": 1}

    def test_the_phones_address_is_counted(self, client, world):
        assert failed_login_from(client, "203.0.113.9") == "203.0.113.9"


def test_without_the_setting_a_forwarded_address_is_not_believed(client, world):
    assert failed_login_from(client, "203.0.113.9") == "127.0.0.1"
