"""The phone judges a visit as the server will: the app's own checks.js, run in Chromium with the
settings a pull sends (visits.judging_settings), against sync/judge.py on the same inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from server.services.visits import judging_settings
from sync.judge import (
    GpsFix,
    judge_attendance,
    judge_place,
    outside_visit,
    rate_is_low,
    shown_rate,
)
from tests.e2e.conftest import bundle_module

pytestmark = pytest.mark.e2e

SITE = {"lat": 36.7075, "lon": 119.161, "radius_m": 150.0}
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
END = START + timedelta(minutes=40)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def checks_bundle() -> str:
    """The app's own checks.js, bundled by esbuild into a script exposing `SpotcheckChecks`."""
    return bundle_module("src/checks.js", "SpotcheckChecks")


@pytest.fixture
def phone(browser, checks_bundle, app):
    """A page with checks.js loaded and given the settings of a pull from this server; yields
    (page, settings), with one setting changed from its default to show it is read."""
    app.config["GPS_MAX_ACCURACY_M"] = 80.0
    app.config["ATTENDANCE_MIN_RATE"] = 0.75
    app.config["EVIDENCE_TOLERANCE_MINUTES"] = 5
    with app.app_context():
        settings = judging_settings()
    page = browser.new_page()
    page.route("http://localhost/checks", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>checks</title>"))
    page.goto("http://localhost/checks")
    page.add_script_tag(content=checks_bundle)
    page.evaluate("(s) => SpotcheckChecks.setJudging(JSON.parse(s))", json.dumps(settings))
    yield page, settings
    page.close()


def _offset(north_m: float) -> tuple[float, float]:
    return SITE["lat"] + north_m / 111_320.0, SITE["lon"]


# (metres north of the site, accuracy, mocked, capture time relative to the visit's start)
PLACE_CASES = [
    (0, 10, False, timedelta(minutes=1)),
    (140, 15, False, timedelta(minutes=1)),
    (141.46, 15, False, timedelta(minutes=1)),  # 141 m on both (not 141.5, read as 142)
    (170, 15, False, timedelta(minutes=1)),   # within radius + accuracy
    (400, 15, False, timedelta(minutes=1)),   # outside
    (0, 90, False, timedelta(minutes=1)),     # worse than the configured 80 m
    (0, 10, True, timedelta(minutes=1)),      # mocked
    (0, 10, False, -timedelta(minutes=20)),   # a cached fix from before the visit: stale
    (0, 10, False, END - START + timedelta(minutes=6)),  # after the visit + 5 min: stale
    (0, 10, False, -timedelta(minutes=4)),    # within the 5 minutes
]


@pytest.mark.parametrize(("north", "accuracy", "mocked", "offset"), PLACE_CASES)
def test_the_place_check_agrees(phone, north, accuracy, mocked, offset):
    page, settings = phone
    lat, lon = _offset(north)
    captured = START + offset
    stale = outside_visit(captured, START, END,
                          timedelta(minutes=settings["evidence_tolerance_minutes"]))
    server = judge_place(GpsFix(lat=lat, lon=lon, accuracy=accuracy, mocked=mocked,
                                captured_at=captured),
                         SITE["lat"], SITE["lon"], SITE["radius_m"],
                         settings["gps_max_accuracy_m"], stale=stale)
    on_phone = page.evaluate("""([fix, site, start, end]) => {
        const stale = SpotcheckChecks.evidenceStale([fix.captured_at], start, end);
        return { stale, place: SpotcheckChecks.checkPlace(fix, site, stale) };
    }""", [{"lat": lat, "lon": lon, "accuracy": accuracy, "mocked": mocked,
            "captured_at": _iso(captured)}, SITE, _iso(START), _iso(END)])
    assert on_phone["stale"] == stale
    assert on_phone["place"]["status"] == server.status, (server.codes, on_phone)
    if "distance_m" in server.details:  # the same metres on the phone as on the review page
        assert on_phone["place"]["distance_m"] == server.details["distance_m"]


# (roster size, trainees signed in (ids; None = someone not on the roster), headcount)
ATTENDANCE_CASES = [
    (4, ["a", "b", "c", "d"], 4),
    (4, ["a", "b", "c"], 3),          # 75 %: the configured minimum
    (4, ["a", "b"], 2),               # 50 %: low
    (4, ["a", "b", "c", "d"], 5),     # more in the room than on the roster
    (4, ["a", "b", "c", "d", None], 4),  # someone not on the roster signed in
    (4, ["a", "b", "c"], 4),          # one in the room did not sign in
    (4, [], None),                    # no headcount yet
]


@pytest.mark.parametrize(("size", "signed", "headcount"), ATTENDANCE_CASES)
def test_the_attendance_check_agrees(phone, size, signed, headcount):
    page, settings = phone
    roster = ["a", "b", "c", "d", "e", "f"][:size]
    ids = [s if s is not None else "stranger" for s in signed]
    server = judge_attendance(roster, ids, headcount, settings["attendance_min_rate"])
    present = len({s for s in ids if s in roster})
    unknown = len([s for s in ids if s not in roster])
    on_phone = page.evaluate(
        "([n, p, h, u]) => SpotcheckChecks.checkAttendance(n, p, h, u)",
        [size, present, "" if headcount is None else headcount, unknown])
    assert on_phone["status"] == server.status, (server.codes, on_phone)


def test_the_attendance_rate_reads_and_compares_the_same(phone):
    # The phone's figure beside "低于 90%" and its low-rate test are the server's, for every
    # roster up to 120 (the largest class a base may train: R1's 120 % of a quota of 100).
    page, settings = phone
    pairs = [(p, n) for n in range(1, 121) for p in range(n + 1)]
    on_phone = page.evaluate("""(pairs) => pairs.map(([p, n]) =>
        [SpotcheckChecks.shownRate(p, n), SpotcheckChecks.rateIsLow(p, n)])""", pairs)
    min_rate = settings["attendance_min_rate"]
    server = [[shown_rate(p, n), rate_is_low(p, n, min_rate)] for p, n in pairs]
    assert on_phone == server
