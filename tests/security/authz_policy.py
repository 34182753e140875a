"""Who may call what: the authorization policy of every (endpoint, method) of the app.

tests/test_authz_matrix.py walks `app.url_map` and calls every rule below as every caller
(anonymous, city_admin, county_admin, inspector of a county, city inspector, base_staff) on an
object of the caller's OWN scope and of a FOREIGN scope. An endpoint without a rule here fails
that test, which prints the line to add.

A rule says:
- `who`: PUBLIC (anyone, no login), ANY_USER (any logged-in user) or a set of roles;
- `scope`: how the object the request names relates to the caller. COUNTY: objects of county A
  are own and of county B foreign (city users see every county, base staff only their base);
  OWNER: own = made by the caller, foreign = made by another user; None: the request names no
  object;
- `target(scene, key, username)`: the request for scope `key` ("a" = own, "b" = foreign):
  path parameters and a minimal VALID body (so an allowed caller gets past validation and a
  refused one cannot hide behind a 422). Targets of mutations make a fresh object per call,
  so no call consumes what another needs;
- `ok`: the statuses an allowed caller on an own object must get;
- `effect(scene, call)`: a value that must change when an allowed call succeeds and must not
  change when a call is refused (so a refused page post that redirects proves nothing was done);
- `redirect`: roles sent elsewhere instead of refused (e.g. base staff from the dashboard);
- `foreign_ignored`: a foreign object named in the body is not refused but ignored (the caller's
  own is used instead): the call succeeds and the effect on the foreign object must be nil.

Unannounced stays unannounced: every answer base staff may read is also searched for a pending
re-inspection (its new assignment and the reviewer's comment) and a city covert check not yet
reviewed (scope.can_see_visit, scope.review_status_for, scope.inspectors_for).

Refused means: anonymous → 401 on the API, a redirect to /login on pages; a role not in `who`
→ 403 or 404; an allowed role on a foreign object → 403 or 404 (404 hides existence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

PUBLIC = "public"
ANY_USER = "any_user"
COUNTY = "county"
OWNER = "owner"

REVIEWERS = frozenset({"city_admin", "county_admin"})
FIELD = frozenset({"inspector"})
BASE = frozenset({"base_staff"})


@dataclass
class Call:
    """One request's variable parts: path parameters and what it sends."""

    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None
    data: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


Target = Callable[[Any, str, str], Call]


@dataclass(frozen=True)
class Rule:
    """The policy of one (endpoint, method)."""

    who: str | frozenset[str]
    scope: str | None = None
    target: Target | None = None
    ok: tuple[int, ...] = (200,)
    effect: Callable[[Any, Call], Any] | None = None
    redirect: dict[str, str] = field(default_factory=dict)
    foreign_ignored: bool = False
    note: str = ""


def _today() -> date:
    return date.today()


def _session_item(s, key: str) -> dict[str, Any]:
    """A valid session for a draft of county `key`'s base."""
    return {"date": (_today() + timedelta(days=60)).isoformat(), "start": "08:30", "end": "12:15",
            "category": "theory", "topic": "数控车削", "teacher_id": s.teacher_id(key),
            "site_id": s.site_id(key)}


def _draw_body(s, key: str) -> dict[str, Any]:
    day = s.undrawn_day().isoformat()  # a class is drawn once per period: a day of its own
    return {"county_id": s.county_id(key), "from": day, "to": day}


def _draw_form(s, key: str) -> dict[str, Any]:
    day = s.undrawn_day().isoformat()
    return {"county_id": s.county_id(key), "period_from": day, "period_to": day}


def _class_body(s) -> dict[str, Any]:
    start = _today() + timedelta(days=90)
    return {"name": "授权矩阵班", "occupation_id": s.occupation_id(), "level": 2,
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=60)).isoformat()}


SITE_BODY = {"name": "新实训楼", "address": "某路2号", "lat": 36.71, "lon": 119.16}
TEACHER_BODY = {"name": "新老师", "professional_title": "副高级"}


