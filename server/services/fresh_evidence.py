"""Fresh evidence (issue 11): a capture time outside its visit cannot verify the visit.

The rule is `sync.judge.outside_visit` (a time before the visit's start or after its end, each
widened by `EVIDENCE_TOLERANCE_MINUTES`). visit.submit applies it to the visit's own GPS fix,
photos and the sign-ins its payload names; this module applies it to every sign-in of a visit,
whichever arrived first (the sign-in before its visit, in the same batch or an earlier one, or
after it), at the end of each batch: such a sign-in is flagged `signin.stale`, and its visit is
flagged `evidence.stale` with its place check `unverifiable` (`place.stale_fix`), as visit.submit
does. Sign-ins and visits are create-only, so a stale record never becomes fresh again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from server.models import Visit
from server.services.beside_plan import judged_session
from server.services.clock import parse_instant
from sync.judge import GpsFix, judge_place, outside_visit

VISIT_STALE = "evidence.stale"


def evidence_tolerance() -> timedelta:
    """How far outside its visit a capture time (GPS fix, photo, sign-in) may lie and still count.
    """
    return timedelta(minutes=current_app.config["EVIDENCE_TOLERANCE_MINUTES"])


def gps_fix(gps: Mapping[str, Any] | None) -> GpsFix | None:
    """The GpsFix of a visit's `gps` member, as visit.submit loaded it or as stored JSON.

    gps: {lat, lon (degrees WGS-84), accuracy (m), mocked, captured_at (datetime or ISO text)}
    or None (no fix: the place check is then unverifiable, R10). A captured_at that names no
    instant is None.
    """
    if not gps:
        return None
    return GpsFix(float(gps["lat"]), float(gps["lon"]), float(gps["accuracy"]),
                  bool(gps.get("mocked")), parse_instant(gps.get("captured_at")))


def signin_times(at: datetime | None, gps: Mapping[str, Any] | None) -> list[datetime]:
    """The capture times of a sign-in: when it was taken and when its GPS fix was (if any)."""
    times = [at] if at is not None else []
    fix_time = parse_instant(gps.get("captured_at")) if isinstance(gps, Mapping) else None
    if fix_time is not None:
        times.append(fix_time)
    return times


def signin_is_stale(signin: Any, visit: Visit, tolerance: timedelta) -> bool:
    """True when a sign-in (a row or an object with `at` and `gps`) lies outside its visit."""
    return any(outside_visit(t, visit.started_at, visit.ended_at, tolerance)
               for t in signin_times(signin.at, signin.gps))


def mark_visit_stale(visit: Visit) -> None:
    """Flag a visit evidence.stale and judge its place again as visit.submit does when stale.

    Only writes what changes (a visit already marked stays untouched, so its record seal is not
    rewritten for nothing); the record seal covers the new flags and checks (record_seal.py).
    """
    if VISIT_STALE not in (visit.flags or []):
        visit.flags = [*(visit.flags or []), VISIT_STALE]
    fix = gps_fix((visit.payload or {}).get("gps"))
    session = judged_session(visit)
    if session is None:
        return
    site = session.site
    place = judge_place(fix, site.lat, site.lon, site.radius_m,
                        current_app.config["GPS_MAX_ACCURACY_M"], stale=True).to_dict()
    if (visit.checks or {}).get("place") != place:
        visit.checks = {**(visit.checks or {}), "place": place}
