"""Review of spot-check records: decisions, rectification (R15), scope, audit and pull."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    Assignment,
    AuditEvent,
    ChangeLog,
    Media,
    Rectification,
    Visit,
    VisitReview,
)
from server.services import review
from server.services.media_store import media_path
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user
from tests.media.tus_client import pdf_bytes, png_header_only
from tests.sync.client import visit_payload
from tests.sync.fixtures import phone, publish_world, today_session


def png_bytes(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def store_png(colour: str) -> str:
    sha = review.store_media_bytes(png_bytes(colour), "image/png", None)
    db.session.commit()
    return sha


@pytest.fixture
def visits(client, world):
    """One compliant visit and one with a teacher mismatch in county A, one in county B."""
    publish_world(world)
    world.users["inspector_a2"] = make_user("inspector_a2", "inspector", world.counties["a"])
    world.users["inspector_a3"] = make_user("inspector_a3", "inspector", world.counties["a"])
    db.session.commit()
    photo = store_png("red")
    out = {}
    device = phone(client, "inspector_a", "phone-a")
    for key, kwargs in [("a_ok", {}), ("a_bad", {"teacher_matches": False, "verdict": "issues",
                                                   "photos": [photo]})]:
        session = world.versions["a"].sessions[3 if key == "a_ok" else 2]
        payload = visit_payload(class_id=world.classes["a"].id, session=session,
                                plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                **kwargs)
        out[key] = uuid.UUID(device.add_visit(payload)["entity_id"])
    status, body = device.push()
    assert status == 200, body
    device_b = phone(client, "inspector_b", "phone-b")
    payload = visit_payload(class_id=world.classes["b"].id, session=today_session(world, "b"),
                            plan_version_id=world.versions["b"].id, site=world.sites["b"])
    out["b"] = uuid.UUID(device_b.add_visit(payload)["entity_id"])
    assert device_b.push()[0] == 200
    out["photo"] = photo
    return out


def login(client, username: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_mismatches_are_listed_and_filtered(visits, world):
    county_a = world.users["county_a"]
    rows = review.list_visits(county_a)
    assert {v.id for v in rows} == {visits["a_ok"], visits["a_bad"]}
    bad = db.session.get(Visit, visits["a_bad"])
    assert "check:teacher" in review.visit_summary(bad)["issues"]
    only_issues = review.list_visits(county_a, review.VisitFilters(verdict="issues"))
    assert [v.id for v in only_issues] == [visits["a_bad"]]
    day = bad.started_at.date()
    assert {v.id for v in review.list_visits(county_a, review.VisitFilters(
        date_from=day - timedelta(days=10), date_to=day + timedelta(days=10)))} == {
        visits["a_ok"], visits["a_bad"]}
    assert review.list_visits(county_a,
                              review.VisitFilters(date_from=day + timedelta(days=30))) == []
    assert {v.id for v in review.list_visits(world.users["city"])} == {
        visits["a_ok"], visits["a_bad"], visits["b"]}
    rows = {r["check"]: r for r in review.comparison(bad)}
    assert rows["teacher"]["status"] == "mismatch"
    assert rows["place"]["status"] == "match"
    assert rows["teacher"]["planned"] == world.teachers["a_theory"].name


@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=0001-01-01",
                                   "date_from=2101-01-01", "date_to=1999-12-31"])
def test_a_visit_filter_date_outside_real_years_is_a_422_on_the_api_and_the_page(
        visits, client, api, query):
    response = client.get(f"/api/v1/bureau/visits?{query}", headers=api.headers("county_a"))
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    login(client, "county_a")
    assert client.get(f"/bureau/visits?{query}").status_code == 422


def test_county_b_cannot_see_county_a_visits(visits, client, api):
    headers = api.headers("county_b")
    assert client.get(f"/api/v1/bureau/visits/{visits['a_bad']}",
                      headers=headers).status_code == 404
    listing = client.get("/api/v1/bureau/visits", headers=headers).get_json()["items"]
    assert [v["id"] for v in listing] == [str(visits["b"])]
    login(client, "county_b")
    assert client.get(f"/bureau/visits/{visits['a_bad']}").status_code == 404
    response = client.post(f"/bureau/visits/{visits['a_bad']}/accept", data={"comment": "x"})
    assert response.status_code == 404
    assert count(VisitReview) == 0


def test_visit_page_shows_plan_beside_observation_and_seal(visits, client, world):
    login(client, "county_a")
    page = client.get(f"/bureau/visits/{visits['a_bad']}").get_data(as_text=True)
    assert 'class="row-mismatch" data-testid="check-teacher"' in page
    assert world.teachers["a_theory"].name in page
    assert "封存完好" in page
    assert f"/bureau/visits/{visits['a_bad']}/media/{visits['photo']}" in page
    photo = client.get(f"/bureau/visits/{visits['a_bad']}/media/{visits['photo']}")
    assert photo.status_code == 200 and photo.data == png_bytes("red")
    # A hash the visit does not name is not served, even though the file exists.
    other = store_png("blue")
    assert client.get(f"/bureau/visits/{visits['a_bad']}/media/{other}").status_code == 404
    # The seal is recomputed: a changed payload shows as broken.
    visit = db.session.get(Visit, visits["a_bad"])
    visit.payload = {**visit.payload, "verdict": "compliant"}
    db.session.commit()
    assert not review.seal_state(visit)["intact"]
    assert "封存不一致" in client.get(f"/bureau/visits/{visits['a_bad']}").get_data(as_text=True)


def test_base_staff_see_their_visits_without_photos_or_actions(visits, client):
    login(client, "base_a")
    page = client.get(f"/bureau/visits/{visits['a_bad']}")
    assert page.status_code == 200
    assert "data-testid=\"actions\"" not in page.get_data(as_text=True)
    assert client.get(
        f"/bureau/visits/{visits['a_bad']}/media/{visits['photo']}").status_code == 404
    assert client.get(f"/bureau/visits/{visits['b']}").status_code == 404
    assert client.post(f"/bureau/visits/{visits['a_bad']}/accept").status_code in (302, 403)
    assert count(VisitReview) == 0


def test_accept_is_audited_and_reaches_the_inspectors_phone(visits, client, api, world):
    response = client.post(f"/api/v1/bureau/visits/{visits['a_ok']}/accept",
                           headers=api.headers("county_a"), json={"comment": "符合要求"})
    assert response.status_code == 201, response.get_json()
    review_id = uuid.UUID(response.get_json()["id"])
    assert db.session.get(Visit, visits["a_ok"]).review_status == "accepted"
    assert count(AuditEvent, AuditEvent.action == "visit.accept",
                 AuditEvent.entity_id == str(visits["a_ok"])) == 1
    change = db.session.scalar(select(ChangeLog).where(ChangeLog.entity_type == "visit_review"))
    assert (change.entity_id, change.user_id) == (review_id, world.users["inspector_a"].id)
    again = client.post(f"/api/v1/bureau/visits/{visits['a_ok']}/accept",
                        headers=api.headers("county_a"), json={})
    assert again.status_code == 409 and again.get_json()["code"] == "review.invalid_state"
    assert count(VisitReview) == 1


def test_reinspection_makes_a_new_assignment_for_two_other_inspectors(visits, client, world):
    login(client, "county_a")
    response = client.post(f"/bureau/visits/{visits['a_bad']}/reinspect", data={"comment": "复查"})
    assert response.status_code == 302
    assignment = db.session.scalar(select(Assignment))
    assert assignment.class_id == world.classes["a"].id and assignment.draw_id is None
    assert {u.username for u in assignment.inspectors} == {"inspector_a2", "inspector_a3"}
    assert assignment.session.date >= date.today()
    assert db.session.get(Visit, visits["a_bad"]).review_status == "reinspect"
    assert count(AuditEvent, AuditEvent.action == "visit.reinspect") == 1
    audiences = set(db.session.scalars(select(ChangeLog.user_id).where(
        ChangeLog.entity_type.in_(["assignment", "visit_review"]))))
    assert audiences == {world.users[u].id for u in ("inspector_a", "inspector_a2", "inspector_a3")}


def test_reinspection_with_a_chosen_team_of_one_is_refused(visits, client, api, world):
    response = client.post(f"/api/v1/bureau/visits/{visits['a_bad']}/reinspect",
                           headers=api.headers("county_a"),
                           json={"inspector_ids": [str(world.users["inspector_a2"].id)]})
    assert response.status_code == 422
    assert count(Assignment) == 0 and count(VisitReview) == 0


def test_deadline_sanction_needs_a_deadline(visits, client, api):
    url = f"/api/v1/bureau/visits/{visits['a_bad']}/rectification"
    headers = api.headers("county_a")
    missing = client.post(url, headers=headers, json={"sanction": "deadline", "order_text": "整改"})
    assert missing.status_code == 422 and "deadline" in missing.get_json()["errors"]
    wrong = client.post(url, headers=headers, json={"sanction": "fine", "order_text": "整改"})
    assert wrong.status_code == 422
    assert count(Rectification) == 0 and count(VisitReview) == 0
    far = client.post(url, headers=headers, json={
        "sanction": "deadline", "order_text": "整改", "deadline": "9999-12-31"})
    assert far.status_code == 422 and "deadline" in far.get_json()["errors"]
    assert count(Rectification) == 0 and count(VisitReview) == 0
    ok = client.post(url, headers=headers, json={
        "sanction": "deadline", "order_text": "按计划更换教师",
        "deadline": (date.today() + timedelta(days=14)).isoformat()})
    assert ok.status_code == 201, ok.get_json()
    rect = db.session.get(Rectification, uuid.UUID(ok.get_json()["rectification_id"]))
    assert rect.status == "open" and rect.deadline == date.today() + timedelta(days=14)


def test_rectification_answered_with_files_then_closed(visits, client, world, tmp_path):
    login(client, "county_a")
    response = client.post(f"/bureau/visits/{visits['a_bad']}/rectification", data={
        "sanction": "criticism", "order_text": "理论课教师与备案不符"})
    assert response.status_code == 302
    rect = db.session.scalar(select(Rectification))
    assert rect.base_id == world.bases["a"].id
    # The reviewer cannot close before the base answered.
    client.post(f"/bureau/rectifications/{rect.id}/close", data={"comment": "x"})
    db.session.expire_all()
    assert db.session.get(Rectification, rect.id).status == "open"

    login(client, "base_b")
    assert client.get(f"/bureau/rectifications/{rect.id}").status_code == 404
    login(client, "base_a")
    assert client.get(f"/bureau/rectifications/{rect.id}").status_code == 200
    bad_file = client.post(f"/bureau/rectifications/{rect.id}/answer", data={
        "text": "已整改", "files": (io.BytesIO(b"MZ not allowed"), "x.exe")},
        content_type="multipart/form-data")
    assert bad_file.status_code == 302
    db.session.expire_all()
    assert db.session.get(Rectification, rect.id).status == "open"
    proof = png_bytes("green")
    pdf = pdf_bytes()
    response = client.post(f"/bureau/rectifications/{rect.id}/answer", data={
        "text": "已更换为备案教师，附签到表", "files": [(io.BytesIO(proof), "签到表.png"),
                                                     (io.BytesIO(pdf), "说明.pdf")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    rect = db.session.get(Rectification, rect.id)
    assert rect.status == "answered" and rect.response_text.startswith("已更换")
    assert [m["mime"] for m in rect.response_media] == ["image/png", "application/pdf"]
    for item in rect.response_media:
        assert media_path(item["sha256"]).read_bytes() in (proof, pdf)
        assert db.session.get(Media, item["sha256"]) is not None
    sha = rect.response_media[0]["sha256"]
    assert client.get(f"/bureau/rectifications/{rect.id}/files/{sha}").data == proof
    assert client.post(f"/bureau/rectifications/{rect.id}/close").status_code in (302, 403)

    login(client, "county_a")
    assert client.get(f"/bureau/rectifications/{rect.id}/files/{sha}").data == proof
    client.post(f"/bureau/rectifications/{rect.id}/close", data={"comment": "整改到位"})
    db.session.expire_all()
    rect = db.session.get(Rectification, rect.id)
    assert rect.status == "closed" and rect.closing_comment == "整改到位"
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == str(rect.id))))
    assert actions == {"rectification.open", "rectification.answer", "rectification.close"}
    change = db.session.scalar(select(ChangeLog).where(ChangeLog.entity_type == "visit_review"))
    assert change.user_id == world.users["inspector_a"].id
    login(client, "county_b")
    assert client.get(f"/bureau/rectifications/{rect.id}").status_code == 404
    assert "rect-row" not in client.get("/bureau/rectifications").get_data(as_text=True)


@pytest.mark.parametrize("name, data", [
    ("html.jpg", b"\xff\xd8\xff<html><script>alert(1)</script></html>"),
    ("bomb.png", png_header_only(100000, 100000)),
    ("junk.pdf", b"%PDF-<html><script>alert(1)</script></html>"),
], ids=["jpeg-magic-then-html", "png-of-10-gigapixels", "pdf-magic-then-junk"])
def test_an_answer_file_with_the_right_first_bytes_but_no_real_content_is_refused(
        visits, client, name, data):
    login(client, "county_a")
    client.post(f"/bureau/visits/{visits['a_bad']}/rectification", data={
        "sanction": "criticism", "order_text": "理论课教师与备案不符"})
    rect = db.session.scalar(select(Rectification))
    login(client, "base_a")
    response = client.post(f"/bureau/rectifications/{rect.id}/answer", data={
        "text": "已整改，见附件", "files": [(io.BytesIO(png_bytes("green")), "签到表.png"),
                                           (io.BytesIO(data), name)]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    rect = db.session.get(Rectification, rect.id)
    assert rect.status == "open" and not rect.response_media
    assert count(Media, Media.mime != "image/png") == 0
    assert not media_path(hashlib.sha256(data).hexdigest()).exists()


def test_revocation_bars_the_base_for_three_years(visits, world):
    today = date(2028, 2, 29)
    _, rect = review.open_rectification(world.users["county_a"],
                                        db.session.get(Visit, visits["a_bad"]), "revocation",
                                        "培训造假", today=today)
    db.session.commit()
    base = world.bases["a"]
    db.session.refresh(base)
    assert base.status == "revoked" and base.revoked_until == date(2031, 2, 28)
    assert count(AuditEvent, AuditEvent.action == "base.revoke",
                 AuditEvent.entity_id == str(base.id)) == 1
    assert rect.sanction == "revocation"


def test_base_staff_api_sees_rectifications_but_no_draws(visits, client, api):
    headers = api.headers("base_a")
    assert client.get("/api/v1/bureau/draws", headers=headers).status_code == 403
    assert client.get("/api/v1/bureau/coverage", headers=headers).status_code == 403
    assert client.get("/api/v1/bureau/rectifications", headers=headers).get_json() == {"items": []}
    assert client.get("/api/v1/bureau/rectifications",
                      headers=api.headers("inspector_a")).status_code == 403


def test_check_reasons_read_in_chinese_first_and_english_on_the_switch(app):
    from flask import render_template_string

    from sync.judge import judge_observation

    check = judge_observation(False, "teacher", "李", "王").to_dict()
    with app.test_request_context("/bureau/visits"):
        chinese = render_template_string("{{ c | check_text }}", c=check)
    with app.test_request_context("/bureau/visits?lang=en"):
        english = render_template_string("{{ c | check_text }}", c=check)
    assert english == "The teacher differs from the plan"
    assert chinese == "教师与计划不一致"


def test_the_plan_beside_the_observation_reads_in_the_chosen_language(app, world):
    from server.services.review import comparison
    from tests.documents.support import make_visit

    visit = make_visit(world)
    with app.test_request_context("/bureau/visits"):
        chinese = {row["check"]: row for row in comparison(visit)}
    with app.test_request_context("/bureau/visits?lang=en"):
        english = {row["check"]: row for row in comparison(visit)}
    assert chinese["attendance"]["planned"].startswith("名册")
    assert english["attendance"]["planned"].startswith("Roster:")
    assert "米" in chinese["place"]["planned"] and " m)" in english["place"]["planned"]
    assert english["teacher"]["observed"].startswith(("As planned", "Differs", "Not confirmed"))


def test_an_answer_that_is_not_enough_goes_back_to_the_base_then_is_answered_and_closed(
        visits, client, world):
    login(client, "county_a")
    client.post(f"/bureau/visits/{visits['a_bad']}/rectification", data={
        "sanction": "criticism", "order_text": "理论课教师与备案不符"})
    rect_id = db.session.scalar(select(Rectification.id))
    # Nothing to send back before an answer.
    client.post(f"/bureau/rectifications/{rect_id}/return", data={"comment": "不够"})
    db.session.expire_all()
    assert db.session.get(Rectification, rect_id).returned_at is None

    login(client, "base_a")
    client.post(f"/bureau/rectifications/{rect_id}/answer", data={"text": "已整改"},
                content_type="multipart/form-data")
    # The base cannot send its own answer back.
    client.post(f"/bureau/rectifications/{rect_id}/return", data={"comment": "x"})
    db.session.expire_all()
    assert db.session.get(Rectification, rect_id).status == "answered"

    login(client, "county_a")
    empty = client.post(f"/bureau/rectifications/{rect_id}/return", data={"comment": ""})
    assert empty.status_code == 302
    db.session.expire_all()
    assert db.session.get(Rectification, rect_id).status == "answered"  # a reason is required
    client.post(f"/bureau/rectifications/{rect_id}/return", data={"comment": "未附证明材料"})
    db.session.expire_all()
    rect = db.session.get(Rectification, rect_id)
    assert rect.status == "open" and rect.return_comment == "未附证明材料" and rect.returned_at

    login(client, "base_a")
    page = client.get(f"/bureau/rectifications/{rect_id}").get_data(as_text=True)
    assert "未附证明材料" in page and 'data-testid="return-comment"' in page
    client.post(f"/bureau/rectifications/{rect_id}/answer", data={"text": "补充签到表"},
                content_type="multipart/form-data")
    login(client, "county_a")
    client.post(f"/bureau/rectifications/{rect_id}/close", data={"comment": "整改到位"})
    db.session.expire_all()
    assert db.session.get(Rectification, rect_id).status == "closed"
    actions = [a for a in db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == str(rect_id)).order_by(AuditEvent.at))]
    assert actions == ["rectification.open", "rectification.answer", "rectification.return",
                       "rectification.answer", "rectification.close"]
