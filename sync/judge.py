"""The server's judgement of a visit against its filed session: pure functions.

Each check is `match`, `mismatch` or `unverifiable`, always with its reasons, so a reviewer sees
why. A reason is a code with parameters (never a sentence): the server's message catalogue
(`server/messages/*/checks.json`, key `check.<code>`) turns it into Chinese or English for people.
Inputs are plain values; the server looks them up and stores the results with the visit.
"""

from __future__ import annotations

import math
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
# The rule of the notice (DESIGN.md) each check enforces.
CHECK_RULES = {"place": "R10", "time": "R10", "teacher": "R7", "content": "R7", "attendance": "R9"}

# Every reason code the judge gives; the catalogue has `check.<code>` for each, in zh and en.
REASON_CODES = (
    "place.no_fix", "place.mocked", "place.stale_fix", "place.poor_accuracy", "place.inside",
    "place.outside",
    "time.clock_skew", "time.after_receipt", "time.outside_class", "time.inside", "time.outside",
    "teacher.unconfirmed", "teacher.as_planned", "teacher.differs",
    "content.unconfirmed", "content.as_planned", "content.differs",
    "attendance.no_roster", "attendance.no_headcount", "attendance.signins_missing",
    "attendance.over_roster", "attendance.not_on_roster", "attendance.count_differs",
    "attendance.rate_low", "attendance.all_present",
)
OBSERVED = ("teacher", "content")


@dataclass(frozen=True)
class Reason:
    """Why a check came out as it did: a catalogue code and the figures its message needs."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form {code, params}."""
        return {"code": self.code, "params": dict(self.params)}


