"""Map datums: phones report WGS-84, Chinese web maps show GCJ-02 (高德/腾讯) or BD-09 (百度).

A site typed in from a Chinese map is some 500 m off in WGS-84, and every place check there
would fail; so sites are stored in WGS-84, with what was typed and its datum kept beside.
The conversion formulas are the published GCJ-02/BD-09 ones (prcoords, public domain); the
reverse directions iterate to a fixed point, well under a metre.
"""

from __future__ import annotations

from dataclasses import dataclass

import prcoords
from geopy.distance import geodesic

from server.errors import ApiError, field_error

DATUMS = ("wgs84", "gcj02", "bd09")

# Bounding box prcoords treats as China; outside it GCJ-02 is the identity.
_CHINA_LAT = (0.8293, 55.8271)
_CHINA_LON = (72.004, 137.8347)


@dataclass(frozen=True)
class Converted:
    """A point in WGS-84 and what was entered: its datum and coordinates."""

    lat: float
    lon: float
    entered_datum: str
    entered_lat: float
    entered_lon: float
    shift_m: float  # how far the entered point lies from the WGS-84 one


def in_china(lat: float, lon: float) -> bool:
    """True when the point lies in the box where GCJ-02 and BD-09 apply."""
    return _CHINA_LAT[0] <= lat <= _CHINA_LAT[1] and _CHINA_LON[0] <= lon <= _CHINA_LON[1]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lat, lon) points on WGS-84."""
    return geodesic(a, b).meters


def to_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """Convert a point from a datum to WGS-84."""
    if datum == "wgs84":
        return lat, lon
    _require_china(lat, lon, datum)
    if datum == "gcj02":
        point = prcoords.gcj_wgs_bored((lat, lon), False)
    elif datum == "bd09":
        point = prcoords.bd_wgs_bored((lat, lon), False)
    else:
        raise ApiError("validation_error", errors={"datum": [f"one of {', '.join(DATUMS)}"]})
    return float(point[0]), float(point[1])


def from_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """Convert a WGS-84 point to a datum (used to show a site on a Chinese map)."""
    if datum == "wgs84":
        return lat, lon
    _require_china(lat, lon, datum)
    if datum == "gcj02":
        point = prcoords.wgs_gcj((lat, lon), False)
    elif datum == "bd09":
        point = prcoords.wgs_bd((lat, lon), False)
    else:
        raise ApiError("validation_error", errors={"datum": [f"one of {', '.join(DATUMS)}"]})
    return float(point[0]), float(point[1])


def convert_entered(lat: float, lon: float, datum: str) -> Converted:
    """Take a point as a person entered it and return it in WGS-84 with the entry kept."""
    wgs_lat, wgs_lon = to_wgs84(lat, lon, datum)
    shift = distance_m((lat, lon), (wgs_lat, wgs_lon)) if datum != "wgs84" else 0.0
    return Converted(round(wgs_lat, 7), round(wgs_lon, 7), datum, lat, lon, round(shift, 1))


def _require_china(lat: float, lon: float, datum: str) -> None:
    # GCJ-02 and BD-09 exist only inside China; a point outside is a typing mistake here.
    if not in_china(lat, lon):
        raise field_error("lat", "field.geo.outside_china", datum=datum)
