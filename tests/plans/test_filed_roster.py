"""Filed means frozen (R7): a submitted version keeps its roster as the base entered it.

A later edit of the base's own record for a person (a new roster naming them again, a correction
in a draft) changes drafts only; the filed version's pages, rules, the phones' pull, badges, self
sign-in, the attendance reconciliation and the documents keep showing what was filed.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Enrollment, PlanVersion, Trainee
from server.services import filing
from server.services.badges import class_roster
from server.services.documents.common import roster
from server.services.filed_roster import roster_of
from server.services.pii import decrypt_id_number
from server.services.retention import purge_expired_personal_data
from server.services.selfsignin import match_roster
from server.services.signin_flags import reconcile_attendance
from tests.plans.filing_support import Filing, trainee_row
from tests.plans.test_filing_web import login, page
from tests.sync.fixtures import phone, publish_world
from tests.visits.signin_helpers import last6, make_visit


@pytest.fixture
def flow(client, api, world):
    return Filing(client, api, world)


def _names(rows) -> set[str]:
    return {r["name"] if isinstance(r, dict) else r.name for r in rows}


def test_a_filed_version_keeps_its_roster_when_the_base_files_the_person_again(flow, client):
    _, vid = flow.filled_draft()
    assert flow.call("post", f"/plan-versions/{vid}/submit", "base_a").status_code == 200
    filed = {r["name"]: r for r in flow.call("get", f"/plan-versions/{vid}/roster",
                                              "base_a").get_json()["rows"]}
    assert filed["学员700"]["employer"] == "潍柴动力"

    # The base names the same person again on another class with new details: its own record
    # for the person is brought up to date (that is the draft's business) ...
    _, draft = flow.filled_draft()
    changed = trainee_row(700, name="改名学员", employer="另一家公司")
    r = flow.call("put", f"/plan-versions/{draft}/roster", "base_a", json={"trainees": [changed]})
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    trainee_id = filed["学员700"]["trainee_id"]
    live = db.session.get(Trainee, uuid.UUID(trainee_id))
    assert (live.name, live.employer) == ("改名学员", "另一家公司")
    assert r.get_json()["rows"][0]["trainee_id"] == trainee_id

    # ... and the filed version still says what was filed, to the base and to its county.
    for user in ("base_a", "county_a"):
        rows = flow.call("get", f"/plan-versions/{vid}/roster", user).get_json()["rows"]
        mine = next(row for row in rows if row["trainee_id"] == trainee_id)
        assert (mine["name"], mine["employer"]) == ("学员700", "潍柴动力")
        whole = flow.call("get", f"/plan-versions/{vid}", user).get_json()
        assert "改名学员" not in _names(whole["roster"])
    login(client, "county_a")
    html = page(client, f"/filing/versions/{vid}")
    assert "学员700" in html and "改名学员" not in html and "另一家公司" not in html
    # The draft shows the live record.
    rows = flow.call("get", f"/plan-versions/{draft}/roster", "base_a").get_json()["rows"]
    assert _names(rows) == {"改名学员"}


def test_every_reader_of_a_filed_version_reads_the_frozen_roster(client, world):
    version, klass = world.versions["a"], world.classes["a"]
    assert version.status == "recorded"
    assert all(e.frozen_at is not None for e in version.enrollments)
    person = world.trainees[0]
    filed_name, filed_employer = person.name, person.employer
    tail = last6(person)
    # An edit of the base's record after filing (here straight in the database).
    person.name, person.employer, person.education = "现改名", "改后单位", "初中"
    db.session.commit()
    db.session.expire_all()
    version = db.session.get(PlanVersion, version.id)

    entry = next(e for e in roster_of(version) if e.id == person.id)
    assert (entry.name, entry.employer, entry.frozen) == (filed_name, filed_employer, True)
    assert entry.education != "初中"
    # Pages and API: the roster rows and the rules (no R3.education from the later edit).
    assert filed_name in _names(filing.roster_rows(version))
    assert "现改名" not in _names(filing.roster_rows(version))
    assert not [v for v in filing.check_version(version) if v["code"] == "R3.education"]
    # Documents (archive roster, subsidy, attachment 2 all take this list).
    assert filed_name in {e.name for e in roster(version)}
    # Badges and self sign-in match the person as filed, not as edited.
    assert filed_name in {t.name for t in class_roster(klass.id)}
    assert match_roster(klass.id, filed_name, tail).id == person.id
    assert match_roster(klass.id, "现改名", tail) is None
    # The attendance reconciliation (the judge's roster) names the absent as filed.
    attendance = reconcile_attendance(make_visit(world, headcount=0))
    assert filed_name in {a["name"] for a in attendance.absent}
    assert "现改名" not in {a["name"] for a in attendance.absent}
    # The phones' pull.
    publish_world(world)
    changes, _ = phone(client).pull_all()
    pulled = next(c["data"] for c in changes
                  if c["type"] == "plan_version" and c["id"] == str(version.id))
    names = {row["name"] for row in pulled["roster"]}
    assert filed_name in names and "现改名" not in names


def test_a_new_draft_reads_the_live_records_and_freezes_them_when_submitted(flow):
    world = flow.world
    person = world.trainees[0]
    r = flow.call("post", f"/classes/{world.classes['a'].id}/plan-versions", "base_a",
                  json={"reason": "学员单位变更"})
    assert r.status_code == 201, r.get_json()
    draft = db.session.get(PlanVersion, uuid.UUID(r.get_json()["id"]))
    person.employer = "改后单位"
    db.session.commit()
    assert {e.employer for e in roster_of(draft) if e.id == person.id} == {"改后单位"}
    assert all(not e.frozen for e in roster_of(draft))
    frozen = db.session.scalars(select(Enrollment).where(
        Enrollment.plan_version_id == draft.id, Enrollment.frozen_at.is_not(None))).all()
    assert frozen == []
    submitted = flow.call("post", f"/plan-versions/{draft.id}/submit", "base_a")
    assert submitted.status_code == 200, submitted.get_json()
    person.employer = "再改单位"
    db.session.commit()
    db.session.expire_all()
    draft = db.session.get(PlanVersion, draft.id)
    assert {e.employer for e in roster_of(draft) if e.id == person.id} == {"改后单位"}


def test_the_retention_purge_erases_the_frozen_copies_too(world):
    klass, person = world.classes["a"], world.trainees[0]
    five_years_after = klass.end_date.replace(year=klass.end_date.year + 5)
    assert purge_expired_personal_data(date.fromordinal(five_years_after.toordinal() + 1), 5) > 0
    db.session.commit()
    copies = db.session.scalars(select(Enrollment).where(Enrollment.trainee_id == person.id)).all()
    assert copies and all(c.frozen_at is not None for c in copies)
    for copy in copies:
        assert (copy.name, copy.id_masked, copy.phone) == ("已清除", "*" * 18, "")
        assert decrypt_id_number(copy.id_number_enc) == ""
        assert copy.id_number_hash.startswith("purged-")
    entry = next(e for e in roster_of(world.versions["a"]) if e.id == person.id)
    assert entry.name == "已清除"


def test_a_correction_of_a_person_another_base_enrolled_too_changes_only_this_base_s_entry(world):
    # A legacy row (no owning base) on two bases' drafts: base a's correction must not rewrite
    # what base b's draft shows (R7); base a gets its own entry, as a roster import would give.
    from server.services.roster_import import correct_trainee

    person = world.trainees[0]
    assert person.base_id is None
    draft_a = filing.start_version(world.users["base_a"], world.classes["a"].id, "更正学员信息")
    draft_b = filing.start_version(world.users["base_b"], world.classes["b"].id, "调整名册")
    draft_b.enrollments.append(Enrollment(trainee_id=person.id))
    db.session.flush()
    corrected = correct_trainee(world.users["base_a"], draft_a.id, person.id,
                                {"name": "更正后姓名", "employer": "更正后单位"})
    db.session.commit()
    db.session.expire_all()
    assert corrected.id != person.id and corrected.base_id == world.bases["a"].id
    assert db.session.get(Trainee, person.id).name == "a学员0"
    draft_a = db.session.get(PlanVersion, draft_a.id)
    draft_b = db.session.get(PlanVersion, draft_b.id)
    assert "更正后姓名" in _names(roster_of(draft_a)) and "a学员0" not in _names(roster_of(draft_a))
    assert "a学员0" in _names(roster_of(draft_b)) and "更正后姓名" not in _names(roster_of(draft_b))
    # The same person, the same ID number: only the details are the base's own.
    assert decrypt_id_number(corrected.id_number_enc) == decrypt_id_number(person.id_number_enc)


def test_a_correction_of_a_person_only_this_base_enrolled_claims_the_row(world):
    from server.services.roster_import import correct_trainee

    person = world.trainees[1]
    draft_a = filing.start_version(world.users["base_a"], world.classes["a"].id, "更正学员信息")
    corrected = correct_trainee(world.users["base_a"], draft_a.id, person.id,
                                {"phone": "13800000000"})
    db.session.commit()
    assert corrected.id == person.id and corrected.base_id == world.bases["a"].id
