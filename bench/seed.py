"""Seed a fresh instance: one inspector and a pull scope of 50 classes (5,000 trainees, 2,000
sessions).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from bench.common import PASSWORD, SECRET, Instance

CLASSES = 50
TRAINEES_PER_CLASS = 100
SESSIONS_PER_CLASS = 40
CATEGORIES = ["politics"] * 2 + ["theory"] * 21 + ["practical"] * 17


@dataclass
class Seeded:
    """Ids the benchmarks need."""

    inspector: str = "bench_inspector"
    class_id: str = ""
    plan_version_id: str = ""
    trainee_ids: list[str] = field(default_factory=list)
    trainees: int = 0
    sessions: int = 0


def seed(instance: Instance) -> Seeded:
    """Create the schema and the data in the instance's database (in this process)."""
    os.environ["SECRET_KEY"] = SECRET  # the PII key derives from it: same as the server's
    from server import create_app
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
    from server.services.changes import publish_plan_version
    from server.services.idcard import mask_id_number, synthetic_id_number
    from server.services.pii import encrypt_id_number, id_number_hash

    app = create_app({"DATABASE_URL": instance.database_url, "MEDIA_DIR": str(instance.media_dir),
                      "SECRET_KEY": SECRET})
    rng = random.Random(2026)
    out = Seeded()
    with app.app_context():
        db.create_all()
        county = County(name="奎文区", code="370705", kind="county")
        occupation = Occupation(code="6-18-01-01", name="车工")
        base = TrainingBase(name="潍坊市技师学院", county=county, quota=6000)
        site = Site(base=base, name="实训楼", address="奎文区某路1号", lat=36.7075, lon=119.1610,
                    radius_m=150)
        theory = Teacher(base=base, name="理论老师", professional_title="副高级")
        practical = Teacher(base=base, name="实操老师", skill_qualification="高级技师")
        db.session.add_all([county, occupation, base, site, theory, practical])
        db.session.add(User(username=out.inspector, display_name="抽查员", role="inspector",
                            password_hash=hash_password(PASSWORD), county=county))
        versions = []
        serial = 0
        for k in range(CLASSES):
            start = date(2026, 3, 2) + timedelta(days=k)
            klass = TrainingClass(base=base, occupation=occupation, level=2,
                                  name=f"车工技师{k + 1}班",
                                  start_date=start,
                                  end_date=start + timedelta(days=SESSIONS_PER_CLASS),
                                  head_teacher=theory)
            version = PlanVersion(plan=Plan(training_class=klass), number=1, status="recorded")
            for i, category in enumerate(CATEGORIES[:SESSIONS_PER_CLASS]):
                version.sessions.append(PlanSession(
                    date=start + timedelta(days=i), start_time=time(8, 30), end_time=time(12, 15),
                    category=category, topic=f"{category} 第{i + 1}讲 数控车床编程与加工工艺",
                    teacher=practical if category == "practical" else theory, site=site))
            for _ in range(TRAINEES_PER_CLASS):
                serial += 1
                born = date(1976, 1, 1) + timedelta(days=serial)  # distinct: unique ID numbers
                number = synthetic_id_number("370702", born, rng.randrange(1000))
                trainee = Trainee(
                    name=f"学员{serial:05d}", gender="男", id_number_enc=encrypt_id_number(number),
                    id_number_hash=id_number_hash(number),
                    id_masked=mask_id_number(number), birth_date=born, education="高中",
                    occupation_name="车工", certificate_level="高级工",
                    certificate_date=date(2015, 6, 1), employer="潍柴动力股份有限公司",
                    employer_kind="企业")
                version.enrollments.append(Enrollment(trainee=trainee))
            db.session.add(klass)
            versions.append(version)
        db.session.flush()
        for version in versions:
            publish_plan_version(version)
        db.session.commit()
        first = versions[0]
        out.class_id = str(first.plan.training_class.id)
        out.plan_version_id = str(first.id)
        out.trainee_ids = [str(e.trainee_id) for e in first.enrollments]
        out.trainees = db.session.query(Trainee).count()
        out.sessions = db.session.query(PlanSession).count()
        db.session.remove()
        db.engine.dispose()
    return out
