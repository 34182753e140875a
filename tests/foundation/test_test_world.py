"""The test world's "today" has always had its session end, whatever hour the suite runs at.

Tests date visits inside today's session; a visit dated after the server received it is held
unverifiable (R10, time.after_receipt), so a world whose today's session is still ahead made
a suite that failed only between 08:00 and 09:45 Shanghai time (the CI of 2026-12-07).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.services.clock import local_instant
from tests.factories import SESSION_END, world_today

MIDNIGHT_UTC = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def test_the_session_of_the_worlds_today_has_ended_at_every_hour():
    for minutes in range(0, 24 * 60, 15):  # every quarter hour of a day
        now = MIDNIGHT_UTC + timedelta(minutes=minutes)
        session_end = local_instant(world_today(now), SESSION_END)
        assert session_end + timedelta(hours=1, minutes=45) <= now, (now, session_end)
        # never further back than yesterday's session, so "today" stays near the real today
        assert now - session_end < timedelta(hours=26), (now, session_end)


def test_the_worlds_today_is_the_local_date_once_its_session_is_well_past():
    # 15:00 in Shanghai (07:00 UTC): today's 12:15 session has ended, so today is today
    assert world_today(datetime(2026, 12, 7, 7, 0, tzinfo=UTC)).isoformat() == "2026-12-07"
    # 08:41 in Shanghai, when the failing CI ran: today's session is ahead, so yesterday
    assert world_today(datetime(2026, 12, 7, 0, 41, tzinfo=UTC)).isoformat() == "2026-12-06"
