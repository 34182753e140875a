"""Authorization matrix: every endpoint × every role × own and foreign scope (issue 7).

The endpoints come from the app's URL map and their rules from tests/authz_policy.py; an
endpoint without a rule fails `test_every_endpoint_has_a_rule`. Each rule is then called by
every caller on an object of the caller's own county (or base, or upload) and of a foreign one.
Every successful read is also searched for the ids the caller must never see (the other
county's objects; draws and assignments for base staff; other inspectors' visits).

One app and one world serve the whole module: mutations work on fresh objects made per call,
so no test depends on another's order.
"""

from __future__ import annotations

import base64
import io
import itertools
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import url_for
from openpyxl import Workbook
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    ApiToken,
    Assignment,
    Draw,
    Enrollment,
    Occupation,
    PlanVersion,
    Rectification,
    SignIn,
    Site,
    Teacher,
    Trainee,
    TrainingBase,
    TrainingClass,
    Upload,
    User,
    Visit,
    WebSession,
)
from server.services import draw as draw_service
from server.services import media_uploads
from server.services import review as review_service
from server.services.auth import issue_token
from server.services.idcard import synthetic_id_number
from server.services.roster import HEADER
from server.services.selfsignin import issue_form_ticket, make_code
from tests import conftest
from tests.factories import build_world, make_class, make_trainee, make_user
from tests.security.authz_policy import ANY_USER, COUNTY, OWNER, POLICY, PUBLIC, Call, Rule
from tests.sync.client import seal, visit_payload
from tests.sync.fixtures import phone, publish_world
from tests.visits.signin_helpers import last6, signature_data_url

