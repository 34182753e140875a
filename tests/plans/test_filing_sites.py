"""Sites entered from Chinese maps are stored in WGS-84; teachers carry what R4 lets them teach."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import ChangeLog, Site
from server.services.geo import distance_m, from_wgs84

TRUE_POINT = (36.7075, 119.1610)  # WGS-84, as a phone at the gate would report it


def create(client, headers, datum: str, point: tuple[float, float]):
    return client.post("/api/v1/sites", headers=headers, json={
        "name": f"实训楼 {datum}", "address": "奎文区东风东街", "lat": point[0], "lon": point[1],
        "datum": datum, "radius_m": 120})


def test_site_from_amap_is_stored_in_wgs84_and_says_it_was_converted(client, api, world):
    headers = api.headers("base_a")
    gcj = from_wgs84(*TRUE_POINT, "gcj02")
    response = create(client, headers, "gcj02", gcj)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["converted_from"] == "gcj02" and body["entered_datum"] == "gcj02"
    assert (body["entered_lat"], body["entered_lon"]) == gcj
    assert distance_m((body["lat"], body["lon"]), TRUE_POINT) < 1.0
    assert 300 < body["shift_m"] < 800
    stored = db.session.get(Site, __import__("uuid").UUID(body["id"]))
    assert distance_m((stored.lat, stored.lon), TRUE_POINT) < 1.0


def test_site_from_baidu_and_from_gps(client, api, world):
    headers = api.headers("base_a")
    bd = create(client, headers, "bd09", from_wgs84(*TRUE_POINT, "bd09")).get_json()
    assert bd["converted_from"] == "bd09"
    assert distance_m((bd["lat"], bd["lon"]), TRUE_POINT) < 1.0
    wgs = create(client, headers, "wgs84", TRUE_POINT).get_json()
    assert wgs["converted_from"] is None and (wgs["lat"], wgs["lon"]) == TRUE_POINT


def test_correcting_a_site_datum_reaches_the_phones(client, api, world):
    headers = api.headers("base_a")
    site = db.session.get(Site, __import__("uuid").UUID(create(client, headers, "wgs84",
                                                               TRUE_POINT).get_json()["id"]))
    gcj = from_wgs84(site.lat, site.lon, "gcj02")
    response = client.patch(f"/api/v1/sites/{site.id}", headers=headers,
                            json={"lat": gcj[0], "lon": gcj[1], "datum": "gcj02"})
    assert response.status_code == 200
    assert response.get_json()["converted_from"] == "gcj02"
    change = db.session.scalar(select(ChangeLog).where(ChangeLog.entity_id == site.id))
    assert change is not None and change.county_id == world.counties["a"].id
    lone = client.patch(f"/api/v1/sites/{site.id}", headers=headers, json={"lat": 36.0})
    assert lone.status_code == 422


def test_site_input_is_validated_and_scoped(client, api, world):
    headers = api.headers("base_a")
    bad = client.post("/api/v1/sites", headers=headers, json={
        "name": "x", "address": "y", "lat": 36.7, "lon": 119.1, "datum": "mars"})
    assert bad.status_code == 422
    abroad = create(client, headers, "gcj02", (48.8584, 2.2945))
    assert abroad.status_code == 422
    assert client.patch(f"/api/v1/sites/{world.sites['b'].id}", headers=headers,
                        json={"name": "x"}).status_code == 404
    assert create(client, api.headers("county_a"), "wgs84", TRUE_POINT).status_code == 403
    names = {s["name"] for s in client.get("/api/v1/sites",
                                           headers=api.headers("county_b")).get_json()["sites"]}
    assert names == {world.sites["b"].name}


def test_teachers_crud_with_r4_flags(client, api, world):
    headers = api.headers("base_a")
    created = client.post("/api/v1/teachers", headers=headers, json={
        "name": "王老师", "professional_title": "中级", "skill_qualification": "高级技师"})
    assert created.status_code == 201
    body = created.get_json()
    assert (body["theory_qualified"], body["practical_qualified"]) == (False, True)
    patched = client.patch(f"/api/v1/teachers/{body['id']}", headers=headers,
                           json={"professional_title": "副高级"}).get_json()
    assert patched["theory_qualified"] is True
    assert client.post("/api/v1/teachers", headers=headers, json={
        "name": "x", "professional_title": "教授级"}).status_code == 422
    assert client.patch(f"/api/v1/teachers/{body['id']}", headers=api.headers("base_b"),
                        json={"name": "y"}).status_code == 404


def test_a_filed_plan_s_teacher_and_site_are_frozen(client, api, world):
    """R7: the recorded version's sessions name these; changing them needs a new version."""
    headers = api.headers("base_a")
    site, teacher = world.sites["a"], world.teachers["a_theory"]
    before = (site.lat, site.lon, site.address, teacher.name, teacher.professional_title)
    moved = client.patch(f"/api/v1/sites/{site.id}", headers=headers,
                         json={"lat": 36.5, "lon": 119.5, "datum": "wgs84"})
    renamed = client.patch(f"/api/v1/teachers/{teacher.id}", headers=headers,
                           json={"name": "未备案教师", "professional_title": "正高级"})
    assert (moved.status_code, renamed.status_code) == (409, 409)
    assert moved.get_json()["code"] == renamed.get_json()["code"] == "plan.filed_fact"
    db.session.expire_all()
    assert (site.lat, site.lon, site.address, teacher.name, teacher.professional_title) == before
    phone = client.patch(f"/api/v1/teachers/{teacher.id}", headers=headers,
                         json={"phone": "13900000000"})
    assert phone.status_code == 200
