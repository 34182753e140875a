"""The notice's rules (R1, R3, R4, R6) as a service: each breach is a Violation with a stable code.

Conventions, decided once and used everywhere:
- Ages and years held are counted in full years on the class start date. "50 周岁以下" includes
  50 (Civil Code art. 1259: 以上/以下 include the number): aged exactly 50 passes, turned 51 fails.
  A certificate held exactly 3 full years passes.
- Someone born (or certified) on 29 February reaches each anniversary in a common year on
  1 March, never on 28 February: the full year is only complete once 28 February has passed.
- Class hours (学时) come from the session start and end times, never from a typed number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from server.extensions import db
from server.i18n import catalogue, current_language
from server.models.people import Trainee
from server.models.plans import Enrollment, Plan, PlanVersion, TrainingClass
from server.services.filed_roster import RosterEntry, roster_of
from server.services.idcard import (
    birth_date_of,
    check_character,
    is_valid_id_number,
    normalise_id_number,
    plausible_birth_date,
)
from server.services.pii import decrypt_id_number
from server.services.plan_versions import current_filed_version_ids

RULE_CODES = (
    "R1.quota_exceeded",
    "R3.id_invalid", "R3.age", "R3.education", "R3.certificate_level", "R3.certificate_years",
    "R3.public_institution", "R3.duplicate", "R3.missing_field",
    "R4.theory_teacher_unqualified", "R4.practical_teacher_unqualified",
    "R6.total_hours", "R6.politics_hours", "R6.theory_hours", "R6.practical_hours",
)

MAX_AGE = 50
MIN_CERTIFICATE_YEARS = 3
QUOTA_FACTOR_PERCENT = 120
# R6 minimum class hours per category, and in total.
MIN_HOURS = {"politics": 10, "theory": 110, "practical": 90}
MIN_TOTAL_HOURS = 210

# 高中, 中专, 技校, 职高 or higher pass; the sets hold the usual ways clerks write them.
EDUCATION_PASS = frozenset({
    "高中", "普高", "普通高中", "中专", "中等专业学校", "技校", "技工学校", "技工院校", "中技",
    "职高", "职业高中", "中职", "中等职业学校", "中等职业教育", "高级技工学校", "技师学院",
    "大专", "专科", "大学专科", "高职", "高等职业学校", "高职高专", "高专", "本科", "大学本科",
    "大学", "学士", "研究生", "硕士", "硕士研究生", "博士", "博士研究生", "博士后",
})
EDUCATION_FAIL = frozenset({
    "初中", "小学", "初中以下", "初中及以下", "小学及以下", "小学以下", "文盲", "半文盲", "无",
    "未上学", "初级中学",
})
_EDUCATION_SUFFIXES = ("文化程度", "学历", "文化", "毕业", "及以上", "以上")

# Certificate levels: 5 = 初级工 … 1 = 高级技师; 高级工 (level 3) or better is required.
CERTIFICATE_LEVELS = {
    "初级工": 5, "五级": 5, "中级工": 4, "四级": 4, "高级工": 3, "三级": 3,
    "技师": 2, "二级": 2, "高级技师": 1, "一级": 1,
}
_CERT_NOISE = ("国家职业资格", "职业技能等级", "职业资格", "证书")

EMPLOYER_PUBLIC = frozenset({
    "机关", "事业单位", "机关单位", "行政机关", "党政机关", "事业", "机关事业单位",
    "参公事业单位", "参照公务员法管理事业单位",
})
# Teachers of 技工院校 and 职业院校 are a target group the notice names, so they pass.
EMPLOYER_OTHER = frozenset({
    "企业", "国有企业", "国企", "民营企业", "私营企业", "民企", "外资企业", "合资企业",
    "集体企业", "技工院校", "技工学校", "技师学院", "职业院校", "职业学校", "其他", "个体",
    "个体工商户",
})

SENIOR_TITLES = frozenset({
    "正高级", "副高级", "正高", "副高", "教授", "副教授", "高级讲师", "正高级讲师", "高级教师",
    "正高级教师", "高级工程师", "正高级工程师",
})
PRACTICAL_QUALIFICATIONS = frozenset({"高级实习指导教师", "正高级实习指导教师", "高级技师"})

CATEGORY_KEYS = {
    "politics": "politics", "思政": "politics",
    "theory": "theory", "理论": "theory",
    "practical": "practical", "实操": "practical",
}

# Fields R3 needs to judge a trainee; anything else on the roster is informative.
REQUIRED_FIELDS = ("name", "id_number", "education", "certificate_level", "certificate_date",
                   "employer_kind")


@dataclass(frozen=True)
class Violation:
    """One breach of one rule, with messages in both languages and where it was found."""

    code: str
    message_zh: str
    message_en: str
    row: int | None = None
    field: str | None = None
    entity_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form: `message` in the current language (Chinese first), English beside.
        """
        message = self.message_en if current_language() == "en" else self.message_zh
        return {"code": self.code, "message": message, "message_en": self.message_en,
                "row": self.row, "field": self.field, "entity_id": self.entity_id}


