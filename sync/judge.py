"""The server's judgement of a visit against its filed session: pure functions.

Each check is `match`, `mismatch` or `unverifiable`, always with a reason, so a reviewer sees
why. Inputs are plain values; the server looks them up and stores the results with the visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geopy.distance import geodesic

MATCH = "match"
MISMATCH = "mismatch"
UNVERIFIABLE = "unverifiable"
# What a spot check checks (R10: content, teacher, time and place match the plan, and attendance),
# in the order every page, answer and document lists them.
CHECKS = ("place", "time", "teacher", "content", "attendance")


@dataclass
class Check:
    """One judged aspect of a visit."""

    status: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form: status, reason and any figures (e.g. distance_m)."""
        return {"status": self.status, "reason": self.reason, **self.details}


@dataclass(frozen=True)
class GpsFix:
    """A position fix from the phone (WGS-84)."""

    lat: float
    lon: float
    accuracy: float
    mocked: bool = False
    captured_at: datetime | None = None


def outside_visit(at: datetime | None, started_at: datetime, ended_at: datetime | None,
                  tolerance: timedelta) -> bool:
    """True when a capture time lies outside the visit widened by the tolerance (stale or made up)."""
    if at is None:
        return False
    end = ended_at if ended_at is not None and ended_at > started_at else started_at
    return at < started_at - tolerance or at > end + tolerance


def implausible_time(started_at: datetime, ended_at: datetime | None, class_start: date, class_end: date,
                     received_at: datetime, skew: timedelta, zone: str) -> str | None:
    """Say why a visit's own times cannot be true (outside its class's dates, after its receipt)."""
    latest = ended_at if ended_at is not None and ended_at > started_at else started_at
    if latest > received_at + skew:
        return "the visit is dated after the server received it"
    tz = ZoneInfo(zone)
    first = datetime.combine(class_start, time.min, tz)
    last = datetime.combine(class_end + timedelta(days=1), time.min, tz)
    if started_at < first or started_at >= last:
        return "the visit is dated outside its class's dates"
    return None


def judge_place(
    fix: GpsFix | None, site_lat: float, site_lon: float, radius_m: float, max_accuracy_m: float,
    stale: bool = False,
) -> Check:
    """Match when the fix lies within the site's radius plus the fix's own accuracy."""
    if fix is None:
        return Check(UNVERIFIABLE, "no GPS fix")
    if fix.mocked:
        return Check(UNVERIFIABLE, "the fix comes from a mock location provider",
                     {"accuracy_m": fix.accuracy})
    if stale:
        return Check(UNVERIFIABLE, "the fix was taken outside the visit (a cached or old position)",
                     {"accuracy_m": fix.accuracy})
    if stale:
        return Check(UNVERIFIABLE, "the fix was taken outside the visit (a cached or old position)",
                     {"accuracy_m": fix.accuracy})
    distance = geodesic((fix.lat, fix.lon), (site_lat, site_lon)).meters
    figures = {"distance_m": round(distance, 1), "radius_m": radius_m, "accuracy_m": fix.accuracy}
    if fix.accuracy > max_accuracy_m:
        return Check(UNVERIFIABLE,
                     f"fix accuracy {fix.accuracy:.0f} m is worse than {max_accuracy_m:.0f} m",
                     figures)
    if distance <= radius_m + fix.accuracy:
        return Check(MATCH, f"{distance:.0f} m from the site (allowed {radius_m + fix.accuracy:.0f} m)",
                     figures)
    return Check(MISMATCH,
                 f"{distance:.0f} m from the site, more than {radius_m:.0f} m + {fix.accuracy:.0f} m",
                 figures)


def session_window(day: date, start: time, end: time, zone: str) -> tuple[datetime, datetime]:
    """Return a session's local wall-time window as aware datetimes."""
    tz = ZoneInfo(zone)
    return datetime.combine(day, start, tz), datetime.combine(day, end, tz)


def judge_time(
    started_at: datetime,
    ended_at: datetime | None,
    window: tuple[datetime, datetime],
    tolerance: timedelta,
    clock_skew: timedelta | None = None,
    implausible: str | None = None,
) -> Check:
    """Match when the visit overlaps the session window widened by the tolerance on both ends.

    The visit's own times come from the device clock; when that clock is known to be off
    (clock_skew given) the times prove nothing and the check cannot verify.
    """
    start, end = window
    figures = {"window_start": start.isoformat(), "window_end": end.isoformat(),
               "started_at": started_at.isoformat()}
    if clock_skew is not None:
        minutes = abs(clock_skew.total_seconds()) / 60
        return Check(UNVERIFIABLE, f"the device clock is off by {minutes:.0f} min", figures)
    if implausible is not None:
        return Check(UNVERIFIABLE, implausible, figures)
    if implausible is not None:
        return Check(UNVERIFIABLE, implausible, figures)
    visit_end = ended_at if ended_at is not None and ended_at > started_at else started_at
    if started_at <= end + tolerance and visit_end >= start - tolerance:
        return Check(MATCH, "the visit overlaps the session window", figures)
    return Check(MISMATCH, "the visit lies outside the session window", figures)


