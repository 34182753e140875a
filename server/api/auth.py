"""Bearer-token login and the decorator that guards every API view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, g, request

from schemas.auth import TokenRequestSchema, TokenResponseSchema
from schemas.common import load_or_422
from server.api.docs import api_doc
from server.errors import ApiError
from server.extensions import db
from server.services import auth as auth_service

bp = Blueprint("api_auth", __name__, url_prefix="/auth")


def token_required(*roles: str) -> Callable:
    """Require a live bearer token (and one of the roles, if given); sets g.user and g.device_id."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise ApiError("auth.required")
            token = auth_service.resolve_token(header[len("Bearer "):].strip())
            g.user = token.user
            g.token = token
            g.device_id = token.device_id
            if roles and g.user.role not in roles:
                raise ApiError("forbidden")
            return view(*args, **kwargs)

        wrapper.__required_roles__ = roles
        return wrapper

    return decorate


@bp.post("/token")
@api_doc("Log in and get a bearer token for this device", body=TokenRequestSchema,
         responses={200: TokenResponseSchema}, auth=False, tags=["auth"])
def create_token():
    """Exchange username, password and device id for a bearer token."""
    data = load_or_422(TokenRequestSchema(), request.get_json(silent=True))
    user = auth_service.authenticate(data["username"], data["password"], ip=request.remote_addr)
    raw, token = auth_service.issue_token(user, data["device_id"])
    db.session.commit()
    return TokenResponseSchema().dump({"token": raw, "expires_at": token.expires_at,
                                       "device_key": token.device_key, "user": user})


@bp.post("/revoke")
@token_required()
@api_doc("Revoke every token of this device (log out)", responses={204: None}, tags=["auth"])
def revoke_token():
    """Revoke the calling device's tokens."""
    auth_service.revoke_device_tokens(g.user, g.device_id)
    db.session.commit()
    return "", 204