KEYS = ("a", "b", "a2")
# county A's base, county B's base, another base in county A
REINSPECTION_COMMENT = "复查定于下周二上午（不得告知基地）"
MODELS = {m.__name__: m for m in (Draw, Site, Teacher, TrainingClass, Upload, SignIn)}


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a role and the account used for it (None: anonymous)."""

    label: str
    role: str | None
    username: str | None

    @property
    def citywide(self) -> bool:
        return self.username in ("city", "city_inspector")


CALLERS = [
    Caller("anonymous", None, None),
    Caller("city_admin", "city_admin", "city"),
    Caller("county_admin", "county_admin", "county_a"),
    Caller("inspector", "inspector", "inspector_a"),
    Caller("city_inspector", "inspector", "city_inspector"),
    Caller("base_staff", "base_staff", "base_a"),
]


def png_bytes(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


class Scene:
    """The world of tests/factories plus visits, draws, rectifications, uploads in both counties."""

    TUS = {"Tus-Resumable": "1.0.0"}
    CHUNK = b"\xff\xd8\xff\xe0" + bytes(60)

    def __init__(self, app, client):
        self.app = app
        self.world = w = build_world()
        self._n = itertools.count(1)
        self._serial = itertools.count(1)
        self._add_sibling_base(w)
        for key in KEYS:
            # Fresh classes add trainees to the base's year: keep R1's quota out of the way.
            w.bases[key].quota = 100_000
        for key in ("a", "b"):
            w.users[f"inspector_{key}2"] = make_user(f"inspector_{key}2", "inspector",
                                                     w.counties[key])
        db.session.commit()
        publish_world(w)
        self.users = {u.username: u.id for u in w.users.values()}
        self.ids = {"occupation": w.occupation.id, "year": w.classes["a"].start_date.year}
        for key in KEYS:
            self.ids |= {f"county_{key}": w.counties[key[0]].id, f"base_{key}": w.bases[key].id,
                         f"class_{key}": w.classes[key].id, f"version_{key}": w.versions[key].id,
                         f"site_{key}": w.sites[key].id,
                         f"theory_{key}": w.teachers[f"{key}_theory"].id,
                         f"practical_{key}": w.teachers[f"{key}_practical"].id,
                         f"trainees_{key}": [e.trainee_id for e in w.versions[key].enrollments]}
        self.photos = {k: review_service.store_media_bytes(png_bytes(c), "image/png", None)
                       for k, c in (("a", "red"), ("b", "blue"), ("a2", "yellow"))}
        self.draws, self.assignments = {}, {}
        for key in ("a", "b"):
            draw = draw_service.draw_visits(w.counties[key], date.today(),
                                            date.today() + timedelta(days=7),
                                            actor=self.user(f"county_{key}"))
            self.draws[key] = draw.id
            self.assignments[key] = [a.id for a in draw_service.draw_assignments(draw)]
        db.session.commit()
        # Visits through the real sync path, in each base: a pending one for reads (citing a
        # drawn assignment, which base staff must never see), another inspector's, and one
        # that gets a rectification, answered by the base with a file.
        self.visits, self.other_visits, self.rect_visits = {}, {}, {}
        self.rectifications, self.answer_files = {}, {}
        for key in KEYS:
            sessions = w.versions[key].sessions
            own = phone(client, f"inspector_{key[0]}", f"own-{key}")
            cited = self._assignment_of(key)
            self.visits[key] = self._push(own, key, sessions[2], photos=[self.photos[key]],
                                          assignment_id=cited)
            self.rect_visits[key] = self._push(own, key, sessions[0])
            other = phone(client, f"inspector_{key[0]}2", f"other-{key}")
            self.other_visits[key] = self._push(other, key, sessions[1])
            reviewer = self.user(f"county_{key[0]}")
            _, rect = review_service.open_rectification(
                reviewer, db.session.get(Visit, self.rect_visits[key]), "criticism", "整改")
            review_service.answer_rectification(
                self.user(f"base_{key}"), rect, "已整改",
                [review_service.AnswerFile("answer.png", png_bytes("green"))])
            self.rectifications[key] = rect.id
            self.answer_files[key] = rect.response_media[0]["sha256"]
            db.session.commit()
        # What must stay unannounced to the base: a re-inspection ordered on one of its visits
        # (the new assignment and the reviewer's comment) and a city covert check not yet reviewed.
        sessions = w.versions["a"].sessions
        ordered = self._push(phone(client, "inspector_a", "reinspected-a"), "a", sessions[3])
        _, reinspection = review_service.order_reinspection(
            self.user("county_a"), db.session.get(Visit, ordered), REINSPECTION_COMMENT)
        covert = self._push(phone(client, "city_inspector", "covert-a"), "a", sessions[4])
        db.session.commit()
        self.unannounced = {str(reinspection.id), REINSPECTION_COMMENT, str(covert)}
        self.hidden = self._hidden_ids()
        del self.world  # from here on, objects are looked up by id in each request's session

    # -- building -------------------------------------------------------------------------

    def _add_sibling_base(self, w) -> None:
        """A second base in county A: its staff are as foreign to base A as county B's are."""
        county = w.counties["a"]
        base = TrainingBase(name="潍坊市第二技工学校", county=county, quota=100)
        site = Site(base=base, name="二校实训楼", address="奎文区某路9号", lat=36.70, lon=119.15,
                    radius_m=150)
        theory = Teacher(base=base, name="a2理论老师", professional_title="副高级")
        practical = Teacher(base=base, name="a2实操老师", skill_qualification="高级技师")
        db.session.add_all([base, site, theory, practical])
        trainees = [make_trainee(f"a2学员{i}", date(1988, 2, 2) + timedelta(days=31 * i),
                                 serial=300 + i) for i in range(5)]
        klass, version = make_class("a2", base, w.occupation, site, theory, practical,
                                    w.classes["a"].start_date, trainees)
        w.bases["a2"], w.sites["a2"], w.classes["a2"], w.versions["a2"] = base, site, klass, version
        w.teachers["a2_theory"], w.teachers["a2_practical"] = theory, practical
        db.session.flush()
        w.users["base_a2"] = make_user("base_a2", "base_staff", county, base)

    def _assignment_of(self, key: str) -> uuid.UUID | None:
        class_id = self.world.classes[key].id
        return next((a for a in self.assignments.get(key[0], [])
                     if db.session.get(Assignment, a).class_id == class_id), None)

    def _push(self, device, key: str, session, photos=None, assignment_id=None) -> uuid.UUID:
        w = self.world
        payload = visit_payload(class_id=w.classes[key].id, session=session,
                                plan_version_id=w.versions[key].id, site=w.sites[key],
                                photos=photos)
        if assignment_id is not None:
            payload = seal({**payload, "assignment_id": str(assignment_id)})
        visit_id = uuid.UUID(device.add_visit(payload)["entity_id"])
        status, body = device.push()
        assert status == 200 and body["results"][-1]["status"] in ("applied", "flagged"), body
        return visit_id

    def _hidden_ids(self) -> dict[str, set[str]]:
        """For each caller, ids that must never appear in what it reads."""
        w = self.world

        def of_base(key: str) -> set:
            return {w.classes[key].id, w.versions[key].id, w.sites[key].id, w.bases[key].id,
                    w.teachers[f"{key}_theory"].id, w.teachers[f"{key}_practical"].id,
                    self.visits[key], self.other_visits[key], self.rect_visits[key],
                    self.rectifications[key], *self.ids[f"trainees_{key}"]}

        county_b = of_base("b") | {self.draws["b"], *self.assignments["b"]}
        draws = {*self.draws.values(), *self.assignments["a"], *self.assignments["b"]}
        visits = {v for d in (self.visits, self.other_visits, self.rect_visits) for v in d.values()}
        every = county_b | draws | visits | of_base("a") | of_base("a2")
        as_text = lambda ids: {str(i) for i in ids}  # noqa: E731
        return {
            "anonymous": as_text(every),
            "city_admin": set(),
            "county_admin": as_text(county_b),
            "inspector": as_text(county_b | {self.other_visits["a"], self.other_visits["a2"]}),
            # Covert checks see every county's plans, but only their own visits and teams.
            "city_inspector": as_text(visits | draws),
            "base_staff": as_text(county_b | of_base("a2") | draws) | self.unannounced,
        }

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._n)}"

    # -- objects the policy names (ids only: ORM objects do not outlive a request's session) ----

    def county_id(self, key): return str(self.ids[f"county_{key}"])
    def base_id(self, key): return str(self.ids[f"base_{key}"])
    def class_id(self, key): return str(self.ids[f"class_{key}"])
    def version_id(self, key): return str(self.ids[f"version_{key}"])
    def site_id(self, key): return str(self.ids[f"site_{key}"])
    def teacher_id(self, key): return str(self.ids[f"theory_{key}"])
    def trainee_id(self, key): return str(self.ids[f"trainees_{key}"][0])
    def occupation_id(self): return str(self.ids["occupation"])
    def visit(self, key): return str(self.visits[key])
    def draw(self, key): return str(self.draws[key])
    def rectification(self, key): return str(self.rectifications[key])
    def answer_file(self, key): return self.answer_files[key]
    def photo(self, key): return self.photos[key]
    def year(self): return str(self.ids["year"])
    def device(self, username): return f"matrix-{username}"
    def user(self, username): return db.session.get(User, self.users[username])

    def login_body(self, form: bool = False) -> dict:
        body = {"username": "city", "password": conftest.TEST_PASSWORD}
        return body if form else {**body, "device_id": "matrix-login"}

    def password_change(self) -> dict:
        return {"current_password": conftest.TEST_PASSWORD, "new_password": conftest.TEST_PASSWORD}

    def managed_user(self, key) -> tuple[str, str]:
        """A fresh user of county `key` with a live token on a device: (user id, device id)."""
        county = db.session.get(TrainingBase, self.ids[f"base_{key}"]).county
        user = make_user(self.unique("managed"), "inspector", county)
        db.session.flush()
        device = self.unique("lost-phone-")
        issue_token(user, device)
        db.session.commit()
        return str(user.id), device

    def undrawn_day(self) -> date:
        """A day no draw covers yet (the scene draws the first week; each draw takes one more)."""
        return date.today() + timedelta(days=8 + self.count("Draw"))

    def fresh_visit(self, key) -> str:
        """A pending copy of the county's visit (a decision consumes a visit)."""
        template = db.session.get(Visit, self.visits[key])
        columns = {c.key: getattr(template, c.key) for c in Visit.__table__.columns}
        clone = Visit(**{**columns, "id": uuid.uuid4(), "review_status": "pending"})
        db.session.add(clone)
        db.session.commit()
        return str(clone.id)

    def fresh_rectification(self, key, status) -> str:
        visit = db.session.get(Visit, uuid.UUID(self.fresh_visit(key)))
        visit.review_status = "rectification"
        rect = Rectification(visit_id=visit.id, base_id=self.ids[f"base_{key}"],
                             sanction="criticism", order_text="整改", status=status,
                             created_by_id=self.users[f"county_{key[0]}"],
                             response_text="已整改" if status == "answered" else "")
        db.session.add(rect)
        db.session.commit()
        return str(rect.id)

    def _fresh_class(self, key, status) -> tuple[TrainingClass, PlanVersion]:
        get = db.session.get
        # New trainees each time: one person in two overlapping classes breaks R3.
        trainees = [make_trainee(self.unique("学员"), date(1985, 1, 1) + timedelta(days=n),
                                 serial=n)
                    for n in itertools.islice(self._serial, 5)]
        klass, version = make_class(
            self.unique(f"fresh-{key}-"), get(TrainingBase, self.ids[f"base_{key}"]),
            get(Occupation, self.ids["occupation"]), get(Site, self.ids[f"site_{key}"]),
            get(Teacher, self.ids[f"theory_{key}"]), get(Teacher, self.ids[f"practical_{key}"]),
            date.today() + timedelta(days=30), trainees, status=status)
        db.session.commit()
        return klass, version

    def fresh_class(self, key, status) -> str:
        return str(self._fresh_class(key, status)[0].id)

    def fresh_version(self, key, status) -> str:
        return str(self._fresh_class(key, status)[1].id)

    def fresh_draft_session(self, key) -> dict[str, str]:
        _, version = self._fresh_class(key, "draft")
        return {"version_id": str(version.id), "session_id": str(version.sessions[0].id)}

    def trainee_row(self) -> dict:
        return {"name": "矩阵学员",
                "id_number": synthetic_id_number("370702", date(1991, 3, 4), 777),
                "education": "高中", "certificate_level": "高级工",
                "certificate_date": "2015-06-01",
                "employer_kind": "企业"}

    def roster_xlsx(self) -> bytes:
        row = self.trainee_row()
        sheet_row = {"姓名": row["name"], "身份证号": row["id_number"], "性别": "男",
                     "文化程度": row["education"], "工种": "车工",
                     "证书等级": row["certificate_level"],
                     "发证日期": row["certificate_date"], "工作单位": "某公司", "单位性质": "企业",
                     "联系电话": ""}
        book = Workbook()
        book.active.append(list(HEADER))
        book.active.append([sheet_row[h] for h in HEADER])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def roster_token(self, version_id: str, username: str | None) -> str:
        """A sealed roster preview of the caller's (base_a's when anonymous) for that version."""
        from server.services.roster_import import seal_preview

        return seal_preview(self.roster_xlsx(), uuid.UUID(version_id),
                            self.user(username or "base_a"))

    def draft_enrollment(self, key) -> dict[str, str]:
        _, version = self._fresh_class(key, "draft")
        return {"version_id": str(version.id), "trainee_id": str(version.enrollments[0].trainee_id)}

    def roster_upload(self):
        return (io.BytesIO(self.roster_xlsx()), "roster.xlsx")

    def upload(self, key, username) -> str:
        """A fresh upload of the caller (own) or of inspector_b (foreign)."""
        owner = (username or "inspector_a") if key == "a" else "inspector_b"
        state = media_uploads.create_upload(self.user(owner), os.urandom(32).hex(), "image/jpeg",
                                            1000)
        return str(state.id)

    def tus_create_headers(self) -> dict:
        meta = {"sha256": os.urandom(32).hex(), "mime": "image/jpeg"}
        encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
        return {**self.TUS, "Upload-Length": "1000", "Upload-Metadata": encoded}

    def tus_patch_headers(self) -> dict:
        return {**self.TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}

    def signin_code(self) -> str:
        token = issue_token(self.user("inspector_a"), "matrix-signin")[1]
        db.session.commit()
        return make_code(token, self.ids["class_a"], self.visits["a"], datetime.now(UTC))

    def signin_submission(self) -> Call:
        code = self.signin_code()
        trainee = db.session.get(Trainee, self.ids["trainees_a"][next(self._n) % 5])
        site = db.session.get(Site, self.ids["site_a"])
        return Call({"code": code}, form={
            "ticket": issue_form_ticket(code), "name": trainee.name, "id_last6": last6(trainee),
            "signature": signature_data_url(), "lat": str(site.lat),
            "lon": str(site.lon), "accuracy": "10"})

    # -- what a call changed --------------------------------------------------------------------

    def draw_count(self, county_id: str) -> int:
        return db.session.scalar(select(func.count()).select_from(Draw).where(
            Draw.county_id == uuid.UUID(county_id)))

    def count(self, model: str) -> int:
        return db.session.scalar(select(func.count()).select_from(MODELS[model]))

    def review_status(self, visit_id): return db.session.get(Visit,
                                                             uuid.UUID(visit_id)).review_status

    def rectification_status(self, rid):
        return db.session.get(Rectification, uuid.UUID(rid)).status

    def version_status(self, vid): return db.session.get(PlanVersion, uuid.UUID(vid)).status

    def version_count(self, class_id):
        return len(db.session.get(TrainingClass, uuid.UUID(class_id)).plan.versions)

    def session_count(self, vid):
        return tuple(sorted((str(s.date), s.topic) for s in
                            db.session.get(PlanVersion, uuid.UUID(vid)).sessions))

    def roster_names(self, vid):
        return tuple(sorted(e.trainee.name for e in db.session.scalars(
            select(Enrollment).where(Enrollment.plan_version_id == uuid.UUID(vid)))))

    def password_hashes(self):
        return tuple(db.session.scalars(select(User.password_hash).order_by(User.username)))

    def revoked_count(self) -> int:
        return sum(db.session.scalar(select(func.count()).select_from(model).where(
            model.revoked_at.is_not(None))) for model in (ApiToken, WebSession))

    def site_name(self, sid): return db.session.get(Site, uuid.UUID(sid)).name
    def teacher_phone(self, tid): return db.session.get(Teacher, uuid.UUID(tid)).phone

    def upload_offset(self, uid):
        # The offset lives in the part file (no database write per chunk): ask the service.
        upload = db.session.get(Upload, uuid.UUID(uid))
        return media_uploads.get_upload(db.session.get(User, upload.user_id), upload.id).offset
    def upload_exists(self, uid): return db.session.get(Upload, uuid.UUID(uid)) is not None