def clock_skew(client_time: datetime | None, received_at: datetime, limit: timedelta) -> timedelta | None:
    """Return the device clock's offset when it is more than the limit, else None."""
    if client_time is None:
        return None
    offset = client_time - received_at
    return offset if abs(offset) > limit else None


def judge_observation(matches: bool | None, what: str, observed: str | None, planned: str) -> Check:
    """Turn the inspector's yes/no on teacher or content into a check."""
    details = {"planned": planned}
    if observed:
        details["observed"] = observed
    if matches is None:
        return Check(UNVERIFIABLE, f"the inspector did not confirm the {what}", details)
    if matches:
        return Check(MATCH, f"the {what} is as planned", details)
    return Check(MISMATCH, f"the {what} differs from the plan", details)


@dataclass(frozen=True)
class Attendance:
    """The attendance figures of a visit: the one count every page, answer and document shows.

    signed_in counts distinct trainees of the roster with at least one sign-in (present);
    counted is the headcount the inspector took on site (None when not recorded). A second scan
    of a trainee already signed in (duplicates) and a sign-in of a person not on the roster
    (unknown) are anomalies, never attendance.
    """

    roster: int
    counted: int | None
    signed_in: int
    duplicates: int
    unknown: int

    @property
    def absent(self) -> int:
        """Trainees of the roster without a sign-in."""
        return self.roster - self.signed_in

    @property
    def anomalies(self) -> int:
        """Sign-ins that are not attendance: repeated scans and unknown persons."""
        return self.duplicates + self.unknown


def count_attendance(roster: Iterable[str], signed_in: Iterable[str | None],
                     headcount: int | None) -> Attendance:
    """Count roster, distinct trainees signed in, repeated scans and unknown persons."""
    roster_ids = set(roster)
    signed = list(signed_in)
    on_roster = [s for s in signed if s is not None and s in roster_ids]
    present = set(on_roster)
    return Attendance(roster=len(roster_ids), counted=headcount, signed_in=len(present),
                      duplicates=len(on_roster) - len(present),
                      unknown=len(signed) - len(on_roster))


def judge_attendance(
    roster: Iterable[str],
    signed_in: Iterable[str | None],
    headcount: int | None,
    min_rate: float,
    missing_signins: int = 0,
) -> Check:
    """Compare roster, sign-ins and headcount.

    match when every one of these holds, mismatch (with every broken rule named) otherwise:
    - headcount ≤ roster size (nobody outside the roster is being trained);
    - every sign-in is of a trainee on the roster;
    - distinct roster trainees signed in == headcount (sign-ins neither short of nor beyond
      the people counted);
    - signed-in / roster ≥ min_rate (absences stay within the configured bound).
    unverifiable: an empty roster, no headcount, or sign-ins named by the visit not yet received.
    """
    roster_ids = set(roster)
    counted = count_attendance(roster_ids, signed_in, headcount)
    present, unknown = counted.signed_in, counted.unknown
    figures = {"roster": counted.roster, "present": counted.signed_in, "headcount": headcount,
               "unknown": unknown, "duplicates": counted.duplicates}
    if not roster_ids:
        return Check(UNVERIFIABLE, "the plan version has no roster", figures)
    if headcount is None:
        return Check(UNVERIFIABLE, "no headcount was recorded", figures)
    if missing_signins:
        figures["missing_signins"] = missing_signins
        return Check(UNVERIFIABLE, f"{missing_signins} sign-ins have not reached the server", figures)
    problems = []
    if headcount > len(roster_ids):
        problems.append(f"headcount {headcount} exceeds the roster of {len(roster_ids)}")
    if unknown:
        problems.append(f"{unknown} sign-ins are not on the roster")
    if present != headcount:
        problems.append(f"{present} trainees signed in but {headcount} were counted")
    rate = present / len(roster_ids)
    if rate < min_rate:
        problems.append(f"attendance {rate:.0%} is below {min_rate:.0%}")
    if problems:
        return Check(MISMATCH, "; ".join(problems), figures)
    return Check(MATCH, f"{present} of {len(roster_ids)} present, all signed in", figures)


