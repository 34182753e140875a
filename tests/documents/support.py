"""Helpers for the document tests: sealed visits with stored media, assessment results."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw

from server.extensions import db
from server.models import Media, SignIn, Visit
from sync.canonical import compute_seal
from tests.factories import World

INSPECTOR_NAME = "王检查"
BASE_REP_NAME = "李负责"


def store_media(data: bytes, mime: str) -> str:
    """Put a file where the media store keeps it and add its Media row; return its hash."""
    sha = hashlib.sha256(data).hexdigest()
    folder = current_app.config["MEDIA_DIR"]
    path = Path(folder) / sha[:2]
    path.mkdir(parents=True, exist_ok=True)
    (path / sha).write_bytes(data)
    if db.session.get(Media, sha) is None:
        db.session.add(Media(sha256=sha, mime=mime, size=len(data)))
    return sha


def photo_bytes(colour: str, label: str) -> bytes:
    """A small JPEG photo with a coloured background."""
    image = Image.new("RGB", (640, 480), colour)
    ImageDraw.Draw(image).rectangle((40, 40, 300, 200), fill="white")
    ImageDraw.Draw(image).text((60, 60), label, fill="black")
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def signature_bytes(seed: int) -> bytes:
    """A transparent PNG with a scribble, like the phone's signature pad makes."""
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 28, 100 + ((i * seed) % 7 - 3) * 18) for i in range(20)]
    draw.line(points, fill=(10, 10, 60, 255), width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_visit(world: World, key: str = "a", *, session_index: int = 3, mismatch: bool = True,
               with_media: bool = True, signed_trainees: int = 4) -> Visit:
    """Add a sealed visit to the class of county `key`, as B1's visit.submit would store it."""
    klass, version = world.classes[key], world.versions[key]
    session = version.sessions[session_index]
    inspector = world.users[f"inspector_{key}"]
    inspector.display_name = INSPECTOR_NAME
    start = datetime.combine(session.date, session.start_time).replace(tzinfo=UTC) - timedelta(
        hours=8) + timedelta(minutes=20)
    photos, signatures = [], []
    if with_media:
        photos = [{"sha256": store_media(photo_bytes(c, f"photo {i}"), "image/jpeg"),
                   "caption": cap}
                  for i, (c, cap) in enumerate([("#3366aa", "课堂全景"), ("#aa6633", "教师授课")])]
        signatures = [
            {"role": "inspector", "name": INSPECTOR_NAME,
             "sha256": store_media(signature_bytes(3), "image/png")},
            {"role": "inspector", "name": "赵同行",
             "sha256": store_media(signature_bytes(5), "image/png")},
            {"role": "base_representative", "name": BASE_REP_NAME,
             "sha256": store_media(signature_bytes(2), "image/png")},
        ]
    visit_id = uuid.uuid4()
    signins = []
    for trainee in [e.trainee for e in version.enrollments][:signed_trainees]:
        signins.append(SignIn(visit_id=visit_id, trainee_id=trainee.id, method="badge",
                              at=start + timedelta(minutes=5), device_id="dev-1"))
    payload = {
        "class_id": str(klass.id), "session_id": str(session.id),
        "plan_version_id": str(version.id),
        "started_at": start.isoformat().replace("+00:00", "Z"),
        "ended_at": (start + timedelta(minutes=50)).isoformat().replace("+00:00", "Z"),
        "gps": {"lat": 36.708, "lon": 119.169, "accuracy": 12.5, "mocked": False,
                "captured_at": (start + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")},
        "observed": {"teacher_matches": not mismatch,
                     "teacher_name": "代课张老师" if mismatch else "",
                     "content_matches": True, "topic": "", "headcount": 4},
        "signins": [str(s.id) for s in signins],
        "findings": [{"code": "teacher_substituted",
                      "text": "授课教师与备案不一致，由代课教师授课"}]
        if mismatch else [],
        "verdict": "issues" if mismatch else "compliant",
        "signatures": signatures, "photos": photos,
    }
    payload["seal"] = compute_seal(payload)
    checks = {
        "place": {"status": "mismatch" if mismatch else "match",
                  "reason": "定位在培训场所范围外" if mismatch else "", "distance_m": 714.2},
        "time": {"status": "match", "reason": ""},
        "teacher": {"status": "mismatch" if mismatch else "match",
                    "reason": "检查员确认非备案教师" if mismatch else ""},
        "content": {"status": "match", "reason": ""},
        "attendance": {"status": "unverifiable", "reason": "部分学员未签到"},
    }
    visit = Visit(id=visit_id, class_id=klass.id, session_id=session.id,
                  plan_version_id=version.id, inspector_id=inspector.id,
                  device_id="dev-inspector-a",
                  started_at=start, ended_at=start + timedelta(minutes=50),
                  received_at=start + timedelta(hours=2), verdict=payload["verdict"],
                  payload=payload, seal=payload["seal"], checks=checks,
                  flags=["place_mismatch"] if mismatch else [])
    db.session.add(visit)
    db.session.add_all(signins)
    db.session.commit()
    return visit


def record_results(world: World, key: str, passed: int, failed: int = 0,
                   on: date = date(2026, 12, 20)) -> None:
    """Record results for the first trainees of a class's roster: `passed` pass, `failed` fail."""
    from server.services.assessment import record_result

    klass = world.classes[key]
    trainees = sorted((e.trainee for e in world.versions[key].enrollments), key=lambda t: t.name)
    for i, trainee in enumerate(trainees[:passed + failed]):
        ok = i < passed
        record_result(klass, trainee, passed=ok, assessed_on=on,
                      certificate_no=f"CERT-{key}-{i:03d}" if ok else "")
    db.session.commit()
