"""Log in and out of the pages (session cookie, CSRF-protected form), and the home page."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from schemas.auth import PasswordChangeSchema
from schemas.common import load_or_422
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate
from server.security import SESSION_ID_KEY
from server.services import auth as auth_service
from server.web.forms import form_values
from server.web.icons import SIZES, icon_png

bp = Blueprint("web", __name__)


# Where each role starts: reviewers at the bureau dashboard, bases at their plans,
# inspectors in the field app (they work on phones).
START_PAGES = {
    "city_admin": "bureau.dashboard",
    "county_admin": "bureau.dashboard",
    "base_staff": "bureau.dashboard",
    "inspector": "pwa.shell",
}


@bp.get("/")
def home():
    """Send people to their start page."""
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return redirect(url_for(START_PAGES.get(current_user.role, "web.login")))


def _png(size: int) -> Response:
    response = Response(icon_png(size), mimetype="image/png")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 24 * 3600
    return response


@bp.get("/favicon.ico")
def favicon():
    """The favicon browsers ask for by themselves (a PNG: every current browser reads it)."""
    return _png(32)


@bp.get("/icons/<int:size>.png")
def icon(size: int):
    """The pages' icon (tab, home screen) in one of the drawn sizes."""
    if size not in SIZES:
        raise ApiError("not_found")
    return _png(size)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log in."""
    if request.method == "POST":
        try:
            user = auth_service.authenticate(
                request.form.get("username", ""), request.form.get("password", ""),
                ip=request.remote_addr,
            )
        except ApiError as error:
            db.session.rollback()
            locked = error.code in {"auth.locked", "rate_limited"}
            flash(error.message if locked else translate("login.failed"), "error")
            return render_template("login.html"), 401 if error.status == 401 else error.status
        _open_session(user)
        return redirect(url_for("web.home"))
    return render_template("login.html")


def _open_session(user) -> None:
    """Start a fresh server-side page session for the user (a new id: no session fixation)."""
    sid = auth_service.start_web_session(user, request.user_agent.string)
    db.session.commit()
    session.clear()
    login_user(user)
    session[SESSION_ID_KEY] = sid


@bp.post("/logout")
@login_required
def logout():
    """Log out: the page session ends on the server, so its cookie is worthless from now on."""
    auth_service.end_web_session(session.get(SESSION_ID_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; every other session and device of the account ends."""
    if request.method == "POST":
        form = load_or_422(PasswordChangeSchema(), form_values(PasswordChangeSchema()))
        try:
            auth_service.change_password(current_user, form["new_password"],
                                         current_password=form["current_password"],
                                         ip=request.remote_addr)
        except ApiError as error:
            db.session.rollback()
            wrong = error.code == "auth.invalid_credentials"
            flash(translate("password.wrong_current") if wrong else error.message, "error")
            return render_template("account_password.html"), error.status
        db.session.commit()
        _open_session(current_user._get_current_object())
        flash(translate("password.changed"))
        return redirect(url_for("web.home"))
    return render_template("account_password.html")
