"""The authorised, audited view of a trainee's full ID number."""

from __future__ import annotations

import uuid

from flask import Blueprint, g

from schemas.trainees import TraineeIdentitySchema
from server.api.auth import token_required
from server.api.docs import api_doc
from server.extensions import db
from server.services.trainees import UNMASK_ROLES, reveal_identity

bp = Blueprint("api_trainees", __name__, url_prefix="/trainees")


@bp.get("/<uuid:trainee_id>/identity")
@token_required(*UNMASK_ROLES)
@api_doc("A trainee's unmasked ID number (reviewers in scope; audited)",
         responses={200: TraineeIdentitySchema}, tags=["trainees"])
def trainee_identity(trainee_id: uuid.UUID):
    """Return the unmasked identity and audit the read."""
    identity = reveal_identity(g.user, trainee_id, g.device_id)
    db.session.commit()
    return TraineeIdentitySchema().dump(identity)