# fmt: off
POLICY: dict[tuple[str, str], Rule] = {
    # ---- API: auth and documents about the API ------------------------------------------------
    ("api_auth.create_token", "POST"): Rule(
        PUBLIC, target=lambda s, k, u: Call(json=s.login_body()),
        note="the login itself; the body names the account"),
    ("api_auth.revoke_token", "POST"): Rule(ANY_USER, ok=(204,)),
    ("api_auth.change_password", "POST"): Rule(
        ANY_USER, target=lambda s, k, u: Call(json=s.password_change()), ok=(204,),
        effect=lambda s, c: s.password_hashes(),
        note="one's own password (set to the same text: a new hash ends every session)"),
    ("api_users.list_devices", "GET"): Rule(
        frozenset({"city_admin"}), COUNTY, lambda s, k, u: Call({"user_id": s.managed_user(k)[0]})),
    ("api_users.revoke_device", "POST"): Rule(
        frozenset({"city_admin"}), COUNTY,
        lambda s, k, u: Call(dict(zip(("user_id", "device_id"), s.managed_user(k), strict=True))),
        effect=lambda s, c: s.revoked_count(), note="a lost phone: a fresh user per call"),
    ("api_users.revoke_all", "POST"): Rule(
        frozenset({"city_admin"}), COUNTY, lambda s, k, u: Call({"user_id": s.managed_user(k)[0]}),
        effect=lambda s, c: s.revoked_count(), note="every session and token of a fresh user"),
    ("api_openapi.openapi_document", "GET"): Rule(PUBLIC),

    # ---- API: bureau (draws and assignments are for reviewers only: DESIGN §2) -----------------
    ("api_bureau.list_draws", "GET"): Rule(REVIEWERS),
    ("api_bureau.create_draw", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call(json=_draw_body(s, k)), ok=(201,),
        effect=lambda s, c: s.draw_count(c.json["county_id"]), note="the county is in the body"),
    ("api_bureau.get_draw", "GET"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call({"draw_id": s.draw(k)})),
    ("api_bureau.verify_draw", "GET"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call({"draw_id": s.draw(k)})),
    ("api_bureau.list_assignments", "GET"): Rule(REVIEWERS),
    ("api_bureau.coverage", "GET"): Rule(REVIEWERS),
    ("api_bureau.list_visits", "GET"): Rule(REVIEWERS | BASE),
    ("api_bureau.get_visit", "GET"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call({"visit_id": s.visit(k)})),
    ("api_bureau.accept_visit", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k,
        u: Call({"visit_id": s.fresh_visit(k)}, json={"comment": "符合"}),
        ok=(201,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("api_bureau.reinspect_visit", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k,
        u: Call({"visit_id": s.fresh_visit(k)}, json={"comment": "复查"}),
        ok=(201,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("api_bureau.open_rectification", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"visit_id": s.fresh_visit(k)},
                             json={"sanction": "criticism", "order_text": "整改"}),
        ok=(201,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("api_bureau.list_rectifications", "GET"): Rule(REVIEWERS | BASE),
    ("api_bureau.get_rectification", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k, u: Call({"rectification_id": s.rectification(k)})),
    ("api_bureau.answer_rectification", "POST"): Rule(
        BASE, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "open")},
                             json={"text": "已整改"}),
        effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),
    ("api_bureau.return_rectification", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "answered")},
                             json={"comment": "证明材料不足"}),
        effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),
    ("api_bureau.close_rectification", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "answered")},
                             json={"comment": "同意"}),
        effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),

    # ---- API: filing (R5/R7) -------------------------------------------------------------------
    ("api_filing.occupations", "GET"): Rule(ANY_USER),
    ("api_filing.list_classes", "GET"): Rule(ANY_USER),
    ("api_filing.create_class", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(json=_class_body(s)), ok=(201,),
        effect=lambda s, c: s.count("TrainingClass")),
    ("api_filing.get_class", "GET"): Rule(
        ANY_USER, COUNTY, lambda s, k, u: Call({"class_id": s.class_id(k)})),
    ("api_filing.start_version", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"class_id": s.fresh_class(k, "recorded")},
                                           json={"reason": "更换教师"}),
        ok=(201,), effect=lambda s, c: s.version_count(c.params["class_id"])),
    ("api_filing.list_versions", "GET"): Rule(ANY_USER),
    ("api_filing.get_version", "GET"): Rule(
        ANY_USER, COUNTY, lambda s, k, u: Call({"version_id": s.version_id(k)})),
    ("api_filing.get_roster", "GET"): Rule(
        ANY_USER, COUNTY, lambda s, k, u: Call({"version_id": s.version_id(k)})),
    ("api_filing.replace_sessions", "PUT"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           json={"sessions": [_session_item(s, k)]}),
        effect=lambda s, c: s.session_count(c.params["version_id"])),
    ("api_filing.add_sessions", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           json=_session_item(s, k)),
        ok=(201,), effect=lambda s, c: s.session_count(c.params["version_id"])),
    ("api_filing.delete_session", "DELETE"): Rule(
        BASE, COUNTY, lambda s, k, u: Call(s.fresh_draft_session(k)), ok=(204,),
        effect=lambda s, c: s.session_count(c.params["version_id"])),
    ("api_filing.replace_roster", "PUT"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           json={"trainees": [s.trainee_row()]}),
        effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("api_filing.import_roster", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           data=s.roster_xlsx()),
        effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("api_filing.submit", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")}),
        effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("api_filing.approve", "POST"): Rule(
        frozenset({"county_admin"}), COUNTY,
        lambda s, k,
        u: Call({"version_id": s.fresh_version(k, "submitted")}, json={"comment": "同意"}),
        effect=lambda s, c: s.version_status(c.params["version_id"]),
        note="the county of the base seals; the city records instead"),
    ("api_filing.return_version", "POST"): Rule(
        frozenset({"county_admin"}), COUNTY,
        lambda s, k,
        u: Call({"version_id": s.fresh_version(k, "submitted")}, json={"comment": "缺材料"}),
        effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("api_filing.record", "POST"): Rule(
        frozenset({"city_admin"}), COUNTY,
        lambda s, k, u: Call({"version_id": s.fresh_version(k, "approved")}, json={}),
        effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("api_filing.roster_template", "GET"): Rule(ANY_USER),
    ("api_filing.list_sites", "GET"): Rule(ANY_USER),
    ("api_filing.create_site", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(json=SITE_BODY), ok=(201,), effect=lambda s,
        c: s.count("Site")),
    ("api_filing.update_site", "PATCH"): Rule(
        BASE, COUNTY, lambda s, k,
        u: Call({"site_id": s.site_id(k)}, json={"name": s.unique("场所")}),
        effect=lambda s, c: s.site_name(c.params["site_id"])),
    ("api_filing.list_teachers", "GET"): Rule(ANY_USER),
    ("api_filing.create_teacher", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(json=TEACHER_BODY), ok=(201,),
        effect=lambda s, c: s.count("Teacher")),
    ("api_filing.update_teacher", "PATCH"): Rule(
        BASE, COUNTY, lambda s, k,
        u: Call({"teacher_id": s.teacher_id(k)}, json={"phone": s.unique("1")}),
        effect=lambda s, c: s.teacher_phone(c.params["teacher_id"])),

    # ---- API: media (tus): inspectors only; an upload is its creator's alone
    # --------------------------------------
    ("api_media.tus_options", "OPTIONS"): Rule(PUBLIC, ok=(204,), note="tus discovery"),
    ("api_media.create_upload", "POST"): Rule(
        FIELD, None, lambda s, k, u: Call(headers=s.tus_create_headers()), ok=(201,),
        effect=lambda s, c: s.count("Upload")),
    ("api_media.upload_head", "HEAD"): Rule(
        FIELD, OWNER, lambda s, k, u: Call({"upload_id": s.upload(k, u)}, headers=s.TUS)),
    ("api_media.upload_patch", "PATCH"): Rule(
        FIELD, OWNER, lambda s, k, u: Call({"upload_id": s.upload(k, u)}, data=s.CHUNK,
                                              headers=s.tus_patch_headers()),
        ok=(204,), effect=lambda s, c: s.upload_offset(c.params["upload_id"])),
    ("api_media.upload_delete", "DELETE"): Rule(
        FIELD, OWNER, lambda s, k, u: Call({"upload_id": s.upload(k, u)}, headers=s.TUS),
        ok=(204,), effect=lambda s, c: s.upload_exists(c.params["upload_id"])),
    ("api_media.missing_media", "POST"): Rule(
        FIELD, None, lambda s, k, u: Call(json={"sha256": [s.photo("a")]})),

    # ---- API: sync, visits, trainees -------------------------------------------------------------
    ("api_sync.push", "POST"): Rule(
        FIELD, None, lambda s, k, u: Call(json={"device_id": s.device(u), "mutations": []}),
        note="device_id must be the token's own; an empty batch is valid"),
    ("api_sync.pull", "GET"): Rule(
        REVIEWERS | FIELD, note="never base staff: the pull carries assignments"),
    ("api_visits.list_visits", "GET"): Rule(
        REVIEWERS | FIELD, note="inspectors: only their own visits (checked by the leak check)"),
    ("api_visits.self_signins", "GET"): Rule(
        FIELD, COUNTY, lambda s, k, u: Call({"visit_id": s.visit(k)},
                                            query={"class_id": s.class_id(k)}),
        note="the rule of adding a sign-in there (signins.may_sign_in); 404 outside it"),
    ("api_trainees.trainee_identity", "GET"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call({"trainee_id": s.trainee_id(k)}),
        note="the unmasked ID number, audited"),

    # ---- pages: log in, home, field app shell, self sign-in ------------------------------------
    ("web.home", "GET"): Rule(PUBLIC, ok=(302,), note="sends each role to its start page"),
    ("web.login", "GET"): Rule(PUBLIC),
    ("web.favicon", "GET"): Rule(PUBLIC),
    ("web.icon", "GET"): Rule(PUBLIC, target=lambda s, k, u: Call({"size": "192"})),
    ("web.login", "POST"): Rule(PUBLIC, target=lambda s, k, u: Call(form=s.login_body(form=True)),
                                ok=(302,)),
    ("web.logout", "POST"): Rule(ANY_USER, ok=(302,)),
    ("web.change_password", "GET"): Rule(ANY_USER),
    ("web.change_password", "POST"): Rule(
        ANY_USER, target=lambda s, k, u: Call(form=s.password_change()), ok=(302,),
        effect=lambda s, c: s.password_hashes(), note="the page's own session is renewed"),
    ("pwa.app_root", "GET"): Rule(PUBLIC, ok=(308,), note="the shell holds no data"),
    ("pwa.shell", "GET"): Rule(PUBLIC),
    ("pwa.asset", "GET"): Rule(PUBLIC, target=lambda s, k,
                               u: Call({"name": "manifest.webmanifest"})),
    ("selfsignin.form", "GET"): Rule(
        PUBLIC, target=lambda s, k, u: Call({"code": s.signin_code()}),
        note="trainees have no account; the rotating code is the credential"),
    ("selfsignin.submit", "POST"): Rule(
        PUBLIC, target=lambda s, k, u: s.signin_submission(), effect=lambda s,
        c: s.count("SignIn")),

    # ---- pages: bureau (reviewers; base staff only their rectifications and past visits) -------
    ("bureau.dashboard", "GET"): Rule(REVIEWERS | BASE,
                                      note="reviewers: coverage; a base: its home"),
    ("bureau.draws", "GET"): Rule(REVIEWERS),
    ("bureau.make_draw", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call(form=_draw_form(s, k)),
        ok=(302,), effect=lambda s, c: s.draw_count(c.form["county_id"]), foreign_ignored=True,
        note="a county admin's form county is ignored: the draw is for their own county"),
    ("bureau.draw", "GET"): Rule(REVIEWERS, COUNTY, lambda s, k, u: Call({"draw_id": s.draw(k)})),
    ("bureau.visits", "GET"): Rule(REVIEWERS | BASE),
    ("bureau.visit", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k, u: Call({"visit_id": s.visit(k)}),
        note="base staff see their base's visits after the fact, without photos or actions"),
    ("bureau.visit_media", "GET"): Rule(
        REVIEWERS, COUNTY, lambda s, k, u: Call({"visit_id": s.visit(k), "sha256": s.photo(k)})),
    ("bureau.accept", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k,
        u: Call({"visit_id": s.fresh_visit(k)}, form={"comment": "符合"}),
        ok=(302,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("bureau.reinspect", "POST"): Rule(
        REVIEWERS, COUNTY, lambda s, k,
        u: Call({"visit_id": s.fresh_visit(k)}, form={"comment": "复查"}),
        ok=(302,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("bureau.rectify", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"visit_id": s.fresh_visit(k)},
                             form={"sanction": "criticism", "order_text": "整改"}),
        ok=(302,), effect=lambda s, c: s.review_status(c.params["visit_id"])),
    ("bureau.rectifications", "GET"): Rule(REVIEWERS | BASE),
    ("bureau.rectification", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k, u: Call({"rectification_id": s.rectification(k)})),
    ("bureau.answer", "POST"): Rule(
        BASE, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "open")},
                             form={"text": "已整改"}),
        ok=(302,), effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),
    ("bureau.return_answer", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "answered")},
                             form={"comment": "证明材料不足"}),
        ok=(302,), effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),
    ("bureau.close", "POST"): Rule(
        REVIEWERS, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.fresh_rectification(k, "answered")},
                             form={"comment": "同意"}),
        ok=(302,), effect=lambda s, c: s.rectification_status(c.params["rectification_id"])),
    ("bureau.rectification_file", "GET"): Rule(
        REVIEWERS | BASE, COUNTY,
        lambda s, k, u: Call({"rectification_id": s.rectification(k), "sha256": s.answer_file(k)})),

    # ---- pages: documents (reviewers in scope; base staff their own base's) --------------------
    ("documents.visit_pdf", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k, u: Call({"visit_id": s.visit(k)})),
    ("documents.attachment2", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k,
        u: Call({"base_id": s.base_id(k), "year": s.year()})),
    ("documents.subsidy", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k,
        u: Call({"base_id": s.base_id(k), "year": s.year(), "fmt": "json"})),
    ("documents.archive", "GET"): Rule(
        REVIEWERS | BASE, COUNTY, lambda s, k,
        u: Call({"base_id": s.base_id(k), "year": s.year()})),

    # ---- pages: filing ---------------------------------------------------------------------------
    ("filing.classes", "GET"): Rule(ANY_USER),
    ("filing.create_class", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(form=_class_body(s)), ok=(302,),
        effect=lambda s, c: s.count("TrainingClass")),
    ("filing.class_page", "GET"): Rule(
        ANY_USER, COUNTY, lambda s, k, u: Call({"class_id": s.class_id(k)})),
    ("filing.new_version", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"class_id": s.fresh_class(k, "recorded")},
                                           form={"reason": "更换教师"}),
        ok=(302,), effect=lambda s, c: s.version_count(c.params["class_id"])),
    ("filing.queue", "GET"): Rule(ANY_USER),
    ("filing.roster_template", "GET"): Rule(ANY_USER),
    ("filing.sites", "GET"): Rule(ANY_USER),
    ("filing.create_site", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(form=SITE_BODY), ok=(302,), effect=lambda s,
        c: s.count("Site")),
    ("filing.teachers", "GET"): Rule(ANY_USER),
    ("filing.create_teacher", "POST"): Rule(
        BASE, None, lambda s, k, u: Call(form=TEACHER_BODY), ok=(302,),
        effect=lambda s, c: s.count("Teacher")),
    ("filing.version", "GET"): Rule(
        ANY_USER, COUNTY, lambda s, k, u: Call({"version_id": s.version_id(k)})),
    ("filing.add_sessions", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           form=_session_item(s, k)),
        ok=(302,), effect=lambda s, c: s.session_count(c.params["version_id"])),
    ("filing.delete_session", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call(s.fresh_draft_session(k)), ok=(302,),
        effect=lambda s, c: s.session_count(c.params["version_id"])),
    ("filing.import_roster", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           form={"file": s.roster_upload()}),
        note="a preview: answers the page with each row's verdict and changes nothing"),
    ("filing.confirm_roster", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: (lambda v: Call({"version_id": v},
                                                      form={"token": s.roster_token(v, u)}))(
            s.fresh_version(k, "draft")),
        ok=(302,), effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("filing.add_trainee", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")},
                                           form=s.trainee_row()),
        ok=(302,), effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("filing.correct_trainee", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call(s.draft_enrollment(k), form={
            "name": "更正后的名字", "education": "高中", "certificate_level": "高级工",
            "certificate_date": "2015-06-01", "employer_kind": "企业"}),
        ok=(302,), effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("filing.remove_trainee", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call(s.draft_enrollment(k), form={}),
        ok=(302,), effect=lambda s, c: s.roster_names(c.params["version_id"])),
    ("filing.submit", "POST"): Rule(
        BASE, COUNTY, lambda s, k, u: Call({"version_id": s.fresh_version(k, "draft")}, form={}),
        ok=(302,), effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("filing.approve", "POST"): Rule(
        frozenset({"county_admin"}), COUNTY,
        lambda s, k,
        u: Call({"version_id": s.fresh_version(k, "submitted")}, form={"comment": "同意"}),
        ok=(302,), effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("filing.return_version", "POST"): Rule(
        frozenset({"county_admin"}), COUNTY,
        lambda s, k,
        u: Call({"version_id": s.fresh_version(k, "submitted")}, form={"comment": "缺材料"}),
        ok=(302,), effect=lambda s, c: s.version_status(c.params["version_id"])),
    ("filing.record", "POST"): Rule(
        frozenset({"city_admin"}), COUNTY,
        lambda s, k, u: Call({"version_id": s.fresh_version(k, "approved")}, form={}),
        ok=(302,), effect=lambda s, c: s.version_status(c.params["version_id"])),
}
# fmt: on
