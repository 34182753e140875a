"""`flask verify` catches a tampered visit row and a tampered media file."""

from __future__ import annotations

import hashlib
import io
import uuid

from PIL import Image
from sqlalchemy import update

from server.extensions import db
from server.models import Media, Visit
from server.services.media_store import media_path
from sync.canonical import compute_seal
from tests.sync.client import visit_payload
from tests.sync.fixtures import phone, today_session


def store_png(color: str) -> str:
    """Put a real PNG into the media store with its Media row; return its SHA-256."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "PNG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    path = media_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.add(Media(sha256=sha, mime="image/png", size=len(data)))
    db.session.commit()
    return sha


def push_visit(client, world, photos) -> uuid.UUID:
    visit_id = uuid.uuid4()
    device = phone(client, device_id=f"phone-{visit_id}")
    device.add_visit(visit_payload(class_id=world.classes["a"].id, session=today_session(world),
                                   plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                   headcount=0, photos=photos), visit_id=visit_id)
    assert device.push()[1]["results"][0]["status"] in ("applied", "flagged")
    return visit_id


def test_verify_passes_on_intact_records(client, runner, world):
    photo = store_png("red")
    push_visit(client, world, [photo])
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "1 visits and 1 files intact" in result.output


def test_verify_names_a_visit_whose_row_was_changed(client, runner, world):
    visit_id = push_visit(client, world, [])
    other = push_visit(client, world, [])
    visit = db.session.get(Visit, visit_id)
    changed = {**visit.payload, "verdict": "issues"}
    db.session.execute(update(Visit).where(Visit.id == visit_id).values(payload=changed))
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"visit {visit_id}: seal mismatch" in result.output
    assert str(other) not in result.output


def test_verify_names_a_resealed_payload_whose_time_names_no_instant(client, runner, world):
    # Someone rewrote the payload and its plain SHA-256 seal: the shown start time no longer
    # matches it, and a sealed time that does not parse is a difference, not a crash of verify.
    visit_id = push_visit(client, world, [])
    visit = db.session.get(Visit, visit_id)
    changed = {k: v for k, v in visit.payload.items() if k != "seal"}
    changed["started_at"] = "2026-13-45T99:00:00Z"
    changed["seal"] = compute_seal(changed)
    db.session.execute(update(Visit).where(Visit.id == visit_id)
                       .values(payload=changed, seal=changed["seal"]))
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1, result.output
    assert f"visit {visit_id}: shown values differ from the sealed payload (started_at)" \
        in result.output


def test_verify_names_a_media_file_whose_bytes_changed_or_vanished(client, runner, world):
    kept, changed, gone = store_png("red"), store_png("green"), store_png("blue")
    push_visit(client, world, [kept, changed, gone])
    media_path(changed).write_bytes(b"\x89PNG tampered")
    media_path(gone).unlink()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"media {changed}: content hash is" in result.output
    assert f"media {gone}: file missing" in result.output
    assert kept not in result.output
    assert "2 problem(s)" in result.output


def test_a_payload_whose_own_seal_was_changed_is_broken_on_every_page(client, runner, world):
    # The column and the recomputed seal agree, the seal inside the payload does not: the visit
    # page, its PDF and verify give the one answer (record_seal.payload_seal_state).
    from server.services.documents.visit_pdf import seal_state as pdf_seal_state
    from server.services.review import seal_state as page_seal_state

    visit_id = push_visit(client, world, [])
    visit = db.session.get(Visit, visit_id)
    assert page_seal_state(visit)["intact"] and pdf_seal_state(visit)[1]
    changed = {**visit.payload, "seal": "0" * 64}
    db.session.execute(update(Visit).where(Visit.id == visit_id).values(payload=changed))
    db.session.commit()
    db.session.expire_all()
    visit = db.session.get(Visit, visit_id)
    assert page_seal_state(visit)["intact"] is False
    assert pdf_seal_state(visit)[1] is False
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"visit {visit_id}: seal mismatch" in result.output
