"""The demo load: idempotent, fast, and a world that meets the notice where it says it does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from server.demo import DEMO_LOGINS, DEMO_PASSWORD
from server.extensions import db
from server.models import (
    Assignment,
    AuditEvent,
    ChangeLog,
    County,
    PlanVersion,
    Trainee,
    TrainingBase,
    TrainingClass,
    User,
)
from server.services import filing, rules
from server.services.auth import authenticate
from server.services.idcard import is_valid_id_number
from server.services.pii import decrypt_id_number
from server.services.plan_versions import version_in_force

TODAY = date(2026, 3, 2)  # a fixed day keeps the test deterministic; the loader takes any day


@pytest.fixture
def app_config():
    return {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"}


@pytest.fixture
def loaded(app):
    from server.demo import load_demo_data

    assert load_demo_data(TODAY) is True


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (County, TrainingBase, TrainingClass, PlanVersion, Trainee, User,
                          Assignment, AuditEvent, ChangeLog)}


def test_second_load_changes_nothing(loaded):
    from server.demo import load_demo_data

    before = counts()
    assert load_demo_data(TODAY) is False
    assert counts() == before


def test_counties_bases_and_quotas_of_attachment_1(loaded):
    names = set(db.session.scalars(select(County.name)))
    assert len(names) == 16 and {"奎文区", "青州市", "高新区", "综合保税区"} <= names
    quotas = dict(db.session.execute(select(TrainingBase.name, TrainingBase.quota)).all())
    assert quotas == {"山东工业技师学院": 100, "潍坊市技师学院": 200, "潍坊市工程技师学院": 140,
                      "山东科技职业学院": 130, "潍柴高级技工学校": 120, "高密市高级技工学校": 70,
                      "青州市高级技工学校": 40}
    assert sum(quotas.values()) == 800


def test_every_filed_plan_passes_the_rules(loaded):
    minutes = current_app.config["CLASS_HOUR_MINUTES"]
    classes = db.session.scalars(select(TrainingClass)).all()
    filed = [(k, version_in_force(k.plan)) for k in classes if version_in_force(k.plan)]
    assert len(filed) >= 10
    assert len({k.base_id for k, _ in filed}) == 7
    for klass, version in filed:
        assert rules.check_plan_version(version, minutes) == [], klass.name
        hours = filing.hours_of(version)
        assert hours["total"] >= 210 and hours["politics"] >= 10, klass.name
    assert any(k.start_date <= TODAY <= k.end_date for k, _ in filed)
    assert any(k.start_date > TODAY for k, _ in filed)
    published = {c.entity_id for c in db.session.scalars(
        select(ChangeLog).where(ChangeLog.entity_type == "plan_version"))}
    # Every version in force is on the phones; the only others published are versions that a
    # later filed change superseded (the live demo files one for the session in progress now).
    assert {v.id for _, v in filed} <= published
    for version_id in published - {v.id for _, v in filed}:
        superseded = db.session.get(PlanVersion, version_id)
        assert superseded.status in ("approved", "recorded")
        assert version_in_force(superseded.plan).number > superseded.number


def test_trainees_are_synthetic_valid_and_a_few_ineligible_are_shown(loaded):
    trainees = db.session.scalars(select(Trainee)).all()
    assert len(trainees) >= 300
    assert all(is_valid_id_number(decrypt_id_number(t.id_number_enc), TODAY) for t in trainees)
    draft = db.session.scalar(select(PlanVersion).where(PlanVersion.status == "draft"))
    returned = db.session.scalar(select(PlanVersion).where(PlanVersion.status == "returned"))
    assert draft.plan_id == returned.plan_id and returned.review_comment
    codes = {v["code"] for row in filing.roster_rows(draft) for v in row["violations"]}
    assert codes == {"R3.age", "R3.education", "R3.public_institution", "R3.certificate_years"}
    submitted = db.session.scalar(select(PlanVersion).where(PlanVersion.status == "submitted"))
    assert submitted.reason and submitted.diff["teachers"]["replaced"]


def test_demo_users_log_in_and_the_inspector_team_has_work(loaded):
    for username, role, _ in DEMO_LOGINS:
        assert authenticate(username, DEMO_PASSWORD).role == role
    usernames = {u for u, _, _ in DEMO_LOGINS}
    assert {"city", "county", "inspector", "inspector2", "base", "covert"} <= usernames
    covert = db.session.scalar(select(User).where(User.username == "covert"))
    assert covert.is_city
    assert db.session.scalar(
        select(User).where(User.username == "base")).base.name == "潍坊市技师学院"
    # The team has work today and the next two days (its own or drawn), never the same session
    # twice; the city's covert inspector gets the live ones only (now and tomorrow).
    assignments = db.session.scalars(select(Assignment)).all()
    inspector = db.session.scalar(select(User).where(User.username == "inspector"))
    team = [a for a in assignments if inspector in a.inspectors]
    assert {TODAY + timedelta(days=d) for d in range(3)} <= {a.date for a in team}
    lineages = [a.session.lineage_id for a in team]
    assert len(lineages) == len(set(lineages))
    own = [a for a in assignments if a.draw_id is None and covert not in a.inspectors]
    assert all({u.username for u in a.inspectors} == {"inspector", "inspector2"} for a in own)
    assert all(a.training_class.base.county.name == "奎文区" for a in own)
    covert_days = {a.date for a in assignments if covert in a.inspectors}
    assert covert_days == {TODAY, TODAY + timedelta(days=1)}


def test_finished_demo_classes_are_assessed_and_counted_in_attachment_2(loaded):
    from server.models import AssessmentResult
    from server.services.documents.attachment2 import attachment2_rows

    finished = db.session.scalars(select(TrainingClass).where(TrainingClass.end_date < TODAY)).all()
    assert finished, "the demo has a class that ended and was assessed"
    results = db.session.scalars(select(AssessmentResult)).all()
    assert results and {r.class_id for r in results} == {c.id for c in finished}
    assert 0 < sum(r.passed for r in results) < len(results)
    klass = finished[0]
    rows = attachment2_rows(klass.base, klass.start_date.year)
    assert sum(sum(row.numbers()[1::2]) for row in rows) == sum(r.passed for r in results)
