"""signin.create with a QR badge: genuine badges sign in, forged or foreign ones are rejected."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.extensions import db
from server.models import SignIn
from server.services.badges import sign_badge
from tests.sync.fixtures import phone


def test_badge_signins_genuine_forged_and_foreign(client, world):
    device = phone(client)
    klass, other_class = world.classes["a"], world.classes["b"]
    trainee, other = world.trainees[0], world.trainees[1]
    visit_id = uuid.uuid4()
    genuine = sign_badge(trainee.id, klass.id)
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    good = device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=None, method="badge",
                             badge_token=genuine)
    device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=None, method="badge",
                      badge_token=forged)
    device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=None, method="badge",
                      badge_token=sign_badge(trainee.id, other_class.id))
    device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=other.id, method="badge",
                      badge_token=genuine)
    device.add_signin(visit_id=visit_id, class_id=klass.id, trainee_id=None, method="badge")
    results = device.push()[1]["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected", "rejected",
                                              "rejected"]
    assert [r.get("code") for r in results[1:4]] == ["signin.badge_invalid"] * 3
    assert results[4]["code"] == "validation_error"
    stored = db.session.get(SignIn, uuid.UUID(good["entity_id"]))
    assert stored.trainee_id == trainee.id and stored.method == "badge"
    assert db.session.scalar(select(func.count()).select_from(SignIn)) == 1