@pytest.fixture(scope="module")
def matrix(database_url, tmp_path_factory):
    """One app and one scene for the whole module.

    No app context stays pushed while a request runs: the request must get its own `g`, or
    Flask-Login's cached user of one request would answer for the next caller.
    """
    app = conftest.make_test_app(database_url, tmp_path_factory.mktemp("authz"))
    with app.app_context():
        if database_url.startswith("postgresql"):
            conftest._reset_pg_schema()
        else:
            db.create_all()
        scene = Scene(app, app.test_client())
    yield Runner(app, scene)
    with app.app_context():
        if not database_url.startswith("postgresql"):
            db.drop_all()
        db.engine.dispose()


class Runner:
    """Makes one call as one caller and says what came back."""

    def __init__(self, app, scene: Scene):
        self.app, self.scene = app, scene
        self.pages: dict[str, object] = {}

    def page_client(self, username: str):
        client = self.pages.get(username)
        if client is None:
            client = self.app.test_client()
            response = client.post("/login", data={"username": username,
                                                   "password": conftest.TEST_PASSWORD})
            assert response.status_code == 302, f"login as {username}: {response.status_code}"
            self.pages[username] = client
        return client

    def call(self, endpoint: str, method: str, caller: Caller, call: Call):
        """Make the request (outside any app context) and return its path and response."""
        with self.app.test_request_context():
            path = url_for(endpoint, **call.params)
        api = path.startswith("/api/")
        headers = dict(call.headers)
        if api or caller.username is None:
            client = self.app.test_client()
            if api and caller.username is not None:
                with self.app.app_context():
                    raw, _ = issue_token(self.scene.user(caller.username),
                                         self.scene.device(caller.username))
                    db.session.commit()
                headers["Authorization"] = f"Bearer {raw}"
        else:
            client = self.page_client(caller.username)
        kwargs = {"method": method, "headers": headers, "query_string": call.query}
        if call.json is not None:
            kwargs["json"] = call.json
        elif call.form is not None:
            kwargs["data"] = call.form
        elif call.data is not None:
            kwargs["data"] = call.data
        response = client.open(path, **kwargs)
        # Read a streamed answer whole and close it now: a streamed generator left to the garbage
        # collector pops its request context in the middle of a later request.
        response.get_data()
        response.close()
        if endpoint in ("web.logout", "web.login") and caller.username is not None:
            self.pages.pop(caller.username, None)  # that session changed hands: log in again
        return path, response


