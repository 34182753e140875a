"""R3 for one trainee: every code passes and fails, with the date boundaries of the notice."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.services.idcard import check_character, synthetic_id_number
from server.services.rules import (
    RULE_CODES,
    TraineeFacts,
    Violation,
    age_in_full_years,
    check_trainee,
    full_years_between,
)

START = date(2026, 3, 1)


def facts(born: date = date(1985, 7, 15), **overrides) -> TraineeFacts:
    """An eligible trainee; override one thing to break one rule."""
    base = TraineeFacts(
        name="张三", id_number=synthetic_id_number("370702", born, 123), education="高中",
        certificate_level="高级工", certificate_date=date(2015, 6, 1), employer_kind="企业",
        gender="男", occupation="车工", employer="潍柴动力股份有限公司", phone="13800000000",
    )
    return replace(base, **overrides)


def codes(found: list[Violation]) -> list[str]:
    return [v.code for v in found]


def test_an_eligible_trainee_has_no_violation():
    assert check_trainee(facts(), START) == []


# ---------------------------------------------------------------- R3.age and full years


def test_aged_exactly_50_on_the_start_date_passes():
    # The 50th birthday is the start date itself: 50 full years, "50 周岁以下" includes 50.
    assert check_trainee(facts(born=date(1976, 3, 1)), START) == []


def test_turning_51_on_the_start_date_fails():
    found = check_trainee(facts(born=date(1975, 3, 1)), START, row=7)
    assert codes(found) == ["R3.age"]
    assert found[0].row == 7 and found[0].field == "id_number"
    # The age, never the birth date: beside the masked ID number it would give the number away.
    assert "51 周岁" in found[0].message_zh and "1975" not in found[0].message_zh
    assert "aged 51 full years" in found[0].message_en.lower() and "1975" not in found[0].message_en


def test_turning_51_the_day_after_the_start_date_passes():
    assert check_trainee(facts(born=date(1975, 3, 2)), START) == []


def test_having_turned_51_before_the_start_date_fails():
    assert codes(check_trainee(facts(born=date(1975, 2, 28)), START)) == ["R3.age"]


@pytest.mark.parametrize(("born", "on", "age"), [
    (date(2000, 2, 29), date(2001, 2, 28), 0),   # common year: the birthday is 1 March
    (date(2000, 2, 29), date(2001, 3, 1), 1),
    (date(2000, 2, 29), date(2004, 2, 28), 3),
    (date(2000, 2, 29), date(2004, 2, 29), 4),   # leap year: the real birthday
    (date(1990, 6, 15), date(2026, 6, 14), 35),
    (date(1990, 6, 15), date(2026, 6, 15), 36),
    (date(1990, 12, 31), date(1991, 1, 1), 0),
])
def test_age_in_full_years(born, on, age):
    assert age_in_full_years(born, on) == age


def test_a_29_february_birth_turns_51_on_1_march_of_a_common_year():
    born = date(1976, 2, 29)
    assert check_trainee(facts(born=born), date(2027, 2, 28)) == []
    assert codes(check_trainee(facts(born=born), date(2027, 3, 1))) == ["R3.age"]
    # In a leap year the 51st birthday is 29 February itself.
    leap_born = date(1972, 2, 29)
    assert check_trainee(facts(born=leap_born), date(2023, 2, 28)) == []
    assert codes(check_trainee(facts(born=leap_born), date(2024, 2, 28))) == ["R3.age"]


def _reference_age(born: date, on: date) -> int:
    """Age by month/day comparison; a 29 February birthday is 1 March in a common year."""
    birthday = (born.month, born.day)
    if birthday == (2, 29) and not calendar.isleap(on.year):
        birthday = (3, 1)
    return on.year - born.year - ((on.month, on.day) < birthday)


@given(born=st.dates(date(1900, 1, 1), date(2030, 12, 31)),
       on=st.dates(date(1900, 1, 1), date(2060, 12, 31)))
def test_age_agrees_with_the_month_day_reference(born, on):
    if on >= born:
        assert age_in_full_years(born, on) == _reference_age(born, on)


@given(born=st.sampled_from([date(1976, 2, 29), date(2000, 2, 29), date(1985, 7, 15)]),
       years=st.integers(0, 80))
def test_age_rises_by_one_exactly_on_the_anniversary(born, years):
    year = born.year + years
    anniversary = date(year, 3, 1) if (born.month, born.day) == (2, 29) and not calendar.isleap(
        year) else born.replace(year=year)
    day_before = date.fromordinal(anniversary.toordinal() - 1)
    assert age_in_full_years(born, anniversary) == years
    if years:
        assert age_in_full_years(born, day_before) == years - 1


def test_full_years_between_is_negative_when_the_end_comes_first():
    assert full_years_between(date(2026, 3, 2), date(2023, 3, 1)) == -3


# ---------------------------------------------------------------- R3.id_invalid


def _id_with_check_x() -> str:
    for serial in range(1000):
        number = synthetic_id_number("370702", date(1985, 7, 15), serial)
        if number.endswith("X"):
            return number
    raise AssertionError("no serial gives X")


def test_check_character_x_passes_in_upper_and_lower_case():
    number = _id_with_check_x()
    assert check_trainee(facts(id_number=number), START) == []
    assert check_trainee(facts(id_number=number.lower()), START) == []


def test_a_wrong_check_character_fails_and_says_the_right_one():
    number = synthetic_id_number("370702", date(1985, 7, 15), 123)
    wrong = "0" if number[-1] != "0" else "1"
    found = check_trainee(facts(id_number=number[:17] + wrong), START)
    assert codes(found) == ["R3.id_invalid"]
    assert f"应为 {number[-1]}" in found[0].message_zh
    assert found[0].field == "id_number"


def test_x_where_a_digit_belongs_fails():
    number = synthetic_id_number("370702", date(1985, 7, 15), 124)
    assert number[-1].isdigit()
    assert codes(check_trainee(facts(id_number=number[:17] + "X"), START)) == ["R3.id_invalid"]


def test_a_15_digit_number_is_refused():
    found = check_trainee(facts(id_number="370702850715123"), START)
    assert codes(found) == ["R3.id_invalid"]
    assert "15 位" in found[0].message_zh and "15-digit" in found[0].message_en


def test_an_impossible_birth_date_fails_even_with_the_right_check_character():
    first17 = "37070219900230123"  # 30 February 1990
    found = check_trainee(facts(id_number=first17 + check_character(first17)), START)
    assert codes(found) == ["R3.id_invalid"]
    assert "19900230" in found[0].message_zh


@pytest.mark.parametrize("number",
                         ["37070219850715123", "3707021985071512345", "37070219850715A23X",
                                    "abc"])
def test_malformed_numbers_fail(number):
    assert codes(check_trainee(facts(id_number=number), START)) == ["R3.id_invalid"]


def test_an_invalid_id_is_not_also_judged_for_age():
    first17 = "37070219000230123"
    assert codes(check_trainee(facts(id_number=first17 + check_character(first17)), START)) == [
        "R3.id_invalid"]


# ---------------------------------------------------------------- R3.education


@pytest.mark.parametrize("value", ["高中", "中专", "技校", "职高", "大专", "本科", "硕士", "博士",
                                   "技工学校", "中等职业学校", "高职", "本科学历", "高中毕业",
                                   " 大专 "])
def test_high_school_or_higher_passes(value):
    assert check_trainee(facts(education=value), START) == []


@pytest.mark.parametrize("value", ["初中", "小学", "初中及以下", "高中肄业"])
def test_below_high_school_fails(value):
    found = check_trainee(facts(education=value), START)
    assert codes(found) == ["R3.education"]
    assert found[0].field == "education" and value in found[0].message_zh


def test_unrecognised_education_fails_and_says_so():
    found = check_trainee(facts(education="幼儿园大班"), START)
    assert codes(found) == ["R3.education"]
    assert "无法识别" in found[0].message_zh and "Unknown" in found[0].message_en


# ---------------------------------------------------------------- R3.certificate_level


@pytest.mark.parametrize("value", ["高级工", "技师", "高级技师", "三级/高级工", "高级工（三级）"])
def test_senior_worker_or_higher_passes(value):
    assert check_trainee(facts(certificate_level=value), START) == []


@pytest.mark.parametrize("value", ["初级工", "中级工", "四级"])
def test_below_senior_worker_fails(value):
    found = check_trainee(facts(certificate_level=value), START)
    assert codes(found) == ["R3.certificate_level"]
    assert found[0].field == "certificate_level"


def test_unrecognised_certificate_level_fails():
    assert codes(check_trainee(facts(certificate_level="高级"), START)) == ["R3.certificate_level"]


# ---------------------------------------------------------------- R3.certificate_years


def test_certificate_exactly_3_years_old_passes():
    assert check_trainee(facts(certificate_date=date(2023, 3, 1)), START) == []


def test_certificate_one_day_short_of_3_years_fails():
    found = check_trainee(facts(certificate_date=date(2023, 3, 2)), START)
    assert codes(found) == ["R3.certificate_years"]
    assert "满 2 年" in found[0].message_zh and "2023-03-02" in found[0].message_zh
    assert found[0].field == "certificate_date"


def test_certificate_issued_on_29_february_completes_its_years_on_1_march():
    issued = date(2020, 2, 29)
    assert codes(check_trainee(facts(certificate_date=issued), date(2023, 2, 28))) == [
        "R3.certificate_years"]
    assert check_trainee(facts(certificate_date=issued), date(2023, 3, 1)) == []


def test_certificate_dated_after_the_start_fails():
    found = check_trainee(facts(certificate_date=date(2026, 4, 1)), START)
    assert codes(found) == ["R3.certificate_years"]
    assert "晚于" in found[0].message_zh


# ---------------------------------------------------------------- R3.public_institution


@pytest.mark.parametrize("value", ["企业", "技工院校", "职业院校", "其他"])
def test_enterprises_and_vocational_schools_pass(value):
    assert check_trainee(facts(employer_kind=value), START) == []


@pytest.mark.parametrize("value", ["机关", "事业单位"])
def test_staff_of_government_organs_and_public_institutions_fail(value):
    found = check_trainee(facts(employer_kind=value), START)
    assert codes(found) == ["R3.public_institution"]
    assert found[0].field == "employer_kind"


def test_unrecognised_employer_kind_fails():
    found = check_trainee(facts(employer_kind="部队"), START)
    assert codes(found) == ["R3.public_institution"]
    assert "无法识别" in found[0].message_zh


# ---------------------------------------------------------------- R3.missing_field


@pytest.mark.parametrize(("field", "label"), [
    ("name", "姓名"), ("id_number", "身份证号"), ("education", "文化程度"),
    ("certificate_level", "证书等级"), ("certificate_date", "发证日期"),
    ("employer_kind", "单位性质"),
])
def test_a_missing_required_field_fails(field, label):
    found = check_trainee(facts(**{field: None}), START, row=3)
    assert codes(found) == ["R3.missing_field"]
    assert found[0].field == field and found[0].row == 3
    assert found[0].message_zh == f"缺少{label}"


def test_blank_text_counts_as_missing():
    assert codes(check_trainee(facts(education=" \u3000"), START)) == ["R3.missing_field"]


def test_optional_fields_may_be_empty():
    assert check_trainee(facts(phone=None, employer=None, gender=None, occupation=None),
                         START) == []


# ---------------------------------------------------------------- the violation itself


def test_violation_to_dict_has_the_wire_shape():
    found = check_trainee(facts(employer_kind="机关", entity_id="abc"), START, row=4)
    assert found[0].to_dict() == {
        "code": "R3.public_institution", "message": found[0].message_zh,
        "message_en": found[0].message_en, "row": 4, "field": "employer_kind", "entity_id": "abc",
    }


def test_several_breaches_are_all_reported():
    found = check_trainee(facts(born=date(1960, 1, 1), education="初中", certificate_level="中级工",
                                certificate_date=date(2025, 1, 1), employer_kind="机关"), START)
    assert sorted(codes(found)) == sorted(["R3.age", "R3.education", "R3.certificate_level",
                                           "R3.certificate_years", "R3.public_institution"])
    assert set(codes(found)) <= set(RULE_CODES)
