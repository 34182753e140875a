"""The judgement of a visit: place, time, observations, attendance, clock skew."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from geopy.distance import geodesic

from server.services.geofence_sketch import sketch_of
from sync.judge import (
    GpsFix,
    clock_skew,
    implausible_time,
    judge_attendance,
    judge_observation,
    judge_place,
    judge_time,
    rate_is_low,
    session_window,
    shown_metres,
    shown_min_rate,
    shown_rate,
)

SITE = (36.7075, 119.1610)


def north(metres: float) -> float:
    return SITE[0] + metres / 111_000


def test_place_within_radius_plus_accuracy():
    assert judge_place(GpsFix(north(160), SITE[1], 20), *SITE, 150, 200).status == "match"
    far = judge_place(GpsFix(north(200), SITE[1], 20), *SITE, 150, 200)
    assert far.status == "mismatch" and 190 < far.details["distance_m"] < 210
    assert judge_place(GpsFix(north(0), SITE[1], 250), *SITE, 150, 200).status == "unverifiable"
    assert judge_place(GpsFix(north(0), SITE[1], 5, mocked=True), *SITE, 150,
                       200).status == "unverifiable"
    assert judge_place(None, *SITE, 150, 200).status == "unverifiable"


def at_distance(metres: float) -> GpsFix:
    """A fix due north of the site at exactly this geodesic distance."""
    point = geodesic(meters=metres).destination(SITE, bearing=0)
    return GpsFix(point.latitude, point.longitude, 20)


def test_the_distance_is_rounded_once_for_every_reader():
    # 141.46 m was stored as 141.5 and read back as 142 by the sketch and the PDF, while the
    # reason said 141: one page, two distances.
    check = judge_place(at_distance(141.46), *SITE, 100, 200)
    assert check.details["distance_m"] == 141
    assert check.reasons[0].params["distance"] == 141
    sketch = sketch_of(*SITE, 100, {"lat": at_distance(141.46).lat,
                                    "lon": at_distance(141.46).lon, "accuracy": 20},
                       check.details["distance_m"], check.status)
    assert sketch is not None and sketch.distance_m == 141
    # Halves go up on both sides (the phone's Math.round), not to the even neighbour.
    assert judge_place(at_distance(140.5 + 1e-9), *SITE, 100, 200).details["distance_m"] == 141
    assert shown_metres(140.5) == 141 and shown_metres(141.5) == 142


def test_the_attendance_rate_reads_below_the_minimum_when_it_is_below():
    # 43 of 48 is 89.6 %: below 90 %, and it said "出勤率 90%，低于 90%".
    roster = [f"t{i}" for i in range(48)]
    low = judge_attendance(roster, roster[:43], 43, 0.9)
    (reason,) = [r for r in low.reasons if r.code == "attendance.rate_low"]
    assert reason.params == {"rate": 89, "min_rate": 90}
    # A minimum between whole percents reads rounded up: 90.2 % is below 90.4 %, 90 < 91.
    assert shown_rate(451, 500) == 90 and shown_min_rate(0.904) == 91
    assert shown_min_rate(0.9) == 90 and shown_min_rate(0.29) == 29  # not the float's 90.000…01
    assert shown_rate(29, 100) == 29  # not the float's 28.999…
    for size in range(1, 130):
        for present in range(size + 1):
            if rate_is_low(present, size, 0.9):
                assert shown_rate(present, size) < shown_min_rate(0.9)
    # The same test as the reconciliation's attendance.low finding: the exact fraction (2 of 3 is
    # below 0.6667; rounded to 0.6667 first, it was not).
    assert rate_is_low(2, 3, 0.6667) and not rate_is_low(3, 3, 1.0) and not rate_is_low(0, 0, 0.9)


def test_session_window_is_shanghai_wall_time():
    start, end = session_window(date(2025, 3, 3), time(8, 30), time(12, 15), "Asia/Shanghai")
    assert start.astimezone(UTC) == datetime(2025, 3, 3, 0, 30, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2025, 3, 3, 4, 15, tzinfo=UTC)


def test_time_overlap_with_tolerance_and_skew():
    window = session_window(date(2025, 3, 3), time(8, 30), time(12, 15), "Asia/Shanghai")
    tolerance = timedelta(minutes=15)
    start = window[0]
    assert judge_time(start + timedelta(hours=1), None, window, tolerance).status == "match"
    assert judge_time(window[1] + timedelta(minutes=14), None, window, tolerance).status == "match"
    assert judge_time(window[1] + timedelta(minutes=16), None, window,
                      tolerance).status == "mismatch"
    assert judge_time(start - timedelta(hours=2), start - timedelta(minutes=10), window,
                      tolerance).status == "match"
    assert judge_time(start - timedelta(days=1), None, window, tolerance).status == "mismatch"
    assert judge_time(start, None, window, tolerance, timedelta(days=1)).status == "unverifiable"


def test_clock_skew_beyond_the_limit_only():
    now = datetime(2025, 3, 3, tzinfo=UTC)
    limit = timedelta(minutes=10)
    assert clock_skew(now + timedelta(minutes=9), now, limit) is None
    assert clock_skew(now - timedelta(minutes=11), now, limit) == -timedelta(minutes=11)
    assert clock_skew(None, now, limit) is None


def test_observations():
    assert judge_observation(True, "teacher", None, "王").status == "match"
    assert judge_observation(False, "teacher", "李", "王").status == "mismatch"
    assert judge_observation(None, "content", None, "车削").status == "unverifiable"


def test_attendance_rules():
    roster = [f"t{i}" for i in range(10)]
    assert judge_attendance(roster, roster, 10, 0.9).status == "match"
    assert judge_attendance(roster, roster[:9], 9, 0.9).status == "match"
    low = judge_attendance(roster, roster[:8], 8, 0.9)
    assert low.status == "mismatch" and "attendance.rate_low" in low.codes
    assert "attendance.over_roster" in judge_attendance(roster, roster, 12, 0.9).codes
    assert "attendance.not_on_roster" in judge_attendance(roster, roster + ["x"], 10, 0.9).codes
    assert "attendance.count_differs" in judge_attendance(roster, roster[:9], 10, 0.9).codes
    duplicate = judge_attendance(roster, roster + ["t0"], 10, 0.9)
    assert duplicate.status == "match" and duplicate.details["duplicates"] == 1
    assert judge_attendance(roster, roster, None, 0.9).status == "unverifiable"
    assert judge_attendance([], [], 3, 0.9).status == "unverifiable"
    assert judge_attendance(roster, roster, 10, 0.9, missing_signins=2).status == "unverifiable"


def test_a_visit_on_time_for_the_last_evening_session_is_not_outside_its_class():
    # Class 2025-03-01..03-31, a session 03-31 23:00-23:55, a visit from 00:05 on 04-01: on time
    # by judge_time and by the phone (15 minutes' tolerance), so not outside the class either.
    zone, tolerance = "Asia/Shanghai", timedelta(minutes=15)
    received, skew = datetime(2025, 4, 2, tzinfo=UTC), timedelta(minutes=5)

    def shanghai(day: int, hour: int, minute: int) -> datetime:
        return datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour - 8,
                                                             minutes=minute)

    def outside(start: datetime) -> str | None:
        return implausible_time(start, start + timedelta(minutes=30), date(2025, 3, 1),
                                date(2025, 3, 31), received, skew, zone, tolerance)

    window = session_window(date(2025, 3, 31), time(23, 0), time(23, 55), zone)
    late = shanghai(32, 0, 5)  # 2025-04-01 00:05 in Shanghai
    assert judge_time(late, late + timedelta(minutes=30), window, tolerance).status == "match"
    assert outside(late) is None
    assert outside(shanghai(32, 0, 20)) == "time.outside_class"
    assert outside(shanghai(1, 0, 0) - timedelta(minutes=10)) is None
    assert outside(shanghai(1, 0, 0) - timedelta(minutes=20)) == "time.outside_class"