def expected(rule: Rule, caller: Caller, key: str) -> str:
    """allow | anonymous | refuse | ignored | redirect, for scope key a (own) or b (foreign)."""
    if rule.who == PUBLIC:
        return "allow"
    if caller.role is None:
        return "anonymous"
    if caller.role in rule.redirect:
        return "redirect"
    if rule.who != ANY_USER and caller.role not in rule.who:
        return "refuse"
    if key == "b" and not (rule.scope == COUNTY and caller.citywide):
        return "ignored" if rule.foreign_ignored else "refuse"
    if key == "a2" and caller.role == "base_staff":
        return "ignored" if rule.foreign_ignored else "refuse"
    return "allow"


SCOPE_LABELS = {"a": "own", "b": "foreign", "a2": "sibling"}


def scopes(rule: Rule) -> tuple[str, ...]:
    """Scope keys to call a rule with; the sibling base matters only where base staff may call."""
    if rule.scope == COUNTY and (rule.who in (ANY_USER, PUBLIC) or "base_staff" in rule.who):
        return KEYS
    return ("a", "b") if rule.scope in (COUNTY, OWNER) else ("a",)


def check(rule: Rule, endpoint: str, method: str, caller: Caller, key: str, path: str,
          response, before, after, hidden: set[str]) -> str | None:
    """Return what is wrong with one response, or None."""
    outcome = expected(rule, caller, key)
    status, location = response.status_code, response.headers.get("Location", "")
    api = path.startswith("/api/")
    if outcome == "allow":
        if status not in rule.ok:
            return f"expected {rule.ok}, got {status} {response.get_data(as_text=True)[:200]!r}"
        if status in (301, 302, 303) and "next=" in location:
            return f"allowed caller sent to log in: {location}"
        if rule.effect is not None and before == after:
            return f"allowed call changed nothing ({before!r})"
    elif outcome == "anonymous":
        if api and status != 401:
            return f"anonymous: expected 401, got {status}"
        if not api and not (status == 302 and "/login" in location and "next=" in location):
            return f"anonymous: expected a redirect to /login, got {status} {location}"
    elif outcome == "ignored":
        if status not in rule.ok:
            return f"expected the foreign part ignored with {rule.ok}, got {status}"
    elif outcome == "redirect":
        if status != 302 or not location.endswith(rule.redirect[caller.role]):
            return f"expected a redirect to {rule.redirect[caller.role]}, got {status} {location}"
    elif status not in (403, 404):
        return (f"refused ({SCOPE_LABELS[key]} scope) yet got {status} "
                f"{response.get_data(as_text=True)[:200]!r}")
    if outcome != "allow" and rule.effect is not None and before != after:
        return f"a refused call changed {before!r} → {after!r}"
    if outcome == "allow" and 200 <= status < 300 and method in ("GET", "POST"):
        text = response.get_data(as_text=True) if response.mimetype.startswith(
            ("application/json", "text/")) else ""
        leaked = sorted(i for i in hidden if i in text)
        if leaked:
            return f"shows ids outside the caller's scope: {leaked}"
    return None


