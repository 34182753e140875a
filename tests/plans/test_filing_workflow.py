"""Filing a plan across roles (R5/R7): draft → submit → approve or return → record, and what is
forbidden.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, ChangeLog, PlanVersion
from tests.conftest import TEST_PASSWORD
from tests.plans.filing_support import Filing, trainee_row


@pytest.fixture
def filing(client, api, world):
    return Filing(client, api, world)


def audit_actions(entity_id: str) -> list[str]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_id == entity_id)
                                .order_by(AuditEvent.at)).all()
    return [e.action for e in events]


def test_base_files_county_approves_city_records(filing):
    klass, vid = filing.filled_draft()
    view = filing.call("get", f"/plan-versions/{vid}", "base_a").get_json()
    assert view["violations"] == []
    assert view["hours"] == {"total": 216.0, "politics": 12.0, "theory": 112.0, "practical": 92.0}
    assert all("*" in row["id_masked"] for row in view["roster"])

    submitted = filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["status"] == "submitted"

    queue = filing.call("get", "/plan-versions?status=submitted", "county_a").get_json()["versions"]
    assert [v["id"] for v in queue] == [vid]

    seq_before = db.session.scalar(
        select(ChangeLog.seq).order_by(ChangeLog.seq.desc()).limit(1)) or 0
    approved = filing.call("post", f"/plan-versions/{vid}/approve", "county_a",
                           json={"comment": "同意"})
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved" and body["approved_by"] == "county_a" and body[
        "approved_at"]
    published = db.session.scalars(select(ChangeLog).where(ChangeLog.seq > seq_before)).all()
    assert ("plan_version", vid) in {(c.entity_type, str(c.entity_id)) for c in published}
    assert {c.county_id for c in published} == {filing.world.counties["a"].id}

    recorded = filing.call("post", f"/plan-versions/{vid}/record", "city", json={})
    assert recorded.status_code == 200 and recorded.get_json()["status"] == "recorded"
    assert audit_actions(vid) == ["plan.draft", "plan.sessions_replace", "plan.roster_import",
                                  "plan.submit", "plan.approve", "plan.record"]
    in_force = filing.call("get", f"/classes/{klass['id']}", "county_a").get_json()["in_force"]
    assert in_force["id"] == vid


def test_submitted_version_is_immutable(filing):
    _, vid = filing.filled_draft()
    assert filing.call("post", f"/plan-versions/{vid}/submit", "base_a").status_code == 200
    sessions = filing.call("get", f"/plan-versions/{vid}", "base_a").get_json()["sessions"]
    edits = [
        ("put", f"/plan-versions/{vid}/roster", {"json": {"trainees": [trainee_row(800)]}}),
        ("put", f"/plan-versions/{vid}/sessions", {"json": {"sessions": []}}),
        ("delete", f"/plan-versions/{vid}/sessions/{sessions[0]['id']}", {}),
    ]
    for method, path, kwargs in edits:
        response = filing.call(method, path, "base_a", **kwargs)
        assert response.status_code == 409 and response.get_json()["code"] == "plan.not_editable"
    after = filing.call("get", f"/plan-versions/{vid}", "base_a").get_json()
    assert len(after["sessions"]) == 54 and len(after["roster"]) == 3
    # Submitting twice is no transition either.
    again = filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    assert again.status_code == 409 and again.get_json()["code"] == "plan.invalid_transition"


def test_submit_with_violations_is_refused_and_changes_nothing(filing):
    klass = filing.new_class()
    vid = klass["versions"][0]["id"]
    filing.call("put", f"/plan-versions/{vid}/roster", "base_a", json={"trainees": [
        trainee_row(801), trainee_row(802, education="初中")]})
    response = filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "plan.has_violations"
    codes = {e["code"] for e in body["errors"]}
    assert {"R6.total_hours", "R6.theory_hours", "R3.education"} <= codes
    assert db.session.get(PlanVersion, __import__("uuid").UUID(vid)).status == "draft"
    assert "plan.submit" not in audit_actions(vid)


def test_a_base_cannot_approve_or_record_its_own_plan(filing):
    _, vid = filing.filled_draft()
    filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    for move in ("approve", "record"):
        response = filing.call("post", f"/plan-versions/{vid}/{move}", "base_a", json={})
        assert response.status_code == 403, move
    # Nor may the city seal in the county's place, nor an inspector.
    assert filing.call("post", f"/plan-versions/{vid}/approve", "city", json={}).status_code == 403
    # An inspector sees only filed plans: a submitted one does not exist for them.
    assert filing.call("post", f"/plan-versions/{vid}/approve", "inspector_a",
                       json={}).status_code == 404
    # Recording before approval is no transition.
    early = filing.call("post", f"/plan-versions/{vid}/record", "city", json={})
    assert early.status_code == 409 and early.get_json()["code"] == "plan.invalid_transition"
    assert filing.call("get", f"/plan-versions/{vid}", "base_a").get_json()["status"] == "submitted"


def test_county_b_can_neither_read_nor_change_county_a_plans(filing):
    klass, vid = filing.filled_draft()
    filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    for method, path, kwargs in [
        ("get", f"/plan-versions/{vid}", {}),
        ("get", f"/classes/{klass['id']}", {}),
        ("get", f"/plan-versions/{vid}/roster", {}),
        ("post", f"/plan-versions/{vid}/approve", {"json": {}}),
        ("post", f"/plan-versions/{vid}/return", {"json": {"comment": "x"}}),
    ]:
        response = filing.call(method, path, "county_b", **kwargs)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["code"] == "not_found"
    missing = filing.call("get", f"/plan-versions/{__import__('uuid').uuid4()}", "county_b")
    assert missing.get_json() == filing.call("get", f"/plan-versions/{vid}", "county_b").get_json()
    assert filing.call("get", "/plan-versions?status=submitted",
                       "county_b").get_json()["versions"] == []
    assert filing.call("get", f"/plan-versions/{vid}", "base_b").status_code == 404
    assert filing.call("get", f"/plan-versions/{vid}", "city").status_code == 200
    class_ids = {c["id"] for c in filing.call("get", "/classes", "county_b").get_json()["classes"]}
    assert klass["id"] not in class_ids and str(filing.world.classes["b"].id) in class_ids


def test_county_returns_with_comment_and_base_files_a_fixed_version(filing):
    klass, vid = filing.filled_draft()
    filing.call("post", f"/plan-versions/{vid}/submit", "base_a")
    no_comment = filing.call("post", f"/plan-versions/{vid}/return", "county_a", json={})
    assert no_comment.status_code == 422
    returned = filing.call("post", f"/plan-versions/{vid}/return", "county_a",
                           json={"comment": "花名册缺劳动合同"})
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["review_comment"] == "花名册缺劳动合同"
    # No approval has happened yet, so no reason is required for the corrected version.
    fixed = filing.call("post", f"/classes/{klass['id']}/plan-versions", "base_a", json={})
    assert fixed.status_code == 201, fixed.get_json()
    body = fixed.get_json()
    assert body["number"] == 2 and body["status"] == "draft" and len(body["sessions"]) == 54
    assert "plan.return" in audit_actions(vid)


def test_change_after_filing_is_a_new_version_with_reason_and_diff(filing, world):
    klass = world.classes["a"]
    old = world.versions["a"]
    path = f"/classes/{klass.id}/plan-versions"
    no_reason = filing.call("post", path, "base_a", json={})
    assert no_reason.status_code == 422 and no_reason.get_json()["code"] == "plan.reason_required"
    created = filing.call("post", path, "base_a", json={"reason": "实操老师因病更换"})
    assert created.status_code == 201
    new = created.get_json()
    assert new["number"] == 2 and new["reason"] == "实操老师因病更换"
    # A second draft while one is open is refused.
    assert filing.call("post", path, "base_a", json={"reason": "再改"}).status_code == 409

    substitute = filing.call("post", "/teachers", "base_a", json={
        "name": "替补实操老师", "skill_qualification": "高级实习指导教师"}).get_json()
    sessions = new["sessions"]
    rows = []
    for s in sessions[1:]:  # drop the first session
        rows.append({"lineage_id": s["lineage_id"], "date": s["date"], "start": s["start"],
                     "end": s["end"], "category": s["category"], "topic": s["topic"],
                     "teacher_id": substitute["id"] if s["category"] == "practical"
                     else s["teacher"]["id"],
                     "site_id": s["site"]["id"]})
    rows.append({"date": sessions[-1]["date"], "start": "14:00", "end": "17:45",
                 "category": "politics", "topic": "补充思政课",
                 "teacher_id": sessions[0]["teacher"]["id"],
                 "site_id": sessions[0]["site"]["id"]})
    r = filing.call("put", f"/plan-versions/{new['id']}/sessions", "base_a",
                    json={"sessions": rows})
    assert r.status_code == 200, r.get_json()
    roster = [trainee_row(900)]
    assert filing.call("put", f"/plan-versions/{new['id']}/roster", "base_a",
                       json={"trainees": roster}).status_code == 200

    submitted = filing.call("post", f"/plan-versions/{new['id']}/submit", "base_a")
    assert submitted.status_code == 200, submitted.get_json()
    diff = submitted.get_json()["diff"]
    assert diff["against"] == {"id": str(old.id), "number": 1}
    assert [s["lineage_id"] for s in diff["sessions"]["removed"]] == [sessions[0]["lineage_id"]]
    assert [s["topic"] for s in diff["sessions"]["added"]] == ["补充思政课"]
    assert len(diff["sessions"]["changed"]) == 18
    assert all(c["fields"] == ["teacher_id"] for c in diff["sessions"]["changed"])
    assert diff["teachers"]["added"] == ["替补实操老师"] and diff["teachers"]["removed"] == ["a实操"
                                                                                             "老师"]
    assert {r["to"] for r in diff["teachers"]["replaced"]} == {"替补实操老师"}
    assert len(diff["roster"]["removed"]) == 5 and [p["name"]
                                                    for p in diff["roster"]["added"]] == ["学员900"]
    # The old version is untouched and still in force until the new one is approved.
    assert filing.call("get", f"/plan-versions/{old.id}",
                       "base_a").get_json()["status"] == "recorded"
    assert filing.call("get", f"/classes/{klass.id}",
                       "base_a").get_json()["in_force"]["number"] == 1
    filing.call("post", f"/plan-versions/{new['id']}/approve", "county_a", json={})
    assert filing.call("get", f"/classes/{klass.id}",
                       "base_a").get_json()["in_force"]["number"] == 2


def test_sessions_must_use_the_bases_own_teachers_and_sites(filing, world):
    klass = filing.new_class()
    vid = klass["versions"][0]["id"]
    response = filing.call("post", f"/plan-versions/{vid}/sessions", "base_a", json={
        "date": klass["start_date"], "start": "08:30", "end": "11:30", "category": "theory",
        "topic": "x", "teacher_id": str(world.teachers["b_theory"].id),
        "site_id": str(world.sites["a"].id)})
    assert response.status_code == 422 and "teacher_id" in response.get_json()["errors"]
    bad_times = filing.call("post", f"/plan-versions/{vid}/sessions", "base_a", json={
        "date": klass["start_date"], "start": "11:30", "end": "08:30", "category": "theory",
        "topic": "x", "teacher_id": str(world.teachers["a_theory"].id),
        "site_id": str(world.sites["a"].id)})
    assert bad_times.status_code == 422
    repeated = filing.call("post", f"/plan-versions/{vid}/sessions", "base_a", json={
        "date": klass["start_date"], "start": "08:30", "end": "11:30", "category": "theory",
        "topic": "机械制图", "teacher_id": str(world.teachers["a_theory"].id),
        "site_id": str(world.sites["a"].id), "repeat_days": 5})
    assert repeated.status_code == 201
    assert [s["date"] for s in repeated.get_json()] == [
        (date.fromisoformat(klass["start_date"]) + timedelta(days=i)).isoformat() for i in range(5)]
    assert all(s["hours"] == 4.0 for s in repeated.get_json())


def test_only_base_staff_create_classes_and_drafts(filing, world):
    response = filing.call("post", "/classes", "county_a", json={
        "name": "x", "occupation_id": str(world.occupation.id), "level": 2,
        "start_date": "2026-01-01", "end_date": "2026-02-01"})
    assert response.status_code == 403
    other = filing.call("post", f"/classes/{world.classes['a'].id}/plan-versions", "base_b",
                        json={"reason": "x"})
    assert other.status_code == 404


def test_roster_json_rows_report_violations_and_mask_ids(filing):
    klass = filing.new_class()
    vid = klass["versions"][0]["id"]
    old = date.fromisoformat(klass["start_date"]).replace(
        year=date.fromisoformat(klass["start_date"]).year - 52)
    rows = [trainee_row(1), trainee_row(2, born=old),
            trainee_row(3, id_number="370705199001010000"),
            trainee_row(4, employer_kind="事业单位"), trainee_row(1)]
    response = filing.call("put", f"/plan-versions/{vid}/roster", "base_a", json={"trainees": rows})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["enrolled"], body["skipped"]) == (3, 2)
    codes = [[v["code"] for v in r["violations"]] for r in body["rows"]]
    assert codes == [[], ["R3.age"], ["R3.id_invalid"], ["R3.public_institution"], ["R3.duplicate"]]
    assert [r["enrolled"] for r in body["rows"]] == [True, True, False, True, False]
    raw_ids = {r["id_number"] for r in rows}
    assert not any(raw in response.get_data(as_text=True) for raw in raw_ids)
    view = filing.call("get", f"/plan-versions/{vid}/roster", "base_a").get_json()
    assert sorted(v["code"] for r in view["rows"] for v in r["violations"]) == [
        "R3.age", "R3.public_institution"]
    # A draft is the base's own work in progress: the county sees it once submitted.
    assert filing.call("get", f"/plan-versions/{vid}/roster", "county_a").status_code == 404


def test_bad_input_is_a_422_and_changes_nothing(filing):
    klass = filing.new_class()
    vid = klass["versions"][0]["id"]
    for body in ({"sessions": [{"date": "2026-01-01"}]}, {"sessions": "x"}, {"extra": 1}, None):
        r = filing.call("put", f"/plan-versions/{vid}/sessions", "base_a", json=body)
        assert r.status_code == 422 and r.get_json()["code"] == "validation_error"
    assert filing.call("get", f"/plan-versions/{vid}", "base_a").get_json()["sessions"] == []


def test_a_session_cannot_take_another_plan_s_lineage(filing, world):
    # The lineage is a session's identity across its own plan's versions; another class's would
    # make this plan's visits count as repeats of that class's session.
    klass = world.classes["a"]
    new = filing.call("post", f"/classes/{klass.id}/plan-versions", "base_a",
                      json={"reason": "调整课程内容"}).get_json()
    sessions = new["sessions"]
    foreign = world.versions["b"].sessions[0].lineage_id
    rows = [{"lineage_id": s["lineage_id"], "date": s["date"], "start": s["start"],
             "end": s["end"], "category": s["category"], "topic": s["topic"],
             "teacher_id": s["teacher"]["id"], "site_id": s["site"]["id"]} for s in sessions]
    rows[0]["lineage_id"] = str(foreign)
    refused = filing.call("put", f"/plan-versions/{new['id']}/sessions", "base_a",
                          json={"sessions": rows})
    assert refused.status_code == 422
    assert "sessions" in refused.get_json()["errors"]
    kept = filing.call("get", f"/plan-versions/{new['id']}", "base_a").get_json()
    assert [s["lineage_id"] for s in kept["sessions"]] == [s["lineage_id"] for s in sessions]
    rows[0]["lineage_id"] = sessions[0]["lineage_id"]
    assert filing.call("put", f"/plan-versions/{new['id']}/sessions", "base_a",
                       json={"sessions": rows}).status_code == 200


def test_a_draft_and_its_reason_stay_the_base_s_own_in_every_list(filing, world, client):
    # get_version answered 404 for a draft, but the class (API and pages) listed it with its
    # reason to inspectors and county reviewers: one rule (filing.may_see_status) for all.
    klass = world.classes["a"]
    created = filing.call("post", f"/classes/{klass.id}/plan-versions", "base_a",
                          json={"reason": "拟更换实操教师"})
    assert created.status_code == 201
    draft = created.get_json()["id"]

    def listed(user: str) -> set[str]:
        one = filing.call("get", f"/classes/{klass.id}", user).get_json()["versions"]
        every = filing.call("get", "/classes", user).get_json()["classes"]
        return {v["id"] for v in one} | {v["id"] for k in every for v in k["versions"]}

    assert draft in listed("base_a")
    for user in ("inspector_a", "county_a", "city"):
        assert filing.call("get", f"/plan-versions/{draft}", user).status_code == 404
        assert draft not in listed(user), user
        assert str(world.versions["a"].id) in listed(user)  # the filed one stays
    client.post("/login", data={"username": "county_a", "password": TEST_PASSWORD})
    page = client.get(f"/filing/classes/{klass.id}").get_data(as_text=True)
    assert "拟更换实操教师" not in page and world.versions["a"].status in ("approved", "recorded")
    base = client.application.test_client()
    base.post("/login", data={"username": "base_a", "password": TEST_PASSWORD})
    assert "拟更换实操教师" in base.get(f"/filing/classes/{klass.id}").get_data(as_text=True)
