"""Demo data for Weifang (潍人社字〔2020〕62号): counties, the 7 bases of Attachment 1, classes,
plans.

Dates are relative to the day of loading, so the demo always has classes under way and
upcoming. Every class has a filed plan that meets R3/R4/R6; one class at 潍坊市技师学院
was returned for ineligible trainees and its new draft still lists them, for the base to fix.
Trainee ID numbers are synthetic and checksum-valid; names and employers are made up.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Assignment,
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
    utcnow,
)
from server.services.assignments import create_assignment
from server.services.audit import audit
from server.services.auth import create_user
from server.services.changes import publish_plan_version
from server.services.filing import compute_diff
from server.services.idcard import mask_id_number, synthetic_id_number
from server.services.pii import encrypt_id_number, id_number_hash
from server.services.plan_versions import version_in_force

# Other helpers' loaders ("module:function"), called in order after the filing data is in.
DEMO_PASSWORD = "spotcheck2026"
DEMO_LOGINS = [
    ("city", "city_admin", "市人社局管理员"),
    ("county", "county_admin", "奎文区人社局管理员"),
    ("inspector", "inspector", "奎文区抽查员"),
    ("inspector2", "inspector", "奎文区抽查员（二人小组的第二人）"),
    ("covert", "inspector", "市人社局暗访员（不属任何县市区）"),
    ("base", "base_staff", "潍坊市技师学院教务"),
]

# Weifang's 16 county-level units. The 12 counties, cities and districts carry their GB/T 2260
# codes; the 4 development zones have none there, so they carry the statistical division codes.
COUNTIES = [
    ("奎文区", "370705", "district"), ("潍城区", "370702", "district"),
    ("寒亭区", "370703", "district"), ("坊子区", "370704", "district"),
    ("临朐县", "370724", "county"), ("昌乐县", "370725", "county"),
    ("青州市", "370781", "city"), ("诸城市", "370782", "city"), ("寿光市", "370783", "city"),
    ("安丘市", "370784", "city"), ("高密市", "370785", "city"), ("昌邑市", "370786", "city"),
    ("高新区", "370771", "zone"), ("滨海区", "370772", "zone"),
    ("峡山区", "370773", "zone"), ("综合保税区", "370774", "zone"),
]

# Attachment 1: base, quota (sum 800), the county it sits in, its sites (WGS-84).
BASES = [
    ("山东工业技师学院", 100, "高新区", [
        ("教学楼", "潍坊高新区健康东街 6888 号 教学楼", 36.7262, 119.2138),
        ("实训中心", "潍坊高新区健康东街 6888 号 实训中心", 36.7249, 119.2161)]),
    ("潍坊市技师学院", 200, "奎文区", [
        ("理论教学楼", "奎文区北海路 5588 号 理论教学楼", 36.7087, 119.1602),
        ("机电实训楼", "奎文区北海路 5588 号 机电实训楼", 36.7071, 119.1627)]),
    ("潍坊市工程技师学院", 140, "青州市", [
        ("教学楼", "青州市海岱中路 2566 号 教学楼", 36.6961, 118.4902),
        ("实训基地", "青州市海岱中路 2566 号 实训基地", 36.6947, 118.4925)]),
    ("山东科技职业学院", 130, "潍城区", [
        ("第一教学楼", "潍城区潍州路 1567 号 第一教学楼", 36.6829, 119.0768),
        ("汽车实训中心", "潍城区潍州路 1567 号 汽车实训中心", 36.6812, 119.0791)]),
    ("潍柴高级技工学校", 120, "高新区", [
        ("培训中心", "潍坊高新区福寿东街 197 号 培训中心", 36.7186, 119.1889),
        ("焊接实训车间", "潍坊高新区福寿东街 197 号 焊接实训车间", 36.7173, 119.1912)]),
    ("高密市高级技工学校", 70, "高密市", [
        ("教学楼", "高密市夷安大道 2988 号 教学楼", 36.3921, 119.7442),
        ("实训楼", "高密市夷安大道 2988 号 实训楼", 36.3907, 119.7468)]),
    ("青州市高级技工学校", 40, "青州市", [
        ("教学楼", "青州市玲珑山北路 1168 号 教学楼", 36.7043, 118.4629),
        ("汽修实训车间", "青州市玲珑山北路 1168 号 汽修实训车间", 36.7031, 118.4652)]),
]

# Catalogue-style codes (国家职业分类大典 numbering), for the occupations the bases train.
OCCUPATIONS = [
    ("6-18-01-01", "车工"), ("6-18-01-02", "铣工"), ("6-18-01-04", "磨工"),
    ("6-18-01-08", "数控车工"), ("6-20-01-01", "钳工"), ("6-18-04-01", "工具钳工"),
    ("6-31-01-02", "机修钳工"), ("6-18-02-04", "焊工"), ("6-31-01-03", "电工"),
    ("6-31-01-04", "维修电工"), ("4-12-01-01", "汽车维修工"), ("6-11-01-03", "化工总控工"),
]

# Classes: base, occupation, level, offset of the first day from today, state of the plan.
# "recorded" / "approved": filed and in force; "changed": v1 recorded, v2 submitted with a
# teacher change; "returned": v1 returned for ineligible trainees, v2 a draft still with them.
CLASSES = [
    ("潍坊市技师学院", "车工", 2, -75, "recorded"),  # finished and assessed (R11, Attachment 2)
    ("潍坊市技师学院", "数控车工", 2, -8, "recorded"),
    ("潍坊市技师学院", "维修电工", 2, -3, "approved"),
    ("潍坊市技师学院", "焊工", 1, 12, "changed"),
    ("潍坊市技师学院", "钳工", 2, 25, "returned"),
    ("山东工业技师学院", "电工", 2, -10, "recorded"),
    ("山东工业技师学院", "工具钳工", 1, 18, "recorded"),
    ("潍坊市工程技师学院", "化工总控工", 2, -5, "recorded"),
    ("潍坊市工程技师学院", "车工", 2, 9, "approved"),
    ("山东科技职业学院", "汽车维修工", 2, -12, "recorded"),
    ("山东科技职业学院", "数控车工", 1, 15, "recorded"),
    ("潍柴高级技工学校", "焊工", 2, -6, "recorded"),
    ("高密市高级技工学校", "钳工", 2, 21, "recorded"),
    ("青州市高级技工学校", "汽车维修工", 2, -2, "recorded"),
]
TRAINEES_PER_CLASS = 24

# 54 sessions of 4 学时 (3 h at 45 min): 思政 3 × 4 = 12, 理论 28 × 4 = 112, 实操 23 × 4 = 92.
MORNING = (time(8, 30), time(11, 30))
AFTERNOON = (time(14, 0), time(17, 0))
SESSION_PLAN = ["politics", "politics"] + [c for pair in zip(["theory"] * 23, ["practical"] * 23,
                                                             strict=True) for c in pair] \
    + ["theory"] * 5 + ["politics"]
POLITICS_TOPICS = ["开班典礼与思想政治教育", "工匠精神与职业道德", "安全生产法规与结业教育"]

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁于蒋蔡余杜"
            "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
            "贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文斌俊峰鹏辉波宁晨浩宇凯欣雪琳博亮"
         "健飞海涛")
EMPLOYERS = [
    ("潍柴动力股份有限公司", "企业"), ("歌尔股份有限公司", "企业"),
    ("雷沃重工股份有限公司", "企业"),
    ("山东海化集团有限公司", "企业"), ("盛瑞传动股份有限公司", "企业"),
    ("山东豪迈机械科技股份有限公司", "企业"),
    ("孚日集团股份有限公司", "企业"), ("山东晨鸣纸业集团股份有限公司", "企业"),
    ("潍坊市技师学院", "技工院校"), ("潍坊职业学院", "职业院校"),
]
EDUCATIONS = ["高中", "中专", "技校", "职高", "大专"]
TEACHER_NAMES = ["张建华", "李志强", "王秀英", "刘国栋", "陈立新", "孙海涛", "周文斌", "马俊峰"]


def _ensure_counties() -> dict[str, County]:
    counties = {}
    for name, code, kind in COUNTIES:
        counties[name] = County(name=name, code=code, kind=kind)
    db.session.add_all(counties.values())
    return counties


class _Builder:
    """Holds what the loader made so far; deterministic (seeded) for the same day."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.rng = random.Random(20200062)
        self.serial = 0
        self.counties: dict[str, County] = {}
        self.bases: dict[str, TrainingBase] = {}
        self.sites: dict[str, list[Site]] = {}
        self.teachers: dict[str, dict[str, list[Teacher]]] = {}
        self.occupations: dict[str, Occupation] = {}
        self.reviewers: dict[str, User] = {}
        self.city: User | None = None

    def organisations(self) -> None:
        self.counties = _ensure_counties()
        self.occupations = {name: Occupation(code=code, name=name) for code, name in OCCUPATIONS}
        db.session.add_all(self.occupations.values())
        for index, (name, quota, county, sites) in enumerate(BASES):
            base = TrainingBase(name=name, quota=quota, county=self.counties[county])
            self.bases[name] = base
            self.sites[name] = [Site(base=base, name=f"{name}{site}", address=address, lat=lat,
                                     lon=lon, radius_m=150.0, entered_datum="wgs84",
                                     entered_lat=lat, entered_lon=lon)
                                for site, address, lat, lon in sites]
            names = TEACHER_NAMES[index % 3:] + TEACHER_NAMES[:index % 3]
            self.teachers[name] = {
                "theory": [Teacher(base=base, name=names[0], professional_title="副高级",
                                   certificate_no=f"GJ{index}01"),
                           Teacher(base=base, name=names[1], professional_title="正高级",
                                   certificate_no=f"GJ{index}02")],
                "practical": [Teacher(base=base, name=names[2], skill_qualification="高级技师",
                                      certificate_no=f"JS{index}01"),
                              Teacher(base=base, name=names[3],
                                      skill_qualification="高级实习指导教师",
                                      certificate_no=f"JS{index}02")],
                # Not qualified to teach under R4: on the teacher list, in no filed plan.
                "other": [Teacher(base=base, name=names[4], professional_title="中级",
                                  skill_qualification="技师", certificate_no=f"JS{index}03")],
            }
            db.session.add(base)
            db.session.add_all(self.sites[name])
            for group in self.teachers[name].values():
                db.session.add_all(group)
        db.session.flush()

    def users(self) -> None:
        self.city = create_user("city", DEMO_PASSWORD, "city_admin", display_name="市人社局管理员")
        self.reviewers["奎文区"] = create_user("county", DEMO_PASSWORD, "county_admin",
                                             county_name="奎文区",
                                               display_name="奎文区人社局管理员")
        create_user("inspector", DEMO_PASSWORD, "inspector", county_name="奎文区",
                    display_name="奎文区抽查员")
        create_user("inspector2", DEMO_PASSWORD, "inspector", county_name="奎文区",
                    display_name="奎文区抽查员（二）")
        create_user("covert", DEMO_PASSWORD, "inspector", display_name="市人社局暗访员")
        create_user("base", DEMO_PASSWORD, "base_staff", base_name="潍坊市技师学院",
                    display_name="潍坊市技师学院教务")
        # The other counties with bases need a reviewer to have sealed their plans.
        for county, username in (("高新区", "county_gaoxin"), ("青州市", "county_qingzhou"),
                                 ("潍城区", "county_weicheng"), ("高密市", "county_gaomi")):
            self.reviewers[county] = create_user(username, DEMO_PASSWORD, "county_admin",
                                                 county_name=county,
                                                 display_name=f"{county}人社局管理员")
        db.session.flush()

    def trainee(self, county_code: str, start: date, *, born: date | None = None,
                education: str | None = None, employer: tuple[str, str] | None = None,
                certified: date | None = None, occupation: str = "") -> Trainee:
        self.serial += 1
        rng = self.rng
        born = born or start - timedelta(days=rng.randint(24 * 365, 46 * 365))
        number = synthetic_id_number(county_code, born, self.serial % 1000)
        employer = employer or rng.choice(EMPLOYERS)
        trainee = Trainee(
            name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1,
                                                                                             2))),
            gender="男" if int(number[16]) % 2 else "女",
            id_number_enc=encrypt_id_number(number), id_number_hash=id_number_hash(number),
            id_masked=mask_id_number(number), birth_date=born,
            education=education or rng.choice(EDUCATIONS), occupation_name=occupation,
            certificate_level="高级工",
            certificate_date=certified or start - timedelta(days=rng.randint(3 * 366 + 10,
                                                                             9 * 365)),
            employer=employer[0], employer_kind=employer[1],
            phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
        )
        db.session.add(trainee)
        return trainee

    def sessions(self, base: str, occupation: str, start: date) -> list[PlanSession]:
        theory, practical = self.teachers[base]["theory"], self.teachers[base]["practical"]
        classroom, workshop = self.sites[base][0], self.sites[base][-1]
        result, counters = [], {"politics": 0, "theory": 0, "practical": 0}
        for index, category in enumerate(SESSION_PLAN):
            day = start + timedelta(days=index // 2)
            start_time, end_time = MORNING if index % 2 == 0 else AFTERNOON
            counters[category] += 1
            n = counters[category]
            if category == "politics":
                topic, teacher, site = POLITICS_TOPICS[min(n - 1, 2)], theory[1], classroom
            elif category == "theory":
                topic, teacher, site = f"{occupation}专业理论 第{n}讲", theory[n % 2], classroom
            else:
                topic, teacher, site = f"{occupation}技能实训 第{n}次", practical[n % 2], workshop
            result.append(PlanSession(date=day, start_time=start_time, end_time=end_time,
                                      category=category, topic=topic, teacher=teacher, site=site))
        return result

    def training_class(self, base_name: str, occupation: str, level: int, offset: int,
                       state: str) -> tuple[TrainingClass, list[PlanVersion]]:
        base = self.bases[base_name]
        start = self.today + timedelta(days=offset)
        sessions = self.sessions(base_name, occupation, start)
        level_name = "技师" if level == 2 else "高级技师"
        klass = TrainingClass(
            base=base, occupation=self.occupations[occupation], level=level,
            name=f"{start.year}年{occupation}{level_name}班（{start.month}月）",
            start_date=start, end_date=sessions[-1].date,
            head_teacher=self.teachers[base_name]["theory"][0])
        plan = Plan(training_class=klass)
        trainees = [self.trainee(base.county.code, start, occupation=occupation)
                    for _ in range(TRAINEES_PER_CLASS)]
        if state == "returned":
            trainees += self._ineligible(base.county.code, start, occupation)
        v1 = PlanVersion(plan=plan, number=1, sessions=sessions,
                         enrollments=[Enrollment(trainee=t) for t in trainees])
        db.session.add_all([klass, plan, v1])
        reviewer = self.reviewers[base.county.name]
        submitted = utcnow() - timedelta(days=max(30 - offset, 3))
        v1.submitted_at = submitted
        if state == "returned":
            v1.status = "returned"
            v1.review_comment = ("花名册中有学员不符合报名条件（年龄、文化程度、单位性质、"
                                 "持证年限），请核实后重新报送")
            db.session.flush()
            v2 = self._copy(v1, 2, "")
            return klass, [v1, v2]
        v1.status = "recorded" if state in ("recorded", "changed") else "approved"
        v1.approved_at, v1.approved_by_id = submitted + timedelta(days=1), reviewer.id
        if v1.status == "recorded":
            v1.recorded_at, v1.recorded_by_id = submitted + timedelta(days=2), self.city.id
        db.session.flush()
        if state != "changed":
            return klass, [v1]
        v2 = self._copy(v1, 2, "实操指导教师工作调整，部分实训课改由同校高级技师授课")
        replacement = self.teachers[base_name]["practical"][0]
        for s in v2.sessions:
            if s.category == "practical" and s.date >= start + timedelta(days=10):
                s.teacher = replacement
        db.session.flush()
        v2.status, v2.submitted_at = "submitted", utcnow() - timedelta(hours=20)
        v2.diff = compute_diff(v1, v2)
        return klass, [v1, v2]

    def _ineligible(self, county_code: str, start: date, occupation: str) -> list[Trainee]:
        too_old = start - timedelta(days=53 * 366)
        return [
            self.trainee(county_code, start, born=too_old, occupation=occupation),
            self.trainee(county_code, start, education="初中", occupation=occupation),
            self.trainee(county_code, start, employer=("潍坊市某区机关事务服务中心", "事业单位"),
                         occupation=occupation),
            self.trainee(county_code, start, certified=start - timedelta(days=400),
                         occupation=occupation),
        ]

    def _copy(self, source: PlanVersion, number: int, reason: str) -> PlanVersion:
        copy = PlanVersion(plan=source.plan, number=number, reason=reason, status="draft")
        copy.sessions = [PlanSession(lineage_id=s.lineage_id, date=s.date, start_time=s.start_time,
                                     end_time=s.end_time, category=s.category, topic=s.topic,
                                     teacher=s.teacher, site=s.site, online=s.online)
                         for s in source.sessions]
        copy.enrollments = [Enrollment(trainee=e.trainee) for e in source.enrollments]
        db.session.add(copy)
        return copy


def assign_demo_inspections(today: date) -> int:
    """Give the 奎文区 inspector team the morning session of today and the next two days, of each
    奎文区 class under way, unless the team already has that session (the coming month's draw
    may have picked it). Returns how many assignments were made."""
    team = list(db.session.scalars(select(User).where(User.username.in_(["inspector",
                                                                         "inspector2"]))
                                   .order_by(User.username)))
    taken = {a.session.lineage_id for a in db.session.scalars(select(Assignment))
             if team[0] in a.inspectors}
    made = 0
    for klass in db.session.scalars(select(TrainingClass).order_by(TrainingClass.start_date)):
        version = version_in_force(klass.plan)
        if (version is None or klass.base.county.name != "奎文区"
                or not klass.start_date <= today <= klass.end_date):
            continue
        for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
            session = next((s for s in version.sessions if s.date == day), None)
            if session is not None and session.lineage_id not in taken:
                create_assignment(klass.id, session.id, team)
                taken.add(session.lineage_id)
                made += 1
    return made


def load_demo_organisations(today: date) -> bool:
    """Load counties, bases, users, classes and plans into an empty database; False if it is there.
    """
    if db.session.scalar(select(County.id).limit(1)) is not None:
        return False
    builder = _Builder(today)
    builder.organisations()
    builder.users()
    in_force: list[tuple[TrainingClass, PlanVersion]] = []
    made: list[TrainingClass] = []
    for base, occupation, level, offset, state in CLASSES:
        klass, versions = builder.training_class(base, occupation, level, offset, state)
        made.append(klass)
        filed = [v for v in versions if v.status in ("approved", "recorded")]
        if filed:
            in_force.append((klass, filed[-1]))
    db.session.flush()
    for _, version in in_force:
        publish_plan_version(version)
    # The demo's own classes, in CLASSES order: `demo refresh` moves these and nothing else.
    audit("demo.load", "system", "demo", classes=len(CLASSES),
          class_ids=[str(k.id) for k in made])
    db.session.commit()
    return True