def url_map_entries(app) -> set[tuple[str, str]]:
    """Every (endpoint, method) a client can call, without Flask's automatic HEAD and OPTIONS."""
    entries = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods or ())
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("OPTIONS")
        if "GET" in methods:
            methods.discard("HEAD")
        entries |= {(rule.endpoint, m) for m in methods}
    return entries


def suggested_rule(app, endpoint: str, method: str) -> str:
    """The POLICY line to start from for an endpoint without a rule."""
    url_rule = app.url_map._rules_by_endpoint[endpoint][0]
    roles = getattr(app.view_functions[endpoint], "__required_roles__", None)
    if roles is None:
        who = "ANY_USER  # or PUBLIC, or frozenset({...}) of roles"
        seen = "pages: check @login_required and the service's role checks"
    else:
        who = ("frozenset({" + ", ".join(repr(r) for r in sorted(roles)) + "})"
               if roles else "ANY_USER")
        seen = f"token_required{tuple(roles)}"
    params = ", ".join(f'"{name}": s.<object>(k)' for name in url_rule.arguments)
    scope = "COUNTY,  # or OWNER" if params else "None,"
    target = f"lambda s, k, u: Call({{{params}}}" + (", json=<valid body>" if method in (
        "POST", "PUT", "PATCH") else "") + ")"
    extra = ("\n        ok=(<success status>,), effect=lambda s, c: <what the call changes>,"
             if method not in ("GET", "HEAD", "OPTIONS") else "")
    return (f'    ("{endpoint}", "{method}"): Rule(  # {method} {url_rule.rule}; {seen}\n'
            f"        {who},\n        {scope}\n        {target},{extra}\n    ),")


