"""R7: a trainee's details belong to the base that entered them. Another base naming the same
person on its own roster gets an entry of its own: it neither changes nor learns base a's."""

from __future__ import annotations

from server.extensions import db
from server.services.pii import decrypt_id_number
from tests.plans.filing_support import Filing


def _row(number: str, name: str, employer: str) -> dict:
    return {"name": name, "id_number": number, "education": "高中", "certificate_level": "高级工",
            "certificate_date": "2015-01-01", "employer": employer, "employer_kind": "企业",
            "phone": "13900000000"}


def test_another_base_cannot_rewrite_or_learn_a_trainee_of_a_filed_roster(client, api, world):
    filing = Filing(client, api, world)
    victim = world.trainees[0]
    before = (victim.name, victim.employer)
    number = decrypt_id_number(victim.id_number_enc)
    klass = filing.new_class("base_b")
    draft = klass["versions"][0]["id"]
    r = filing.call("put", f"/plan-versions/{draft}/roster", "base_b",
                    json={"trainees": [_row(number, "覆盖测试", "虚构测试公司")]})
    assert r.status_code == 200, r.get_json()
    row = r.get_json()["rows"][0]
    assert row["trainee_id"] != str(victim.id)
    assert not [v for v in row["violations"] if v["code"] == "R3.duplicate"]
    db.session.expire_all()
    assert (victim.name, victim.employer) == before
    roster = filing.call("get", f"/plan-versions/{world.versions['a'].id}/roster",
                         "base_a").get_json()["rows"]
    mine = next(r for r in roster if r["trainee_id"] == str(victim.id))
    assert (mine["name"], mine["employer"]) == before


def test_a_base_s_own_roster_reuses_its_own_entry(client, api, world):
    filing = Filing(client, api, world)
    victim = world.trainees[0]
    number = decrypt_id_number(victim.id_number_enc)
    klass = filing.new_class("base_a")
    draft = klass["versions"][0]["id"]
    r = filing.call("put", f"/plan-versions/{draft}/roster", "base_a",
                    json={"trainees": [_row(number, victim.name, victim.employer)]})
    assert r.get_json()["rows"][0]["trainee_id"] == str(victim.id)
