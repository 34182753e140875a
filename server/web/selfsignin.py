"""Self sign-in pages on the trainee's own phone: /s/<code> (学员扫码自助签到)."""

from __future__ import annotations

import secrets

from flask import Blueprint, g, render_template, request
from marshmallow import ValidationError

from schemas.signin import SelfSignInFormSchema
from server.errors import ApiError
from server.extensions import db
from server.i18n import flag_text, has_message, translate
from server.services import selfsignin as service

bp = Blueprint("selfsignin", __name__, url_prefix="/s")
DEVICE_COOKIE = "sc_dev"


def _device_id() -> str:
    """The phone's id: a random cookie set on first scan (a proxy's phone keeps the same one)."""
    if "device_cookie" not in g:
        cookie = request.cookies.get(DEVICE_COOKIE, "")
        g.device_cookie = cookie if 16 <= len(cookie) <= 48 and cookie.isascii() else ""
        g.new_device_cookie = not g.device_cookie
        g.device_cookie = g.device_cookie or secrets.token_urlsafe(24)
    return "web:" + g.device_cookie


@bp.before_request
def forget_device():
    """Start each request without a remembered device (g can outlive a request in tests)."""
    g.pop("device_cookie", None)
    g.pop("new_device_cookie", None)


@bp.after_request
def set_device_cookie(response):
    """Give a phone its device cookie the first time it opens a sign-in page."""
    if g.get("new_device_cookie"):
        response.set_cookie(DEVICE_COOKIE, g.device_cookie, max_age=365 * 24 * 3600,
                            httponly=True, samesite="Lax")
    return response


@bp.errorhandler(ApiError)
def refused(error: ApiError):
    """Answer a refusal (expired code, not on the roster ...) with a page in plain Chinese."""
    db.session.rollback()
    return render_template("selfsignin/refused.html", error=error), error.status


@bp.errorhandler(ValidationError)
def invalid_form(error: ValidationError):
    """Show the form again with what is wrong beside each field."""
    db.session.rollback()
    code = (request.view_args or {}).get("code", "")
    return render_template("selfsignin/form.html", code=code, ticket=request.form.get("ticket", ""),
                           errors=error.normalized_messages(), form=request.form), 422


@bp.get("/<code>")
def form(code: str):
    """Check the scanned code is fresh and show the sign-in form."""
    decoded = service.check_code(code, device_id=_device_id())
    return render_template("selfsignin/form.html", code=code, errors={}, form={},
                           ticket=service.issue_form_ticket(code),
                           class_name=service.class_name(decoded.class_id))


@bp.post("/<code>")
def submit(code: str):
    """Record the trainee's sign-in; the answer says what, if anything, was flagged."""
    data = SelfSignInFormSchema().load(request.form.to_dict())
    service.redeem_form_ticket(data["ticket"], code)
    signin = service.record_self_signin(
        service.decode_code(code), name=data["name"], id_last6=data["id_last6"],
        signature_png=data["signature_png"], gps=data["gps"], device_id=_device_id(),
        address=request.remote_addr,
    )
    db.session.commit()
    # Worded for the trainee where the catalogue has such words, else the reviewers' words.
    notes = [translate(f"selfsignin.flag.{flag}") if has_message(f"selfsignin.flag.{flag}")
             else flag_text(flag) for flag in signin.flags]
    return render_template("selfsignin/done.html", name=data["name"], notes=notes, at=signin.at)
