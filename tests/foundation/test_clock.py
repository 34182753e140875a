"""The one clock reads the TIMEZONE setting: pages, plans and dates follow it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from server.i18n import local_time
from server.services import clock


def test_people_times_follow_the_timezone_setting(app):
    instant = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    with app.app_context():
        assert clock.zone_name() == "Asia/Shanghai"
        assert local_time(instant) == "2026-03-02 01:30"
        assert clock.local_today(instant) == date(2026, 3, 2)
        app.config["TIMEZONE"] = "Europe/London"
        assert local_time(instant) == "2026-03-01 17:30"
        assert clock.local_date_of(instant) == date(2026, 3, 1)
        assert clock.local_day_start(date(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_planned_wall_time_is_an_instant_in_the_configured_zone(app):
    with app.app_context():
        start = clock.local_instant(date(2026, 3, 2), time(9, 0))
        assert start.astimezone(UTC) == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_outside_an_application_the_default_zone_is_used():
    assert clock.zone_name() == "Asia/Shanghai"
    assert clock.format_local(None) == ""


def test_a_stored_iso_time_reads_back_as_the_instant_utc_iso_wrote():
    instant = datetime(2026, 3, 2, 1, 0, 5, 120000, tzinfo=UTC)
    assert clock.parse_instant(clock.utc_iso(instant)) == instant
    assert clock.parse_instant("2026-03-02T09:00:05.12+08:00") == instant
    assert clock.parse_instant(instant) is instant


def test_a_stored_time_naming_no_instant_reads_back_as_none():
    # no offset: no zone can be assumed; not ISO 8601, or not text at all
    for value in ("2026-03-02T01:00:05", "yesterday", "", None, 1772413205, {"at": "x"}):
        assert clock.parse_instant(value) is None, value
