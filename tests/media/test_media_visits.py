"""A visit is complete only when all its media are: photos may arrive before or after the record."""

from __future__ import annotations

import hashlib
import io
import uuid

from PIL import Image

from tests.media.tus_client import Tus, make_jpeg
from tests.sync.client import visit_payload
from tests.sync.fixtures import phone, today_session


def make_signature_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def push_visit(client, world, photo: bytes, signature: bytes) -> uuid.UUID:
    """Push a sealed visit naming one photo and one signature; return its id."""
    device = phone(client)
    visit_id = uuid.uuid4()
    device.add_visit(visit_payload(
        class_id=world.classes["a"].id, session=today_session(world),
        plan_version_id=world.versions["a"].id, site=world.sites["a"],
        photos=[hashlib.sha256(photo).hexdigest()],
        signatures=[hashlib.sha256(signature).hexdigest()],
    ), visit_id=visit_id)
    status, body = device.push()
    assert status == 200 and body["results"][0]["status"] in ("applied", "flagged"), body
    return visit_id


def media_complete(client, headers, visit_id) -> bool:
    response = client.get("/api/v1/visits", headers=headers)
    assert response.status_code == 200
    [visit] = [v for v in response.get_json()["visits"] if v["id"] == str(visit_id)]
    return visit["media_complete"]


def upload(tus: Tus, data: bytes, mime: str) -> None:
    location = tus.create(data, mime=mime).headers["Location"]
    assert tus.patch(location, 0, data).status_code == 204


def test_media_uploaded_after_the_visit_record_completes_it(client, api, world):
    photo, signature = make_jpeg(seed=7), make_signature_png()
    visit_id = push_visit(client, world, photo, signature)
    headers = api.headers("inspector_a", device_id="phone-a2")
    tus = Tus(client, headers)
    assert media_complete(client, headers, visit_id) is False
    upload(tus, photo, "image/jpeg")
    assert media_complete(client, headers, visit_id) is False  # the signature is still missing
    upload(tus, signature, "image/png")
    assert media_complete(client, headers, visit_id) is True


def test_media_uploaded_before_the_visit_record_counts_at_once(client, api, world):
    photo, signature = make_jpeg(seed=8), make_signature_png()
    headers = api.headers("inspector_a", device_id="phone-a2")
    tus = Tus(client, headers)
    upload(tus, photo, "image/jpeg")
    upload(tus, signature, "image/png")
    visit_id = push_visit(client, world, photo, signature)
    assert media_complete(client, headers, visit_id) is True


def test_a_sign_in_s_signature_not_yet_uploaded_leaves_the_visit_incomplete(client, api, world):
    # One answer to "which files make this visit whole" (visits.media_hashes): the visit list
    # and the visit page's seal panel both wait for a trainee's signature on a sign-in too.
    from server.extensions import db
    from server.models import Visit
    from server.services.review import seal_state

    photo, signature = make_jpeg(seed=9), make_signature_png()
    image = io.BytesIO()
    Image.new("RGB", (90, 30), (250, 250, 250)).save(image, "PNG")
    trainee_signature = image.getvalue()
    headers = api.headers("inspector_a", device_id="phone-a2")
    tus = Tus(client, headers)
    upload(tus, photo, "image/jpeg")
    upload(tus, signature, "image/png")
    visit_id = push_visit(client, world, photo, signature)
    device = phone(client, device_id="phone-a3")
    device.add_signin(visit_id=visit_id, class_id=world.classes["a"].id,
                      trainee_id=world.trainees[0].id,
                      signature_sha256=hashlib.sha256(trainee_signature).hexdigest())
    status, body = device.push()
    assert body["results"][0]["status"] in ("applied", "flagged"), body
    assert media_complete(client, headers, visit_id) is False
    assert seal_state(db.session.get(Visit, visit_id))["media_missing"] == [
        hashlib.sha256(trainee_signature).hexdigest()]
    upload(tus, trainee_signature, "image/png")
    assert media_complete(client, headers, visit_id) is True
