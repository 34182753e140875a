"""Bearer-token login and the decorator that guards every API view."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, g, request

from schemas.auth import (
    PasswordChangeSchema,
    RevokedSchema,
    TokenRequestSchema,
    TokenResponseSchema,
    UserDevicesSchema,
)
from schemas.common import load_or_422
from server.api.docs import api_doc
from server.errors import ApiError
from server.extensions import db
from server.models import User
from server.services import auth as auth_service

bp = Blueprint("api_auth", __name__, url_prefix="/auth")
# An administrator's view of other users' devices and sessions.
users_bp = Blueprint("api_users", __name__, url_prefix="/users")


def token_required(*roles: str) -> Callable:
    """Require a live bearer token (and one of the roles, if given); sets g.user and g.device_id."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise ApiError("auth.required")
            g.user, g.device_id = auth_service.resolve_token(header[len("Bearer "):].strip())
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


@bp.post("/password")
@token_required()
@api_doc("Change one's own password; every session and token of the account ends (this one too)",
         body=PasswordChangeSchema, responses={204: None}, tags=["auth"])
def change_password():
    """Change the caller's password."""
    data = load_or_422(PasswordChangeSchema(), request.get_json(silent=True))
    auth_service.change_password(g.user, data["new_password"],
                                 current_password=data["current_password"],
                                 ip=request.remote_addr)
    db.session.commit()
    return "", 204


def _managed_user(user_id: uuid.UUID):
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError("not_found")
    return user


@users_bp.get("/<uuid:user_id>/devices")
@token_required("city_admin")
@api_doc("A user's devices (tokens by device id) and page sessions",
         responses={200: UserDevicesSchema},
         tags=["auth"])
def list_devices(user_id: uuid.UUID):
    """List a user's devices and page sessions."""
    return UserDevicesSchema().dump(auth_service.user_devices(_managed_user(user_id)))


@users_bp.post("/<uuid:user_id>/devices/<device_id>/revoke")
@token_required("city_admin")
@api_doc("Revoke every token of one of a user's devices (a lost phone)",
         responses={200: RevokedSchema}, tags=["auth"])
def revoke_device(user_id: uuid.UUID, device_id: str):
    """Revoke one device of a user."""
    count = auth_service.revoke_device_tokens(_managed_user(user_id), device_id[:64])
    db.session.commit()
    return RevokedSchema().dump({"revoked": count})


@users_bp.post("/<uuid:user_id>/revoke")
@token_required("city_admin")
@api_doc("End every page session and revoke every token of a user",
         responses={200: RevokedSchema}, tags=["auth"])
def revoke_all(user_id: uuid.UUID):
    """End every session and token of a user."""
    count = auth_service.end_all_sessions(_managed_user(user_id), actor=g.user)
    db.session.commit()
    return RevokedSchema().dump({"revoked": count})
