"""Helpers for sign-in tests: an inspector's device token, rotating codes, signature PNGs."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

from PIL import Image, ImageDraw
from sqlalchemy import select

from server.extensions import db
from server.models import ApiToken, Visit
from server.services.idcard import normalise_id_number
from server.services.pii import decrypt_id_number
from server.services.selfsignin import make_code

TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def inspector_token(api, username: str = "inspector_a", device_id: str = "phone-1") -> ApiToken:
    """Log an inspector in through the real endpoint; return the device's ApiToken row."""
    api.token(username, device_id=device_id)
    return db.session.scalars(select(ApiToken).where(ApiToken.device_id == device_id)
                              .order_by(ApiToken.created_at.desc())).first()


def code_for(token: ApiToken, class_id: uuid.UUID, visit_id: uuid.UUID,
             at: datetime | None = None) -> str:
    """The code the inspector's phone shows at `at` (now by default)."""
    return make_code(token, class_id, visit_id, at or datetime.now(UTC))


def signature_png() -> bytes:
    """A small signature-like PNG."""
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).line([(10, 60), (80, 20), (150, 100), (290, 30)], fill="black", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def signature_data_url() -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(signature_png()).decode()


def last6(trainee) -> str:
    """The last 6 characters of a trainee's ID number (what the trainee types)."""
    return normalise_id_number(decrypt_id_number(trainee.id_number_enc))[-6:]


def self_sign_in(client, code: str, trainee, *, lat: float | None, lon: float | None,
                 accuracy: float = 10.0, name: str | None = None, id_last6: str | None = None):
    """Open /s/<code> and submit the form as the trainee would; return the POST response."""
    page = client.get(f"/s/{code}")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    ticket = TICKET.search(page.get_data(as_text=True)).group(1)
    form = {
        "ticket": ticket, "name": name if name is not None else trainee.name,
        "id_last6": id_last6 if id_last6 is not None else last6(trainee),
        "signature": signature_data_url(),
        "lat": "" if lat is None else str(lat), "lon": "" if lon is None else str(lon),
        "accuracy": str(accuracy),
    }
    return client.post(f"/s/{code}", data=form)


def make_visit(world, key: str = "a", headcount: int | None = None,
               visit_id: uuid.UUID | None = None) -> Visit:
    """A visit row of class `key` checked against its filed version."""
    version = world.versions[key]
    visit = Visit(
        id=visit_id or uuid.uuid4(), class_id=world.classes[key].id, plan_version_id=version.id,
        inspector_id=world.users[f"inspector_{key}"].id, device_id="phone-1",
        started_at=datetime.now(UTC), verdict="pass",
        payload={} if headcount is None else {"headcount": headcount}, seal="0" * 64,
    )
    db.session.add(visit)
    db.session.commit()
    return visit