@dataclass
class TraineeFacts:
    """What R3 needs to know about a trainee, from a roster row or a stored Trainee."""

    name: str
    id_number: str | None
    education: str | None
    certificate_level: str | None
    certificate_date: date | None
    employer_kind: str | None
    gender: str | None = None
    occupation: str | None = None
    employer: str | None = None
    phone: str | None = None
    entity_id: str | None = None


@dataclass(frozen=True)
class Bilingual:
    """A value that reads differently in the Chinese and the English message."""

    zh: str
    en: str


def label(key: str) -> Bilingual:
    """Return a catalogue label (under rule.) in both languages."""
    return Bilingual(catalogue("zh")[f"rule.{key}"], catalogue("en")[f"rule.{key}"])


def violation(code: str, key: str | None = None, *, row: int | None = None,
              field: str | None = None, entity_id: Any = None, **values: Any) -> Violation:
    """Build a Violation whose messages come from the rules catalogue (key defaults to the code)."""
    key = f"rule.{key or code}"
    messages = {}
    for lang in ("zh", "en"):
        local = {k: getattr(v, lang) if isinstance(v, Bilingual) else v for k, v in values.items()}
        messages[lang] = catalogue(lang)[key].format(**local)
    return Violation(
        code=code, message_zh=messages["zh"], message_en=messages["en"],
        row=row, field=field, entity_id=str(entity_id) if entity_id is not None else None,
    )


def rule_title(code: str, lang: str = "zh") -> str:
    """Return the short name of a rule code for headings and legends."""
    return catalogue(lang).get(f"rule.{code}.title", code)


# ---------------------------------------------------------------- dates


