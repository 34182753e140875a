"""The geofence sketch of a visit: the filed site's circle and the phone's fix with its accuracy,
in metres around the site, scaled into a small drawing (no map tiles needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from server.services.geo import distance_m
from sync.judge import shown_metres

WIDTH, HEIGHT = 320, 240
_MARGIN = 18  # pixels left free around the drawing
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class Sketch:
    """Pixel geometry of the drawing and the figures written beside it."""

    site_x: float
    site_y: float
    site_r: float
    fix_x: float
    fix_y: float
    fix_r: float
    distance_m: float
    radius_m: float
    accuracy_m: float
    allowed_m: float
    # The visit's judged place check (match | mismatch | unverifiable): a fix inside the circle
    # that the judge could not trust (mocked, stale, too coarse) is drawn as unverifiable, never
    # as a match. Recomputed from the geometry only when the visit carries no judgement.
    status: str
    scale_m: int  # the length of the scale bar, in metres
    scale_px: float

    @property
    def inside(self) -> bool:
        """The judged place check matched."""
        return self.status == "match"

    @property
    def label_y(self) -> float:
        """Where the distance label sits: below the line between the two centres."""
        return min(HEIGHT - 6, max(self.site_y, self.fix_y) + 16)


def _nice(metres: float) -> int:
    """A round length for the scale bar (1, 2, 5 × 10^n metres)."""
    exponent = 10 ** math.floor(math.log10(max(metres, 1)))
    for step in (1, 2, 5, 10):
        if step * exponent >= metres:
            return int(step * exponent)
    return int(10 * exponent)


def sketch_of(site_lat: float, site_lon: float, radius_m: float, gps: dict[str, Any] | None,
              distance: float | None = None, status: str | None = None) -> Sketch | None:
    """Return the sketch of a fix against a site, or None when the visit has no fix.

    distance (m) and status: the judged place check's (sync/judge.py judge_place), when known.
    """
    if not isinstance(gps, dict) or gps.get("lat") is None or gps.get("lon") is None:
        return None
    lat, lon = float(gps["lat"]), float(gps["lon"])
    accuracy = float(gps.get("accuracy") or 0)
    if distance is None:
        distance = distance_m((lat, lon), (site_lat, site_lon))
    # East and north offsets of the fix from the site, in metres (flat: a few km at most).
    east = (lon - site_lon) * _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(site_lat))
    north = (lat - site_lat) * _M_PER_DEG_LAT
    # Centre the picture between the site and the fix so both circles fit.
    mid_e = (max(radius_m, east + accuracy) + min(-radius_m, east - accuracy)) / 2
    mid_n = (max(radius_m, north + accuracy) + min(-radius_m, north - accuracy)) / 2
    span_e = max(radius_m, east + accuracy) - min(-radius_m, east - accuracy)
    span_n = max(radius_m, north + accuracy) - min(-radius_m, north - accuracy)
    scale = min((WIDTH - 2 * _MARGIN) / max(span_e, 1.0),
                (HEIGHT - 2 * _MARGIN - 20) / max(span_n, 1.0))

    def x(e: float) -> float:
        return round(WIDTH / 2 + (e - mid_e) * scale, 1)

    def y(n: float) -> float:
        return round((HEIGHT - 20) / 2 - (n - mid_n) * scale, 1)

    bar_m = _nice(span_e / 4)
    return Sketch(
        site_x=x(0), site_y=y(0), site_r=round(radius_m * scale, 1),
        fix_x=x(east), fix_y=y(north), fix_r=round(max(accuracy * scale, 2), 1),
        distance_m=shown_metres(distance), radius_m=round(radius_m), accuracy_m=round(accuracy),
        allowed_m=round(radius_m + accuracy),
        status=status or ("match" if distance <= radius_m + accuracy else "mismatch"),
        scale_m=bar_m, scale_px=round(bar_m * scale, 1))


def visit_sketch(visit: Any, session: Any) -> Sketch | None:
    """The sketch of a visit's fix against the site of the session it was judged against."""
    if session is None or session.site is None or session.site.lat is None:
        return None
    place = (visit.checks or {}).get("place")
    judged = place.get("distance_m") if isinstance(place, dict) else None
    status = place.get("status") if isinstance(place, dict) else None
    site = session.site
    return sketch_of(site.lat, site.lon, float(site.radius_m), (visit.payload or {}).get("gps"),
                     float(judged) if judged is not None else None,
                     status if status in ("match", "mismatch", "unverifiable") else None)