@dataclass
class Check:
    """One judged aspect of a visit."""

    status: str
    reasons: list[Reason]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        """Return the reason codes, in order."""
        return [reason.code for reason in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form: status, reasons ({code, params} each) and any figures."""
        return {"status": self.status, "reasons": [r.to_dict() for r in self.reasons],
                **self.details}


def _check(status: str, code: str, details: dict[str, Any] | None = None, **params: Any) -> Check:
    return Check(status, [Reason(code, params)], details or {})


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
    """True when a capture time lies outside the visit widened by the tolerance (stale or made up).
    """
    if at is None:
        return False
    end = ended_at if ended_at is not None and ended_at > started_at else started_at
    return at < started_at - tolerance or at > end + tolerance


def implausible_time(started_at: datetime, ended_at: datetime | None, class_start: date,
                     class_end: date,
                     received_at: datetime, skew: timedelta, zone: str,
                     tolerance: timedelta = timedelta(0)) -> str | None:
    """Return the reason code when a visit's own times cannot be true, else None.

    time.after_receipt: dated after the server received it; time.outside_class: starting
    outside its class's dates, widened by the time check's tolerance (judge_time's): a visit
    that overlaps a session of the class's last evening by that tolerance (starting 00:05 after
    a session ending 23:55) is on time by judge_time and by the phone, so not outside the class.
    """
    latest = ended_at if ended_at is not None and ended_at > started_at else started_at
    if latest > received_at + skew:
        return "time.after_receipt"
    tz = ZoneInfo(zone)
    first = datetime.combine(class_start, time.min, tz) - tolerance
    last = datetime.combine(class_end + timedelta(days=1), time.min, tz) + tolerance
    if started_at < first or started_at >= last:
        return "time.outside_class"
    return None


def shown_metres(metres: float) -> int:
    """A distance as people read it: whole metres, halves rounded up (as the phone's Math.round),
    not Python's round-half-to-even, so both sides print the same figure (R10, place)."""
    return math.floor(metres + 0.5)


def judge_place(
    fix: GpsFix | None, site_lat: float, site_lon: float, radius_m: float, max_accuracy_m: float,
    stale: bool = False,
) -> Check:
    """Match when the fix lies within the site's radius plus the fix's own accuracy."""
    if fix is None:
        return _check(UNVERIFIABLE, "place.no_fix")
    if fix.mocked:
        return _check(UNVERIFIABLE, "place.mocked", {"accuracy_m": fix.accuracy})
    if stale:
        return _check(UNVERIFIABLE, "place.stale_fix", {"accuracy_m": fix.accuracy})
    distance = geodesic((fix.lat, fix.lon), (site_lat, site_lon)).meters
    # The figure every reader shows (the reason, the review page's sketch, the PDF, the phone):
    # rounded once here. Kept to 0.1 m before, each reader rounded it again: 141.46 m was
    # "141 米" in the reason and "142 米" in the sketch.
    figures = {"distance_m": shown_metres(distance), "radius_m": radius_m,
               "accuracy_m": fix.accuracy}
    if fix.accuracy > max_accuracy_m:
        return _check(UNVERIFIABLE, "place.poor_accuracy", figures,
                      accuracy=round(fix.accuracy), max_accuracy=round(max_accuracy_m))
    if distance <= radius_m + fix.accuracy:
        return _check(MATCH, "place.inside", figures, distance=figures["distance_m"],
                      allowed=round(radius_m + fix.accuracy))
    return _check(MISMATCH, "place.outside", figures, distance=figures["distance_m"],
                  radius=round(radius_m), accuracy=round(fix.accuracy))


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
    (clock_skew given) or the times cannot be true (implausible: the code implausible_time
    gave) the times prove nothing and the check cannot verify.
    """
    start, end = window
    figures = {"window_start": start.isoformat(), "window_end": end.isoformat(),
               "started_at": started_at.isoformat()}
    if clock_skew is not None:
        minutes = abs(clock_skew.total_seconds()) / 60
        return _check(UNVERIFIABLE, "time.clock_skew", figures, minutes=round(minutes))
    if implausible is not None:
        return _check(UNVERIFIABLE, implausible, figures)
    visit_end = ended_at if ended_at is not None and ended_at > started_at else started_at
    if started_at <= end + tolerance and visit_end >= start - tolerance:
        return _check(MATCH, "time.inside", figures)
    return _check(MISMATCH, "time.outside", figures)


def clock_skew(client_time: datetime | None, received_at: datetime,
               limit: timedelta) -> timedelta | None:
    """Return the device clock's offset when it is more than the limit, else None."""
    if client_time is None:
        return None
    offset = client_time - received_at
    return offset if abs(offset) > limit else None


def judge_observation(matches: bool | None, what: str, observed: str | None, planned: str) -> Check:
    """Turn the inspector's yes/no on teacher or content (what, one of OBSERVED) into a check."""
    if what not in OBSERVED:
        raise ValueError(f"not an observed aspect: {what}")
    details = {"planned": planned}
    if observed:
        details["observed"] = observed
    if matches is None:
        return _check(UNVERIFIABLE, f"{what}.unconfirmed", details)
    if matches:
        return _check(MATCH, f"{what}.as_planned", details)
    return _check(MISMATCH, f"{what}.differs", details)


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


def rate_is_low(present: int, roster: int, min_rate: float) -> bool:
    """Whether present / roster falls below the configured minimum (R10 attendance), on the exact
    fraction: the judge, the reconciliation's `attendance.low` finding and the phone ask this."""
    return roster > 0 and present / roster < min_rate


def shown_rate(present: int, roster: int) -> int:
    """An attendance rate as people read it: whole percent, rounded down (integer arithmetic), so
    43 of 48 (89.6 %) reads 89 %, never "90 %" beside "below 90 %"."""
    return present * 100 // roster if roster > 0 else 0


def shown_min_rate(min_rate: float) -> int:
    """The configured minimum as people read it: whole percent, rounded up (a rate shown rounded
    down is then below it whenever rate_is_low). 0.9 reads 90 % (the float's 90.000…01 is not
    91), 0.6667 reads 67 %."""
    return math.ceil(round(min_rate * 100, 6))


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
        return _check(UNVERIFIABLE, "attendance.no_roster", figures)
    if headcount is None:
        return _check(UNVERIFIABLE, "attendance.no_headcount", figures)
    if missing_signins:
        figures["missing_signins"] = missing_signins
        return _check(UNVERIFIABLE, "attendance.signins_missing", figures, count=missing_signins)
    problems = []
    if headcount > len(roster_ids):
        problems.append(Reason("attendance.over_roster",
                               {"headcount": headcount, "roster": len(roster_ids)}))
    if unknown:
        problems.append(Reason("attendance.not_on_roster", {"count": unknown}))
    if present != headcount:
        problems.append(Reason("attendance.count_differs",
                               {"signed_in": present, "headcount": headcount}))
    if rate_is_low(present, len(roster_ids), min_rate):
        problems.append(Reason("attendance.rate_low", {
            "rate": shown_rate(present, len(roster_ids)), "min_rate": shown_min_rate(min_rate)}))
    if problems:
        return Check(MISMATCH, problems, figures)
    return _check(MATCH, "attendance.all_present", figures, present=present,
                  roster=len(roster_ids))