def _anniversary(born: date, year: int) -> date:
    """Return the birthday in a given year; 29 February falls on 1 March in a common year."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def full_years_between(start: date, end: date) -> int:
    """Return the number of full years from start to end (negative when end is before start)."""
    if end < start:
        return -full_years_between(end, start)
    years = end.year - start.year
    if end < _anniversary(start, end.year):
        years -= 1
    return years


def age_in_full_years(born: date, on: date) -> int:
    """Return the age in full years (周岁) on a day; a 29 February birthday is 1 March in common
    years.
    """
    return full_years_between(born, on)


# ---------------------------------------------------------------- R3 trainees


def _clean(value: str | None) -> str:
    return re.sub(r"[\s\u3000]+", "", value or "")


def education_passes(value: str) -> bool | None:
    """True for 高中-level or higher, False for below, None when the text is not recognised."""
    text = _clean(value)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _EDUCATION_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, stripped = text[: -len(suffix)], True
    if text in EDUCATION_PASS:
        return True
    if text in EDUCATION_FAIL or _clean(value) in EDUCATION_FAIL:
        return False
    return None


def certificate_level_of(value: str) -> int | None:
    """Return the level number (5 = 初级工 … 1 = 高级技师) of a certificate text, or None."""
    text = _clean(value)
    for noise in _CERT_NOISE:
        text = text.replace(noise, "")
    if text in CERTIFICATE_LEVELS:
        return CERTIFICATE_LEVELS[text]
    # "三级/高级工", "高级工（三级）": every recognised part must name the same level.
    parts = [p for p in re.split(r"[/／()（）、]", text) if p]
    levels = {CERTIFICATE_LEVELS[p] for p in parts if p in CERTIFICATE_LEVELS}
    if len(levels) == 1 and all(p in CERTIFICATE_LEVELS for p in parts):
        return levels.pop()
    return None


def employer_is_public(value: str) -> bool | None:
    """True for 机关/事业单位, False for the kinds that may train, None when not recognised."""
    text = _clean(value)
    if text in EMPLOYER_PUBLIC:
        return True
    if text in EMPLOYER_OTHER:
        return False
    return None


def id_number_problem(raw: str) -> tuple[str, dict[str, Any]] | None:
    """Return why an ID number is invalid as (message key, values), or None when it is valid."""
    number = normalise_id_number(raw)
    if is_valid_id_number(number):
        return None
    if len(number) == 15 and number.isdigit():
        return "R3.id_invalid.fifteen", {}
    if len(number) != 18:
        return "R3.id_invalid.length", {"length": len(number)}
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return "R3.id_invalid.format", {}
    if not plausible_birth_date(birth_date_of(number)):
        return "R3.id_invalid.birth_date", {"digits": number[6:14]}
    return "R3.id_invalid.check_char", {"expected": check_character(number[:17]),
                                         "actual": number[17]}


def check_trainee(facts: TraineeFacts, class_start: date, *,
                  row: int | None = None) -> list[Violation]:
    """Check one trainee against R3 on the class start date (duplicates are judged elsewhere)."""
    found: list[Violation] = []

    def add(code: str, key: str | None = None, field: str | None = None, **values: Any) -> None:
        found.append(violation(code, key, row=row, field=field, entity_id=facts.entity_id,
                               **values))

    present = {}
    for name in REQUIRED_FIELDS:
        value = getattr(facts, name)
        present[name] = value is not None and (not isinstance(value, str) or _clean(value) != "")
        if not present[name]:
            add("R3.missing_field", field=name, what=label(f"field.{name}"))

    if present["id_number"]:
        problem = id_number_problem(facts.id_number or "")
        if problem:
            key, values = problem
            add("R3.id_invalid", key, "id_number", **values)
        else:
            born = birth_date_of(normalise_id_number(facts.id_number or ""))
            assert born is not None  # a valid number always carries a real date
            age = age_in_full_years(born, class_start)
            if age > MAX_AGE:
                # The age, never the birth date: beside a masked ID number the date gives it away.
                add("R3.age", field="id_number", start=class_start.isoformat(), age=age)

    if present["education"]:
        passes = education_passes(facts.education or "")
        if passes is not True:
            add("R3.education", None if passes is False else "R3.education.unknown", "education",
                value=facts.education)

    if present["certificate_level"]:
        level = certificate_level_of(facts.certificate_level or "")
        if level is None:
            add("R3.certificate_level", "R3.certificate_level.unknown", "certificate_level",
                value=facts.certificate_level)
        elif level > 3:
            add("R3.certificate_level", field="certificate_level", value=facts.certificate_level)

    if present["certificate_date"] and facts.certificate_date is not None:
        issued = facts.certificate_date
        if isinstance(issued, datetime):
            issued = issued.date()
        years = full_years_between(issued, class_start)
        if issued > class_start:
            add("R3.certificate_years", "R3.certificate_years.future", "certificate_date",
                issued=issued.isoformat(), start=class_start.isoformat())
        elif years < MIN_CERTIFICATE_YEARS:
            add("R3.certificate_years", field="certificate_date", issued=issued.isoformat(),
                start=class_start.isoformat(), years=years)

    if present["employer_kind"]:
        public = employer_is_public(facts.employer_kind or "")
        if public is not False:
            add("R3.public_institution",
                None if public else "R3.public_institution.unknown", "employer_kind",
                value=facts.employer_kind)
    return found


def facts_from_trainee(trainee: Trainee | RosterEntry) -> TraineeFacts:
    """Return the R3 facts of a stored trainee or a roster entry (services/filed_roster.py; the ID
    number is decrypted for the check only)."""

    return TraineeFacts(
        name=trainee.name, id_number=decrypt_id_number(trainee.id_number_enc),
        education=trainee.education, certificate_level=trainee.certificate_level,
        certificate_date=trainee.certificate_date, employer_kind=trainee.employer_kind,
        gender=trainee.gender, occupation=trainee.occupation_name, employer=trainee.employer,
        phone=trainee.phone, entity_id=str(trainee.id) if trainee.id else None,
    )


# ---------------------------------------------------------------- R6 hours


def _minutes(session_or_times: Any) -> int:
    """Return a session's length in minutes from its start and end wall times."""
    if isinstance(session_or_times, tuple | list):
        start, end = session_or_times
    elif isinstance(session_or_times, dict):
        start, end = session_or_times["start_time"], session_or_times["end_time"]
    else:
        start, end = session_or_times.start_time, session_or_times.end_time
    if isinstance(start, str):
        start, end = time.fromisoformat(start), time.fromisoformat(end)
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    # A session that ends before it starts teaches nothing; schemas refuse it before it gets here.
    return max(minutes, 0)