def test_every_endpoint_has_a_rule(matrix):
    entries = url_map_entries(matrix.app)
    missing = sorted(entries - POLICY.keys())
    stale = sorted(POLICY.keys() - entries)
    hints = "\n".join(suggested_rule(matrix.app, e, m) for e, m in missing)
    assert not missing, (
        "endpoints without an authorization rule. Add to POLICY in tests/authz_policy.py (who may "
        "call; for an object in the path, how scope key 'a' (own), 'b' (foreign county) and 'a2' "
        "(another base of county A) resolve to one, via a Scene method in "
        "tests/test_authz_matrix.py; a valid body for a mutation):\n" + hints)
    assert not stale, f"rules for endpoints that no longer exist (remove them): {stale}"


@pytest.mark.parametrize(("endpoint", "method"), sorted(POLICY), ids=lambda v: str(v))
def test_matrix(matrix, endpoint, method):
    rule = POLICY[(endpoint, method)]
    problems = []
    for caller in CALLERS:
        for key in scopes(rule):
            with matrix.app.app_context():
                call = rule.target(matrix.scene, key, caller.username) if rule.target else Call()
                before = rule.effect(matrix.scene, call) if rule.effect else None
            path, response = matrix.call(endpoint, method, caller, call)
            with matrix.app.app_context():
                after = rule.effect(matrix.scene, call) if rule.effect else None
            problem = check(rule, endpoint, method, caller, key, path, response, before, after,
                            matrix.scene.hidden[caller.label])
            if problem:
                scope = SCOPE_LABELS[key] if rule.scope else "-"
                problems.append(f"{caller.label:14} {scope:7} {method} {path}: {problem}")
    assert not problems, f"{endpoint} {method}:\n" + "\n".join(problems)


@pytest.mark.parametrize("claimed_class", ["b", "a"],
                         ids=["foreign-class", "own-class-foreign-visit"])
def test_push_cannot_sign_a_trainee_into_another_countys_visit(matrix, claimed_class):
    """signin.create is scoped like visit.submit: a county A phone cannot add evidence to B's visit.
    """
    scene = matrix.scene
    device = phone(matrix.app.test_client(), "inspector_a", f"probe-{claimed_class}")
    with matrix.app.app_context():
        trainee = scene.ids["trainees_b"][0]
        before = scene.count("SignIn")
    device.add_signin(visit_id=scene.visits["b"], class_id=scene.ids[f"class_{claimed_class}"],
                      trainee_id=trainee)
    status, body = device.push()
    assert status == 200, body
    assert body["results"][0]["status"] == "rejected", body
    assert body["results"][0]["code"] == "signin.unknown_class"
    with matrix.app.app_context():
        assert scene.count("SignIn") == before
