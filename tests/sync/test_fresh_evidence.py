"""Fresh evidence: a GPS fix, a photo (its EXIF capture time, sealed as taken_at) or a sign-in
captured outside the visit, beyond EVIDENCE_TOLERANCE_MINUTES, cannot verify it: the place check
is unverifiable and the record is flagged evidence.stale."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from server.extensions import db
from server.models import Visit
from tests.sync.client import seal, utc_iso, visit_payload
from tests.sync.fixtures import phone, today_session


def _payload(world, **changes):
    payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                            plan_version_id=world.versions["a"].id, site=world.sites["a"])
    payload.update(changes)
    return seal(payload)


def _started(payload) -> datetime:
    return datetime.fromisoformat(payload["started_at"].replace("Z", "+00:00"))


def _push_one(device, payload):
    visit_id = uuid.uuid4()
    device.add_visit(payload, visit_id=visit_id)
    status, body = device.push()
    return body["results"][-1], db.session.get(Visit, visit_id)


def test_a_photo_taken_long_before_the_visit_cannot_verify_it(client, world):
    device = phone(client)
    base = _payload(world)
    old = utc_iso(_started(base) - timedelta(days=3))
    photo = {"sha256": hashlib.sha256(b"old photo").hexdigest(), "taken_at": old}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert result["status"] == "flagged" and "evidence.stale" in result["flags"]
    assert visit.checks["place"]["status"] == "unverifiable"
    assert visit.payload["photos"][0]["taken_at"] == old  # kept, sealed, as evidence


def test_a_photo_taken_during_the_visit_is_fine(client, world):
    device = phone(client)
    base = _payload(world)
    during = utc_iso(_started(base) + timedelta(minutes=5))
    photo = {"sha256": hashlib.sha256(b"fresh photo").hexdigest(), "taken_at": during}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert "evidence.stale" not in (result.get("flags") or [])
    assert visit.checks["place"]["status"] == "match"


def test_a_sign_in_from_another_time_cannot_verify_the_visit(client, world):
    device = phone(client)
    base = _payload(world)
    visit_id = uuid.uuid4()
    signin = device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                               trainee_id=world.trainees[0].id,
                               at=_started(base) - timedelta(hours=6))
    device.add_visit(seal({**base, "signins": [signin["entity_id"]]}), visit_id=visit_id)
    status, body = device.push()
    assert "evidence.stale" in body["results"][-1]["flags"]
    assert db.session.get(Visit, visit_id).checks["place"]["status"] == "unverifiable"


def test_the_tolerance_is_configurable(app, client, world):
    app.config["EVIDENCE_TOLERANCE_MINUTES"] = 24 * 60 * 7
    device = phone(client)
    base = _payload(world)
    old = utc_iso(_started(base) - timedelta(days=3))
    photo = {"sha256": hashlib.sha256(b"old photo").hexdigest(), "taken_at": old}
    result, visit = _push_one(device, seal({**base, "photos": [photo]}))
    assert "evidence.stale" not in (result.get("flags") or [])
