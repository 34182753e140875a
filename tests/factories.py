"""A small, valid world for tests: two counties, a base in each, a filed class with its plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from server.extensions import db
from server.models import (
    County,
    Enrollment,
    Occupation,
    Plan,
    PlanSession,
    PlanVersion,
    Site,
    Teacher,
    Trainee,
    TrainingBase,
    TrainingClass,
    User,
)
from server.services.auth import hash_password
from server.services.clock import local_today
from server.services.idcard import mask_id_number, synthetic_id_number
from server.services.pii import encrypt_id_number, id_number_hash
from tests.conftest import TEST_PASSWORD

# A compliant R6 schedule: 5 学时 (225 min) per session; 2 思政 + 22 理论 + 18 实操 = 210 学时.
SCHEDULE = [("politics", 2), ("theory", 22), ("practical", 18)]
SESSION_START, SESSION_END = time(8, 30), time(12, 15)

# How far back the world's "today" is taken: the local date of this long ago has always seen
# its session end (12:15) at least 1 h 45 min before now, whatever the hour.
TODAY_LAG = timedelta(hours=14)


def world_today(now: datetime | None = None) -> date:
    """Return the local (Asia/Shanghai) date the test world calls today.

    Tests date their visits and sign-ins inside today's session (08:30–12:15 local), and the
    server holds a visit dated after it received it unverifiable (R10, ``time.after_receipt``).
    So "today" is the local date of 14 hours ago: that date's session has ended at every hour
    of the day. Before 14:00 local it is yesterday. `now` is aware (default: the real clock).
    """
    return local_today((now or datetime.now(UTC)) - TODAY_LAG)


@dataclass
class World:
    counties: dict[str, County] = field(default_factory=dict)
    bases: dict[str, TrainingBase] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    classes: dict[str, TrainingClass] = field(default_factory=dict)
    versions: dict[str, PlanVersion] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    teachers: dict[str, Teacher] = field(default_factory=dict)
    trainees: list[Trainee] = field(default_factory=list)
    occupation: Occupation | None = None


def make_trainee(name: str, born: date, serial: int, *, cert_date: date | None = None,
                 education: str = "高中", employer_kind: str = "企业",
                 certificate_level: str = "高级工") -> Trainee:
    """Add a trainee with a synthetic, checksum-valid ID number."""
    number = synthetic_id_number("370702", born, serial)
    trainee = Trainee(
        name=name, gender="男" if serial % 2 else "女",
        id_number_enc=encrypt_id_number(number), id_number_hash=id_number_hash(number),
        id_masked=mask_id_number(number), birth_date=born, education=education,
        occupation_name="车工", certificate_level=certificate_level,
        certificate_date=cert_date or date(2015, 6, 1), employer="潍柴动力股份有限公司",
        employer_kind=employer_kind,
    )
    db.session.add(trainee)
    return trainee


def make_user(username: str, role: str, county: County | None = None,
              base: TrainingBase | None = None) -> User:
    user = User(username=username, display_name=username,
                password_hash=hash_password(TEST_PASSWORD),
                role=role, county_id=county.id if county else None,
                base_id=base.id if base else None)
    db.session.add(user)
    return user


def make_class(key: str, base: TrainingBase, occupation: Occupation, site: Site,
               theory: Teacher, practical: Teacher, start: date, trainees: list[Trainee],
               status: str = "recorded") -> tuple[TrainingClass, PlanVersion]:
    """Add a class with one plan version whose sessions meet R6 exactly."""
    sessions_total = sum(n for _, n in SCHEDULE)
    klass = TrainingClass(base=base, occupation=occupation, level=2, name=f"{key} 车工技师班",
                          start_date=start, end_date=start + timedelta(days=sessions_total - 1),
                          head_teacher=theory)
    plan = Plan(training_class=klass)
    version = PlanVersion(plan=plan, number=1, status=status)
    day = start
    for category, count in SCHEDULE:
        for i in range(count):
            teacher = practical if category == "practical" else theory
            version.sessions.append(PlanSession(
                date=day, start_time=SESSION_START, end_time=SESSION_END, category=category,
                topic=f"{category} 第{i + 1}讲", teacher=teacher, site=site,
            ))
            day += timedelta(days=1)
    for trainee in trainees:
        version.enrollments.append(Enrollment(trainee=trainee))
    db.session.add_all([klass, plan, version])
    return klass, version


def build_world(start: date | None = None) -> World:
    """Counties A (奎文区) and B (寿光市), one base, site, teachers and class in each; users."""
    start = start or world_today() - timedelta(days=3)
    w = World()
    w.occupation = Occupation(code="6-18-01-01", name="车工")
    db.session.add(w.occupation)
    for key, name, code, base_name, lat, lon in [
        ("a", "奎文区", "370705", "潍坊市技师学院", 36.7075, 119.1610),
        ("b", "寿光市", "370783", "寿光市职业学校", 36.8556, 118.7910),
    ]:
        county = County(name=name, code=code, kind="county")
        base = TrainingBase(name=base_name, county=county, quota=100)
        site = Site(base=base, name=f"{base_name}实训楼", address=f"{name}某路1号", lat=lat,
                    lon=lon,
                    radius_m=150)
        theory = Teacher(base=base, name=f"{key}理论老师", professional_title="副高级")
        practical = Teacher(base=base, name=f"{key}实操老师", skill_qualification="高级技师")
        db.session.add_all([county, base, site, theory, practical])
        trainees = [make_trainee(f"{key}学员{i}", date(1990, 1, 1) + timedelta(days=97 * i),
                                 serial=100 + i + (500 if key == "b" else 0)) for i in range(5)]
        w.trainees.extend(trainees)
        klass, version = make_class(key, base, w.occupation, site, theory, practical, start,
                                    trainees)
        w.counties[key], w.bases[key], w.sites[key] = county, base, site
        w.teachers[f"{key}_theory"], w.teachers[f"{key}_practical"] = theory, practical
        w.classes[key], w.versions[key] = klass, version
    db.session.flush()
    w.users["city"] = make_user("city", "city_admin")
    w.users["county_a"] = make_user("county_a", "county_admin", w.counties["a"])
    w.users["county_b"] = make_user("county_b", "county_admin", w.counties["b"])
    w.users["inspector_a"] = make_user("inspector_a", "inspector", w.counties["a"])
    w.users["inspector_b"] = make_user("inspector_b", "inspector", w.counties["b"])
    w.users["city_inspector"] = make_user("city_inspector", "inspector")
    w.users["base_a"] = make_user("base_a", "base_staff", w.counties["a"], w.bases["a"])
    w.users["base_b"] = make_user("base_b", "base_staff", w.counties["b"], w.bases["b"])
    db.session.commit()
    return w
