"""Unannounced stays unannounced: a base never learns of a re-inspection (nor reads its comment)
before that visit happened, nor of any assignment; a city covert check (暗访) is hidden from the
base until its review is closed and then names only 市人社局 as inspector."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.extensions import db
from server.models import Visit
from server.services import review as review_service
from server.services.scope import COVERT_INSPECTOR_LABEL
from tests.conftest import TEST_PASSWORD
from tests.documents.support import make_visit
from tests.factories import make_user

COMMENT = "下周二上午复查实操课（保密）"


def page(client, username: str):
    client.post("/logout")
    assert client.post("/login", data={"username": username,
                                       "password": TEST_PASSWORD}).status_code == 302
    return client


def listed(client, headers, visit_id) -> list[str]:
    items = client.get("/api/v1/bureau/visits", headers=headers).get_json()["items"]
    return [i["review_status"] for i in items if i["id"] == str(visit_id)]


@pytest.fixture
def reinspected(world):
    make_user("inspector_a2", "inspector", world.counties["a"])
    db.session.commit()
    visit = make_visit(world, "a")
    review, assignment = review_service.order_reinspection(world.users["county_a"], visit, COMMENT)
    db.session.commit()
    return visit, assignment


def test_a_base_does_not_learn_of_a_reinspection_before_it_happened(client, api, world,
                                                                    reinspected):
    visit, assignment = reinspected
    base = api.headers("base_a")
    assert listed(client, base, visit.id) == ["pending"]
    assert listed(client, api.headers("county_a"), visit.id) == ["reinspect"]
    assert client.get("/api/v1/bureau/visits?review_status=reinspect",
                      headers=base).get_json()["items"] == []
    assert client.get("/api/v1/bureau/visits?review_status=pending",
                      headers=base).get_json()["items"][0]["id"] == str(visit.id)
    text = page(client, "base_a").get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert COMMENT not in text and str(assignment.id) not in text
    assert "reinspect" not in client.get("/bureau/visits").get_data(as_text=True).split(
        "<tbody>")[-1]
    reviewer_page = page(client,
                         "county_a").get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert COMMENT in reviewer_page


def test_once_the_reinspection_happened_the_base_sees_the_order(client, api, world, reinspected):
    visit, assignment = reinspected
    later = make_visit(world, "a", session_index=5)
    later.assignment_id = assignment.id
    later.started_at = visit.started_at + timedelta(hours=1)
    db.session.commit()
    assert listed(client, api.headers("base_a"), visit.id) == ["reinspect"]
    assert COMMENT in page(client,
                           "base_a").get(f"/bureau/visits/{visit.id}").get_data(as_text=True)


@pytest.fixture
def covert(world):
    visit = make_visit(world, "a")
    visit.inspector_id = world.users["city_inspector"].id
    world.users["city_inspector"].display_name = "暗访员王某"
    db.session.commit()
    return db.session.get(Visit, visit.id)


def test_a_covert_check_is_hidden_from_the_base_until_reviewed(client, api, world, covert):
    base = api.headers("base_a")
    assert listed(client, base, covert.id) == []
    assert client.get(f"/api/v1/bureau/visits/{covert.id}", headers=base).status_code in (403, 404)
    web = page(client, "base_a")
    assert web.get(f"/bureau/visits/{covert.id}").status_code == 404
    assert listed(client, api.headers("county_a"), covert.id) == ["pending"]


def test_a_reviewed_covert_check_names_only_the_city_bureau(client, api, world, covert):
    review_service.accept_visit(world.users["county_a"], covert)
    db.session.commit()
    assert listed(client, api.headers("base_a"), covert.id) == ["accepted"]
    text = page(client, "base_a").get(f"/bureau/visits/{covert.id}").get_data(as_text=True)
    assert COVERT_INSPECTOR_LABEL in text
    assert "暗访员王某" not in text and "city_inspector" not in text
    assert client.get(f"/documents/visits/{covert.id}.pdf").status_code == 404
    reviewer = page(client, "county_a").get(f"/bureau/visits/{covert.id}").get_data(as_text=True)
    assert "暗访员王某" in reviewer


def test_a_county_teams_visit_is_shown_to_the_base_as_before(client, api, world):
    visit = make_visit(world, "a")
    assert listed(client, api.headers("base_a"), visit.id) == ["pending"]


def test_a_base_home_counts_a_covert_check_only_once_reviewed(client, world, covert):
    # The base's own figure of classes checked must not give away what its visit list hides.
    from server.services.clock import local_date_of
    from server.services.coverage import base_rows

    year = local_date_of(covert.started_at).year
    base_user = world.users["base_a"]
    assert base_rows(base_user, year)[0].visited == 0
    assert base_rows(world.users["county_a"], year)[0].visited == 1
    home = page(client, "base_a").get(f"/bureau/?year={year}").get_data(as_text=True)
    assert "已被抽查 0 个" in home
    review_service.accept_visit(world.users["county_a"], covert)
    db.session.commit()
    assert base_rows(base_user, year)[0].visited == 1
    home = page(client, "base_a").get(f"/bureau/?year={year}").get_data(as_text=True)
    assert "已被抽查 1 个" in home


def _archive_as(client, world, username: str):
    import io
    import zipfile

    year = world.classes["a"].start_date.year
    answer = page(client, username).get(
        f"/documents/bases/{world.bases['a'].id}/{year}/archive.zip")
    assert answer.status_code == 200
    return zipfile.ZipFile(io.BytesIO(answer.data))


def _visit_files(archive, visit_id) -> list[str]:
    return [n for n in archive.namelist() if f"/visits/{visit_id}" in n]


def test_a_base_archive_holds_no_covert_check_and_the_bureaus_does(client, world, covert):
    # What the base may not list (an unreviewed covert check) nor take away (a covert check's
    # record names its inspectors, reviewed or not) is not in the base's archive either.
    photos = {p["sha256"] for p in covert.payload["photos"]}
    base_zip = _archive_as(client, world, "base_a")
    assert _visit_files(base_zip, covert.id) == []
    assert not any(sha in name for name in base_zip.namelist() for sha in photos)
    assert b"\xe6\x9a\x97\xe8\xae\xbf\xe5\x91\x98" not in b"".join(   # 暗访员
        base_zip.read(n) for n in base_zip.namelist() if n.endswith(".json"))
    review_service.accept_visit(world.users["county_a"], covert)
    db.session.commit()
    assert _visit_files(_archive_as(client, world, "base_a"), covert.id) == []
    bureau_zip = _archive_as(client, world, "county_a")
    assert len(_visit_files(bureau_zip, covert.id)) == 3  # record, PDF, sign-ins
    assert any(sha in name for name in bureau_zip.namelist() for sha in photos)


def test_a_base_archive_keeps_a_reinspection_order_back_until_it_happened(client, world,
                                                                           reinspected):
    import json

    visit, assignment = reinspected
    name = f"classes/{world.classes['a'].id}/visits/{visit.id}.json"
    record = json.loads(_archive_as(client, world, "base_a").read(name))
    assert record["review_status"] == "pending" and record["reviews"] == []
    assert COMMENT.encode() not in json.dumps(record, ensure_ascii=False).encode()
    bureau = json.loads(_archive_as(client, world, "county_a").read(name))
    assert bureau["review_status"] == "reinspect" and bureau["reviews"][0]["comment"] == COMMENT
    later = make_visit(world, "a", session_index=5)
    later.assignment_id = assignment.id
    later.started_at = visit.started_at + timedelta(hours=1)
    db.session.commit()
    record = json.loads(_archive_as(client, world, "base_a").read(name))
    assert record["review_status"] == "reinspect" and record["reviews"][0]["comment"] == COMMENT


def test_a_team_is_the_citys_or_the_countys_never_both(world):
    from server.errors import ApiError
    from server.services.assignments import create_assignment

    session = world.versions["a"].sessions[3]
    with pytest.raises(ApiError) as refused:
        create_assignment(world.classes["a"].id, session.id,
                          [world.users["inspector_a"], world.users["city_inspector"]])
    assert refused.value.code == "validation_error"
    for team in ([world.users["inspector_a"]], [world.users["city_inspector"]]):
        assert create_assignment(world.classes["a"].id, session.id, team).inspectors == team
