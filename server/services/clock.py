"""The one clock: aware UTC in storage, the TIMEZONE setting (Asia/Shanghai) for people and plans.

Planned sessions are local wall times, draw days and report dates are local dates, and every
page shows local times: all of them go through this module, so the zone is read in one place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from server.config import Config


def zone_name() -> str:
    """Return the TIMEZONE setting (the default outside an application)."""
    if has_app_context():
        return str(current_app.config.get("TIMEZONE") or Config.TIMEZONE)
    return Config.TIMEZONE


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_zone() -> ZoneInfo:
    """Return the zone people and plans live in."""
    return _zone(zone_name())


def to_local(value: datetime) -> datetime:
    """Return an aware instant as local wall time."""
    return value.astimezone(local_zone())


def local_date_of(value: datetime) -> date:
    """Return the local date of an aware instant (a sign-in's day, a visit's day)."""
    return to_local(value).date()


def local_today(now: datetime | None = None) -> date:
    """Return today's local date (the draw day, a report's 填报时间)."""
    return to_local(now).date() if now is not None else datetime.now(local_zone()).date()


def local_instant(day: date, wall_time: time) -> datetime:
    """Return the aware instant of a local date and wall time (a planned session's start)."""
    return datetime.combine(day, wall_time, local_zone())


def local_day_start(day: date) -> datetime:
    """Return the UTC instant a local date begins (for date-range filters on stored times)."""
    return local_instant(day, time.min).astimezone(UTC)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware instant for people in local time ("" for none)."""
    return to_local(value).strftime(fmt) if value is not None else ""


def parse_instant(value: object) -> datetime | None:
    """Return the aware instant an ISO 8601 text names (`Z` or an offset), else None.

    For times read back from stored JSON (a GPS fix's captured_at, a sealed payload's times):
    a text that is not ISO 8601, or names no offset, gives None, since no zone can be assumed
    for it; a datetime is returned as it is. The inverse of utc_iso.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def utc_iso(value: datetime) -> str:
    """Return an aware instant as ISO 8601 UTC ending in `Z` (the wire form of every time)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