def session_class_hours(session_or_times: Any, class_hour_minutes: int) -> float:
    """Return the 学时 of a session (object, mapping or (start, end) pair) from its times, as
    shown (shown_hours: a session row must not read 0.98 beside a total of 0.97, R6)."""
    return shown_hours(_minutes(session_or_times), class_hour_minutes)


def shown_hours(minutes: int, class_hour_minutes: int) -> float:
    """Return 学时 as people see them (R6): to two decimals, rounded down, so that a plan short of
    90 学时 by a minute never shows "90" beside "少于 90 学时"; integer arithmetic, no float drift.
    The one rounding of the version page's hours and the R6 messages."""
    return (minutes * 100 // class_hour_minutes) / 100


def _hours_text(minutes: int, class_hour_minutes: int) -> str:
    return f"{shown_hours(minutes, class_hour_minutes):.2f}".rstrip("0").rstrip(".")


def category_of(session: Any) -> str | None:
    """Return politics / theory / practical for a session's category (English or Chinese)."""
    value = session.get("category") if isinstance(session, dict) else session.category
    return CATEGORY_KEYS.get(_clean(value))


def hours_by_category(sessions: Iterable[Any], class_hour_minutes: int) -> dict[str, float]:
    """Return the 学时 per category and in total ("total"), as shown (shown_hours)."""
    minutes = _minutes_by_category(sessions)
    return {k: shown_hours(v, class_hour_minutes) for k, v in minutes.items()}


def _minutes_by_category(sessions: Iterable[Any]) -> dict[str, int]:
    minutes = {"politics": 0, "theory": 0, "practical": 0, "total": 0}
    for session in sessions:
        length = _minutes(session)
        category = category_of(session)
        if category:
            minutes[category] += length
        minutes["total"] += length
    return minutes


def check_hours(sessions: Iterable[Any], class_hour_minutes: int) -> list[Violation]:
    """Check R6: total ≥ 210 学时, 思政 ≥ 10, 理论 ≥ 110, 实操 ≥ 90, from the session times."""
    minutes = _minutes_by_category(sessions)
    found = []
    # Compare in minutes: no floating point between a plan and its verdict.
    required = {"total": MIN_TOTAL_HOURS, **MIN_HOURS}
    for key in ("total", "politics", "theory", "practical"):
        if minutes[key] < required[key] * class_hour_minutes:
            found.append(violation(f"R6.{key}_hours", field=key,
                                   hours=_hours_text(minutes[key], class_hour_minutes),
                                   required=required[key]))
    return found


# ---------------------------------------------------------------- R4 teachers


def _teacher_qualified(category: str, teacher: Any) -> bool:
    if category == "practical":
        return _clean(teacher.skill_qualification) in PRACTICAL_QUALIFICATIONS
    return _clean(teacher.professional_title) in SENIOR_TITLES


def check_teachers(sessions: Iterable[Any]) -> list[Violation]:
    """Check R4: 思政/理论 teachers hold a senior title, 实操 teachers 高级实习指导教师 or 高级技师.

    One violation per teacher and category, naming how many sessions and the first date.
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for position, session in enumerate(sessions, start=1):
        category = category_of(session)
        if category is None:
            continue
        teacher = getattr(session, "teacher", None)
        if teacher is not None and _teacher_qualified(category, teacher):
            continue
        key = (category, str(teacher.id) if teacher is not None else "")
        group = groups.setdefault(key, {"teacher": teacher, "count": 0, "row": position,
                                        "first": session.date})
        group["count"] += 1
        group["first"] = min(group["first"], session.date)
    found = []
    for (category, teacher_id), group in groups.items():
        code = ("R4.practical_teacher_unqualified" if category == "practical"
                else "R4.theory_teacher_unqualified")
        teacher = group["teacher"]
        values: dict[str, Any] = {"category": label(f"category.{category}"),
                                  "count": group["count"], "first": group["first"].isoformat()}
        key = None
        if teacher is None:
            key = "R4.no_teacher"
        elif category == "practical":
            values.update(teacher=teacher.name, qualification=teacher.skill_qualification)
        else:
            values.update(teacher=teacher.name, title=teacher.professional_title)
        found.append(violation(code, key, row=group["row"], field="teacher_id",
                               entity_id=teacher_id or None, **values))
    return found


# ---------------------------------------------------------------- a whole plan version


def _filed_enrollments():
    """Select (enrolment, class) pairs of every current filed version; callers add filters.

    A filed enrolment carries the person as frozen at submission (its keyed ID hash among them).
    """
    return (db.select(Enrollment, TrainingClass)
            .join(PlanVersion, PlanVersion.id == Enrollment.plan_version_id)
            .join(Plan, Plan.id == PlanVersion.plan_id)
            .join(TrainingClass, TrainingClass.id == Plan.class_id)
            .where(PlanVersion.id.in_(current_filed_version_ids())))


def check_roster_duplicates(version: PlanVersion) -> list[Violation]:
    """R3.duplicate: a trainee twice on this roster, or in another overlapping, filed class of the
    base.

    Only the base's own classes: another base's roster is not this base's to learn about (a
    person on two bases' rosters is flagged to the city, see filed_roster.raise_cross_base_flags).
    """
    klass = version.plan.training_class
    found: list[Violation] = []
    positions: dict[str, list[tuple[int, RosterEntry]]] = {}
    for position, entry in enumerate(roster_of(version), start=1):
        positions.setdefault(entry.id_number_hash, []).append((position, entry))
    for entries in positions.values():
        if len(entries) > 1:
            found.extend(violation("R3.duplicate", "R3.duplicate.in_class", row=row,
                                   field="id_number", entity_id=trainee.id)
                         for row, trainee in entries)
    if not positions:
        return found
    others = db.session.execute(
        _filed_enrollments().where(
            TrainingClass.id != klass.id, TrainingClass.base_id == klass.base_id,
            TrainingClass.start_date <= klass.end_date,
            TrainingClass.end_date >= klass.start_date,
            Enrollment.id_number_hash.in_(list(positions)),
        ).order_by(TrainingClass.start_date, TrainingClass.name)
    ).all()
    for filed, other in others:
        for row, mine in positions[filed.id_number_hash]:
            found.append(violation(
                "R3.duplicate", "R3.duplicate.other_class", row=row, field="id_number",
                entity_id=mine.id, klass=other.name, base=other.base.name,
                start=other.start_date.isoformat(), end=other.end_date.isoformat()))
    return found


def check_quota(version: PlanVersion) -> list[Violation]:
    """R1: distinct trainees of the base's filed classes that year, with this roster, ≤ 120 % of
    quota.
    """
    klass = version.plan.training_class
    base = klass.base
    year = klass.start_date.year
    rows = db.session.execute(
        _filed_enrollments().where(
            TrainingClass.base_id == klass.base_id, TrainingClass.id != klass.id,
            TrainingClass.start_date >= date(year, 1, 1),
            TrainingClass.start_date <= date(year, 12, 31))
    ).all()
    people = {filed.id_number_hash for filed, _ in rows}
    people |= {e.id_number_hash for e in roster_of(version)}
    count = len(people)
    # Integer arithmetic: 120 % of 7 is 8.4, and 8 is within it while 9 is not.
    if count * 100 <= base.quota * QUOTA_FACTOR_PERCENT:
        return []
    limit = base.quota * QUOTA_FACTOR_PERCENT // 100
    return [violation("R1.quota_exceeded", field="quota", entity_id=base.id, base=base.name,
                      year=year, count=count, quota=base.quota, limit=limit)]


def check_session_dates(sessions: Iterable[Any], class_start: date, class_end: date
                        ) -> list[Violation]:
    """Check R5 (the filed training time): every session lies within its class's dates, first
    and last day included. A session outside them is judged against a class that is not running
    then (sync/judge.py implausible_time: time.outside_class), so the phone and the server would
    disagree on a visit to it. One violation per session (row: its position in the version)."""
    found = []
    for position, session in enumerate(sessions, start=1):
        if not class_start <= session.date <= class_end:
            found.append(violation("R5.session_outside_class", row=position, field="date",
                                   date=session.date.isoformat(), start=class_start.isoformat(),
                                   end=class_end.isoformat()))
    return found


def check_plan_version(version: PlanVersion, class_hour_minutes: int) -> list[Violation]:
    """Check a plan version against R1, R3 (roster, duplicates), R4, R5 (session dates) and R6.

    Roster violations carry row = the trainee's position on the version's roster (1-based,
    in the order of version.enrollments) and entity_id = the trainee's id.
    """
    klass = version.plan.training_class
    found: list[Violation] = []
    for position, entry in enumerate(roster_of(version), start=1):
        found.extend(check_trainee(facts_from_trainee(entry), klass.start_date, row=position))
    found.extend(check_roster_duplicates(version))
    found.extend(check_teachers(version.sessions))
    found.extend(check_session_dates(version.sessions, klass.start_date, klass.end_date))
    found.extend(check_hours(version.sessions, class_hour_minutes))
    found.extend(check_quota(version))
    return found
