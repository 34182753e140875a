"""Datum conversion: WGS-84 ↔ GCJ-02 ↔ BD-09 against published reference points."""

from __future__ import annotations

import pytest

from server.errors import ApiError
from server.services.geo import convert_entered, distance_m, from_wgs84, to_wgs84

# WGS-84 → GCJ-02 pairs published with other implementations (Shanghai, Shenzhen, Beijing).
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]
WEIFANG_WGS = (36.7075, 119.1610)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs_to_gcj_matches_reference_points(wgs, gcj):
    assert distance_m(from_wgs84(*wgs, "gcj02"), gcj) < 0.01


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj_to_wgs_recovers_reference_points_within_a_metre(wgs, gcj):
    assert distance_m(to_wgs84(*gcj, "gcj02"), wgs) < 1.0


def test_baidu_tiananmen_matches_published_bd09():
    # 天安门: GCJ-02 (116.397428, 39.90923) is usually quoted as BD-09 (116.404, 39.915),
    # rounded to three decimals (about 100 m).
    gcj = (39.90923, 116.397428)
    bd = from_wgs84(*to_wgs84(*gcj, "gcj02"), "bd09")
    assert distance_m(bd, (39.915, 116.404)) < 100
    assert distance_m(bd, gcj) > 500


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_round_trip_in_weifang_within_a_metre(datum):
    there = from_wgs84(*WEIFANG_WGS, datum)
    assert distance_m(to_wgs84(*there, datum), WEIFANG_WGS) < 1.0


def test_typical_gcj_offset_in_weifang_is_several_hundred_metres():
    offset = distance_m(from_wgs84(*WEIFANG_WGS, "gcj02"), WEIFANG_WGS)
    assert 300 < offset < 800
    # BD-09 adds Baidu's own shift on top of GCJ-02.
    assert distance_m(from_wgs84(*WEIFANG_WGS, "bd09"), WEIFANG_WGS) > offset


def test_convert_entered_keeps_what_was_typed_and_says_how_far_it_moved():
    gcj = from_wgs84(*WEIFANG_WGS, "gcj02")
    converted = convert_entered(gcj[0], gcj[1], "gcj02")
    assert converted.entered_datum == "gcj02"
    assert (converted.entered_lat, converted.entered_lon) == gcj
    assert distance_m((converted.lat, converted.lon), WEIFANG_WGS) < 1.0
    assert 300 < converted.shift_m < 800


def test_wgs84_entry_is_unchanged():
    converted = convert_entered(*WEIFANG_WGS, "wgs84")
    assert (converted.lat, converted.lon, converted.shift_m) == (*WEIFANG_WGS, 0.0)


def test_gcj_outside_china_is_refused():
    with pytest.raises(ApiError) as caught:
        to_wgs84(48.8584, 2.2945, "gcj02")
    assert caught.value.code == "validation_error"
