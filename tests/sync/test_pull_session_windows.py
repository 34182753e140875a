"""The phone learns each session's window as instants from the server's one clock (TIMEZONE)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.sync.fixtures import phone, publish_world


@pytest.fixture
def app_config():
    return {"TIMEZONE": "Asia/Urumqi"}  # UTC+6: a zone other than the default


def test_pulled_sessions_carry_their_window_in_the_configured_zone(client, world):
    publish_world(world)
    changes, _ = phone(client).pull_all()
    versions = [c["data"] for c in changes if c["type"] == "plan_version" and c.get("data")]
    sessions = [s for v in versions for s in v["sessions"]]
    assert sessions
    zone = ZoneInfo("Asia/Urumqi")
    for session in sessions:
        start = datetime.fromisoformat(f"{session['date']}T{session['start']}").replace(tzinfo=zone)
        assert session["zone"] == "Asia/Urumqi"
        assert session["start_at"].endswith("Z")
        assert datetime.fromisoformat(session["start_at"].replace("Z", "+00:00")) == start
        end_at = datetime.fromisoformat(session["end_at"].replace("Z", "+00:00"))
        assert end_at - start > timedelta(0)
