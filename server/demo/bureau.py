"""Demo data for the bureau side: a year in progress (an EXTRA_LOADER of demo_data).

Dated relative to the day of loading. For 奎文区, 高新区 and 青州市 a draw was made ten days
ago for the ten days just past (its seed is now revealed); its visits were done and pushed
through the real sync path (sealed payloads, sign-ins, photos and signatures): some compliant,
some with mismatches. 奎文区 also has a draw for the coming month (seed still sealed) whose
assignments sit on the inspectors' phones. One compliant visit is accepted; one with a wrong
teacher carries an open 限期整改 for 潍坊市技师学院 to answer (login `base`).
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from server.demo.calendar import demo_day
from server.demo.data import DEMO_PASSWORD
from server.errors import ApiError
from server.extensions import db
from server.models import (
    Assignment,
    Draw,
    Enrollment,
    User,
    Visit,
)
from server.services.auth import create_user
from server.services.clock import local_instant, local_today
from server.services.draw import draw_assignments, draw_visits, find_county
from server.services.review import accept_visit, open_rectification, store_media_bytes
from server.services.sync_store import push
from sync.canonical import compute_seal

# County → its two inspectors (奎文区's come with the filing demo).
TEAMS = {
    "奎文区": ("inspector", "inspector2"),
    "高新区": ("inspector_gaoxin", "inspector_gaoxin2"),
    "青州市": ("inspector_qingzhou", "inspector_qingzhou2"),
}
# What the inspectors saw, by class occupation (anything else was compliant).
MISMATCHES = {
    "维修电工": {"teacher_matches": False, "teacher_name": "赵明（非备案教师）", "absent": 6},
    "化工总控工": {"content_matches": False, "topic": "自习（计划为化工单元操作）", "absent": 2},
}


def _png(colour: tuple[int, int, int], text_lines: int, seed: int, size=(320, 240)) -> bytes:
    """A small synthetic picture (demo photos and signatures are drawn, not taken)."""
    image = Image.new("RGB", size, colour)
    pen = ImageDraw.Draw(image)
    for i in range(text_lines):
        y = 20 + i * 30
        pen.line([(20, y), (size[0] - 20 - (seed * 13 + i * 29) % 80, y + (seed + i) % 9)],
                 fill=(40, 40, 40), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ensure_inspectors() -> None:
    for county, usernames in TEAMS.items():
        for number, username in enumerate(usernames, start=1):
            if db.session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(username, DEMO_PASSWORD, "inspector", county_name=county,
                            display_name=f"{county}抽查员（{number}）")
    db.session.flush()


def _visit(assignment: Assignment, index: int) -> uuid.UUID:
    """Push a sealed visit of a drawn session, with sign-ins, through the sync service."""
    session = assignment.session
    klass = assignment.training_class
    version = session.plan_version
    team = sorted(assignment.inspectors, key=lambda u: u.username)
    inspector = team[0]
    wrong = MISMATCHES.get(klass.occupation.name, {})
    started = local_instant(session.date, session.start_time) + timedelta(minutes=35)
    received = started + timedelta(hours=3)
    roster = db.session.scalars(select(Enrollment.trainee_id)
                                .where(Enrollment.plan_version_id == version.id)).all()
    present = sorted(roster, key=str)[: max(0, len(roster) - wrong.get("absent", 0))]
    visit_id = uuid.uuid4()
    # Each visit's files are its own (a visit may cite only its own inspectors' uploads).
    photos = [{"sha256": store_media_bytes(_png((200, 215, 230), 4, index * 3 + n), "image/png",
                                           inspector), "caption": caption}
              for n, caption in enumerate(["教室全景", "教师授课", "签到现场"])]
    # Each visit's own pictures (seeded by its index): a file is its uploader's evidence only.
    def signature(lines: int, seed: int) -> str:
        return store_media_bytes(_png((255, 255, 255), lines, index * 10 + seed, (300, 100)),
                                 "image/png", inspector)

    signatures = [{"role": "inspector", "name": u.display_name, "sha256": signature(1, n)}
                  for n, u in enumerate(team)]
    signatures.append({"role": "base_representative", "name": "王建国", "sha256": signature(2, 7)})
    site = session.site
    payload: dict[str, Any] = {
        "class_id": str(klass.id), "session_id": str(session.id),
        "assignment_id": str(assignment.id), "plan_version_id": str(version.id),
        "started_at": _utc(started), "ended_at": _utc(started + timedelta(minutes=50)),
        "gps": {"lat": site.lat + 0.0002, "lon": site.lon, "accuracy": 12.0,
                "captured_at": _utc(started), "mocked": False},
        "observed": {"teacher_matches": wrong.get("teacher_matches", True),
                     "teacher_name": wrong.get("teacher_name", session.teacher.name),
                     "content_matches": wrong.get("content_matches", True),
                     "topic": wrong.get("topic", session.topic), "headcount": len(roster)},
        "signins": [], "verdict": "issues" if wrong else "compliant",
        "findings": [{"code": "other", "text": "授课教师与备案不符" if "teacher_name" in wrong
                      else "授课内容与计划不符"}] if wrong else [],
        "signatures": signatures, "photos": photos,
    }
    mutations = []
    for n, trainee_id in enumerate(present, start=1):
        signin_id = str(uuid.uuid4())
        payload["signins"].append(signin_id)
        mutations.append({"mutation_id": str(uuid.uuid4()), "seq": n, "type": "signin.create",
                          "entity_id": signin_id, "client_time": received, "base": {},
                          "payload": {"visit_id": str(visit_id), "class_id": str(klass.id),
                                      "trainee_id": str(trainee_id), "method": "manual",
                                      "at": _utc(started + timedelta(minutes=5 + n % 20))}})
    payload["seal"] = compute_seal(payload)
    mutations.append({"mutation_id": str(uuid.uuid4()), "seq": len(mutations) + 1,
                      "type": "visit.submit", "entity_id": str(visit_id), "client_time": received,
                      "base": {"plan_version_id": str(version.id)}, "payload": payload})
    response = push(inspector, f"demo-{inspector.username}-{index}", mutations, now=received,
                    commit=False)
    refused = [r for r in response.results if r["status"] == "rejected"]
    if refused:
        raise RuntimeError(f"demo visit refused: {refused}")
    assignment.status = "done"
    return visit_id


def _draw(county_name: str, start: date, end: date, *, today: date, **kwargs) -> Draw | None:
    try:
        return draw_visits(find_county(county_name), start, end, today=today, **kwargs)
    except ApiError as error:
        if error.code != "draw.nothing_to_draw":
            raise
        return None


def load_demo_bureau(today: date | None = None) -> None:
    """Add draws, visits, a decision and an open rectification to the filing demo."""
    if db.session.scalar(select(Draw.id).limit(1)) is not None:
        return
    today = today or demo_day() or local_today()
    _ensure_inspectors()
    county_admin = db.session.scalar(select(User).where(User.username == "county"))
    drawn_at = local_instant(today - timedelta(days=10), time(9)).astimezone(UTC)
    visits: list[Visit] = []
    index = 0
    for county_name in TEAMS:
        draw = _draw(county_name, today - timedelta(days=10), today - timedelta(days=1),
                     today=today - timedelta(days=10), now=drawn_at)
        for assignment in draw_assignments(draw) if draw else []:
            index += 1
            visits.append(db.session.get(Visit, _visit(assignment, index)))
    _draw("奎文区", today, today + timedelta(days=30), actor=county_admin, today=today,
          now=local_instant(today, time(9)).astimezone(UTC))
    kuiwen = [v for v in visits if v.training_class.base.county.name == "奎文区"]
    for visit in kuiwen:
        if visit.verdict == "compliant":
            accept_visit(county_admin, visit, "现场情况与备案计划一致")
        else:
            open_rectification(county_admin, visit, "deadline",
                               "抽查发现授课教师与备案教学计划不一致，且 6 "
                               "名学员缺勤。请于期限内更换为备案教师，"
                               "补齐缺勤学员课时，并提交整改报告及签到表。",
                               deadline=today + timedelta(days=14), today=today)
    db.session.flush()
