"""A whole plan version against R1, R3 (roster and duplicates), R4 and R6, on the test world."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from server.extensions import db
from server.models import Enrollment, PlanSession, PlanVersion
from server.services.rules import (
    check_hours,
    check_plan_version,
    check_session_dates,
    check_teachers,
    session_class_hours,
    shown_hours,
)
from tests.factories import make_class, make_trainee


def codes(found) -> list[str]:
    return sorted(v.code for v in found)


def check(world, key: str = "a", minutes: int = 45):
    db.session.expire_all()
    return check_plan_version(db.session.get(PlanVersion, world.versions[key].id), minutes)


def sessions_of(world, key: str, category: str) -> list[PlanSession]:
    return [s for s in world.versions[key].sessions if s.category == category]


def test_the_world_plans_meet_every_rule(world):
    assert check(world, "a") == []
    assert check(world, "b") == []


# ---------------------------------------------------------------- R6 hours


def test_class_hours_come_from_the_times():
    assert session_class_hours((time(8, 30), time(12, 15)), 45) == 5.0
    assert session_class_hours({"start_time": "14:00", "end_time": "15:30"}, 45) == 2.0
    assert session_class_hours((time(8, 0), time(8, 50)), 50) == 1.0
    # Rounded down as the totals are (shown_hours): 44 minutes of 45 is 0.97, never 0.98 beside
    # a total that says 0.97.
    assert session_class_hours((time(8, 0), time(8, 44)), 45) == 0.97 == shown_hours(44, 45)


def test_session_objects_give_their_hours(world):
    session = world.versions["a"].sessions[0]
    assert session_class_hours(session, 45) == 5.0


def test_practical_hours_short_of_90_fail_and_say_the_numbers(world):
    # One practical session becomes theory: 实操 85, 理论 115, total still 210.
    moved = sessions_of(world, "a", "practical")[0]
    moved.category, moved.teacher = "theory", world.teachers["a_theory"]
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R6.practical_hours"]
    assert found[0].message_zh == "实操 85 学时，少于 90 学时"
    assert found[0].message_en == "Practical 85 class hours, fewer than 90"


def test_politics_hours_short_of_10_fail(world):
    sessions_of(world, "a", "politics")[0].category = "theory"
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R6.politics_hours"]
    assert found[0].message_zh == "思政 5 学时，少于 10 学时"


def test_theory_hours_short_of_110_fail(world):
    moved = sessions_of(world, "a", "theory")[0]
    moved.category, moved.teacher = "practical", world.teachers["a_practical"]
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R6.theory_hours"]
    assert "理论 105 学时" in found[0].message_zh


def test_one_minute_short_fails_theory_and_total(world):
    sessions_of(world, "a", "theory")[0].end_time = time(12, 14)
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R6.theory_hours", "R6.total_hours"]
    total = next(v for v in found if v.code == "R6.total_hours")
    # 209.98 is rounded down, never shown as "210 学时，少于 210 学时".
    assert total.message_zh == "总计 209.97 学时，少于 210 学时"


def test_the_version_page_shows_the_hours_the_message_names(app, world):
    # One rounding (rules.shown_hours): the page's total never says 209.98 beside a message
    # that says 209.97.
    from server.services.filing import hours_of

    sessions_of(world, "a", "theory")[0].end_time = time(12, 14)
    db.session.commit()
    total = next(v for v in check(world) if v.code == "R6.total_hours")
    shown = hours_of(world.versions["a"])["total"]
    assert shown == 209.97
    assert f"总计 {shown:g} 学时" in total.message_zh


def test_a_dropped_session_fails_the_total(world):
    version = world.versions["a"]
    db.session.delete(sessions_of(world, "a", "practical")[-1])
    db.session.commit()
    db.session.refresh(version)
    assert codes(check(world)) == ["R6.practical_hours", "R6.total_hours"]


@pytest.mark.parametrize(("minutes", "expected"), [
    (45, []), (40, []),
    (50, ["R6.politics_hours", "R6.practical_hours", "R6.theory_hours", "R6.total_hours"]),
])
def test_the_length_of_a_class_hour_is_configuration(world, minutes, expected):
    assert codes(check_hours(world.versions["a"].sessions, minutes)) == expected


def test_chinese_category_names_count_too():
    sessions = [{"category": "思政", "start_time": "08:00", "end_time": "15:30"},
                {"category": "理论", "start_time": "00:00", "end_time": "23:59"}]
    assert codes(check_hours(sessions, 45)) == ["R6.practical_hours", "R6.theory_hours",
                                               "R6.total_hours"]


# ---------------------------------------------------------------- R4 teachers


def test_a_theory_teacher_without_a_senior_title_fails(world):
    world.teachers["a_theory"].professional_title = "中级"
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R4.theory_teacher_unqualified"] * 2  # 思政 and 理论 sessions
    theory = next(v for v in found if "22 次课" in v.message_zh)
    assert theory.entity_id == str(world.teachers["a_theory"].id)
    assert theory.field == "teacher_id"
    assert "“中级”" in theory.message_zh and "理论课教师" in theory.message_zh


@pytest.mark.parametrize("title", ["正高级", "副高级"])
def test_senior_titles_pass(world, title):
    world.teachers["a_theory"].professional_title = title
    db.session.commit()
    assert check(world) == []


def test_a_practical_teacher_who_is_only_a_technician_fails(world):
    world.teachers["a_practical"].skill_qualification = "技师"
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R4.practical_teacher_unqualified"]
    assert "18 次课" in found[0].message_zh and "“技师”" in found[0].message_zh


@pytest.mark.parametrize("qualification", ["高级实习指导教师", "高级技师"])
def test_practical_qualifications_pass(world, qualification):
    world.teachers["a_practical"].skill_qualification = qualification
    db.session.commit()
    assert check(world) == []


def test_a_senior_title_does_not_qualify_a_practical_teacher(world):
    # 实操 asks for 高级实习指导教师 or 高级技师, whatever the professional title.
    practical = sessions_of(world, "a", "practical")[0]
    practical.teacher = world.teachers["a_theory"]
    db.session.commit()
    found = check_teachers(world.versions["a"].sessions)
    assert codes(found) == ["R4.practical_teacher_unqualified"]
    assert "1 次课" in found[0].message_zh


# ---------------------------------------------------------------- R3 on the roster


def test_roster_trainees_are_checked_on_the_class_start_date(world):
    klass = world.classes["a"]
    # The rules judge a draft's live roster (a filed one is frozen: test_filed_roster.py).
    world.versions["a"].status = "draft"
    trainee = world.trainees[2]
    trainee.education = "初中"
    # Turned 51 on or before the start date: fails; the row is the roster position.
    start = klass.start_date
    old = make_trainee("老学员", date(start.year - 51, start.month, min(start.day, 28)), 901)
    world.versions["a"].enrollments.append(Enrollment(trainee=old))
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R3.age", "R3.education"]
    by_code = {v.code: v for v in found}
    assert by_code["R3.education"].entity_id == str(trainee.id)
    assert by_code["R3.age"].entity_id == str(old.id)
    roster = [e.trainee_id for e in db.session.get(PlanVersion, world.versions["a"].id).enrollments]
    assert by_code["R3.age"].row == roster.index(old.id) + 1
    assert by_code["R3.education"].row == roster.index(trainee.id) + 1


# ---------------------------------------------------------------- R3.duplicate


def _other_class(world, start: date, trainees, status: str = "submitted", key: str = "a"):
    klass, version = make_class("other", world.bases[key], world.occupation, world.sites[key],
                                world.teachers[f"{key}_theory"], world.teachers[f"{key}_practical"],
                                start, trainees, status=status)
    db.session.commit()
    return klass, version


@pytest.mark.parametrize("status", ["submitted", "approved", "recorded"])
def test_a_trainee_in_an_overlapping_filed_class_of_the_same_base_is_a_duplicate(world, status):
    shared = world.trainees[0]
    start = world.classes["a"].end_date  # overlaps by one day
    klass, _ = _other_class(world, start, [shared], status=status)
    found = check(world)
    assert codes(found) == ["R3.duplicate"]
    assert found[0].entity_id == str(shared.id)
    assert klass.name in found[0].message_zh and world.bases["a"].name in found[0].message_zh


def test_another_base_s_roster_is_not_revealed_to_this_base(world):
    """R7: a person on two bases' rosters is the city's business; base a learns nothing of b's
    class.
    """
    _other_class(world, world.classes["a"].end_date, [world.trainees[0]], status="recorded",
                 key="b")
    assert check(world) == []


@pytest.mark.parametrize("status", ["draft", "returned"])
def test_unfiled_classes_do_not_make_duplicates(world, status):
    _other_class(world, world.classes["a"].start_date, [world.trainees[0]], status=status)
    assert check(world) == []


def test_classes_that_do_not_overlap_do_not_make_duplicates(world):
    _other_class(world, world.classes["a"].end_date + timedelta(days=1), [world.trainees[0]])
    assert check(world) == []


def test_only_the_current_filed_version_of_the_other_class_counts(world):
    shared = world.trainees[0]
    klass, first = _other_class(world, world.classes["a"].start_date, [shared], status="recorded")
    second = PlanVersion(plan=klass.plan, number=2, status="submitted", reason="换人")
    db.session.add(second)
    db.session.commit()
    assert check(world) == []  # version 2 has no roster: the trainee left that class
    second.enrollments.append(Enrollment(trainee=shared))
    db.session.commit()
    assert codes(check(world)) == ["R3.duplicate"]
    assert first.id != second.id


def test_the_same_trainee_twice_on_one_roster_is_a_duplicate(world):
    version = world.versions["a"]
    again = world.trainees[1]
    with db.session.no_autoflush:
        version.enrollments.append(Enrollment(trainee=again))
        found = [v for v in check_plan_version(version, 45) if v.code == "R3.duplicate"]
    db.session.rollback()
    assert len(found) == 2 and {v.entity_id for v in found} == {str(again.id)}
    assert len({v.row for v in found}) == 2


# ---------------------------------------------------------------- R1 quota


def _set_quota(world, quota: int) -> None:
    world.bases["a"].quota = quota
    db.session.commit()


def test_five_trainees_fit_a_quota_of_five(world):
    _set_quota(world, 5)
    assert check(world) == []


def test_120_percent_of_the_quota_is_allowed_and_one_more_is_not(world):
    _set_quota(world, 5)  # 120 % of 5 = 6
    version = world.versions["a"]
    extra = [make_trainee(f"新学员{i}", date(1988, 1, 1), 700 + i) for i in range(2)]
    version.enrollments.append(Enrollment(trainee=extra[0]))
    db.session.commit()
    assert check(world) == []
    version.enrollments.append(Enrollment(trainee=extra[1]))
    db.session.commit()
    found = check(world)
    assert codes(found) == ["R1.quota_exceeded"]
    assert found[0].entity_id == str(world.bases["a"].id)
    assert "7 人" in found[0].message_zh and "6 人" in found[0].message_zh


def test_a_quota_of_four_is_exceeded_by_five(world):
    _set_quota(world, 4)
    assert codes(check(world)) == ["R1.quota_exceeded"]


def test_the_base_s_other_filed_classes_that_year_count(world):
    _set_quota(world, 5)
    klass = world.classes["a"]
    newcomers = [make_trainee(f"另班学员{i}", date(1987, 1, 1), 800 + i) for i in range(2)]
    # Another class of the same base that year: one trainee of class a again (counted once, and
    # a duplicate since the classes overlap) and two new ones: 7 people for a quota of 5.
    _other_class(world, klass.start_date, [world.trainees[0], *newcomers], status="approved",
                 key="a")
    found = [v for v in check(world) if v.code.startswith("R1")]
    assert codes(found) == ["R1.quota_exceeded"]
    assert "7 人" in found[0].message_zh


def test_draft_classes_and_other_years_do_not_count_for_the_quota(world):
    _set_quota(world, 5)
    klass = world.classes["a"]
    newcomers = [make_trainee(f"另班学员{i}", date(1987, 1, 1), 800 + i) for i in range(4)]
    _other_class(world, klass.start_date, newcomers[:2], status="draft", key="a")
    next_year = date(klass.start_date.year + 1, 3, 1)
    _other_class(world, next_year, newcomers[2:], status="recorded", key="a")
    assert check(world) == []


def test_a_session_outside_its_class_dates_is_a_violation(world):
    # A session filed outside the class's dates was accepted; a visit to it was then judged
    # time.outside_class by the server and on time by the phone.
    version = world.versions["a"]
    klass = version.plan.training_class
    sessions = version.sessions
    assert check_session_dates(sessions, klass.start_date, klass.end_date) == []
    first, last = sessions[0].date, sessions[-1].date
    found = check_session_dates(sessions, first + timedelta(days=1), last)
    assert [(v.code, v.row, v.field) for v in found] == [("R5.session_outside_class", 1, "date")]
    assert f"{first.isoformat()} 的课次不在班次起止日期" in found[0].message_zh
    assert check_session_dates(sessions, first, last - timedelta(days=1))[-1].row == len(sessions)
    klass.end_date = last - timedelta(days=1)
    assert "R5.session_outside_class" in codes(check_plan_version(version, 45))
