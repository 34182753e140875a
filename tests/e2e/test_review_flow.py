"""Browser: a reviewer takes a flagged visit to a rectification; the base answers; it is closed."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from PIL import Image

from tests.conftest import TEST_PASSWORD, make_test_app
from tests.e2e.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 640}


def seed_flagged_visit(server: LiveServer) -> dict:
    """Create the server's database with the test world and one visit whose teacher mismatched."""
    from server.extensions import db
    from tests.factories import build_world
    from tests.sync.client import visit_payload
    from tests.sync.fixtures import phone, publish_world, today_session

    app = make_test_app(f"sqlite:///{server.db_path}", server.instance,
                        SECRET_KEY=server.env["SECRET_KEY"], MEDIA_DIR=server.env["MEDIA_DIR"])
    with app.app_context():
        db.create_all()
        world = build_world()
        publish_world(world)
        device = phone(app.test_client(), "inspector_a", "e2e-phone")
        payload = visit_payload(class_id=world.classes["a"].id, session=today_session(world, "a"),
                                plan_version_id=world.versions["a"].id, site=world.sites["a"],
                                teacher_matches=False, verdict="issues")
        visit_id = device.add_visit(payload)["entity_id"]
        status, body = device.push()
        assert status == 200 and body["results"][0]["status"] in ("applied", "flagged"), body
        db.session.remove()
        db.engine.dispose()
    return {"visit_id": visit_id}


@pytest.fixture
def review_server(tmp_path):
    server = LiveServer(tmp_path)
    server.facts = seed_flagged_visit(server)
    server.start()
    yield server
    server.kill()


def log_in(browser, server: LiveServer, username: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    # Each role lands on its own start page (reviewers the dashboard, bases their classes).
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_flagged_visit_to_closed_rectification(browser, review_server):
    server = review_server
    reviewer_ctx, reviewer = log_in(browser, server, "county_a", DESKTOP)
    reviewer.goto(f"{server.url}/bureau/visits")
    reviewer.locator("tr.has-issues a").first.click()
    assert reviewer.url.endswith(f"/bureau/visits/{server.facts['visit_id']}")
    teacher_row = reviewer.get_by_test_id("check-teacher")
    assert "row-mismatch" in teacher_row.get_attribute("class")
    assert "封存完好" in reviewer.get_by_test_id("seal").inner_text()
    shot(reviewer, "review-visit-1280")

    form = reviewer.get_by_test_id("rectify-form")
    form.locator("select[name=sanction]").select_option("deadline")
    deadline = date.today() + timedelta(days=14)
    form.locator("input[name=deadline]").fill(deadline.isoformat())
    form.locator("textarea[name=order_text]").fill("授课教师与备案不符，限期更换为备案教师。")
    form.locator("button[type=submit]").click()
    reviewer.wait_for_url("**/bureau/rectifications/*")
    assert reviewer.get_by_test_id("rect-status").inner_text().strip() == "待答复"
    rect_url = reviewer.url
    rect_id = rect_url.rsplit("/", 1)[1]
    assert reviewer.locator("[data-testid=close-form] button").is_disabled()

    base_ctx, base = log_in(browser, server, "base_a", PHONE)
    base.goto(f"{server.url}/bureau/rectifications")
    base.get_by_test_id("rect-row").locator("a").click()
    base.wait_for_url(rect_url)
    base.fill("textarea[name=text]", "已更换为备案教师王老师，补课安排见附件。")
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(picture, "PNG")
    base.set_input_files("input[name=files]", files=[
        {"name": "补课安排.png", "mimeType": "image/png", "buffer": picture.getvalue()}])
    base.get_by_test_id("answer-form").locator("button[type=submit]").click()
    base.wait_for_url(rect_url)
    assert base.get_by_test_id("rect-status").inner_text().strip() == "已答复"
    assert base.get_by_test_id("answer-file").inner_text() == "补课安排.png"
    shot(base, "review-base-answer-360")
    # The base never sees draws.
    assert base.goto(f"{server.url}/bureau/draws").status == 403

    reviewer.reload()
    assert "已更换为备案教师" in reviewer.get_by_test_id("answer-text").inner_text()
    reviewer.get_by_test_id("close-form").locator("textarea[name=comment]").fill("整改到位")
    reviewer.get_by_test_id("close-form").locator("button[type=submit]").click()
    reviewer.wait_for_url(rect_url)
    assert reviewer.get_by_test_id("rect-status").inner_text().strip() == "已关闭"
    assert reviewer.get_by_test_id("closing-comment").inner_text() == "整改到位"
    shot(reviewer, "review-closed-1280")

    hex_id = uuid.UUID(rect_id).hex
    assert server.sql("SELECT status FROM rectification WHERE id = ?", (hex_id,)) == [("closed",)]
    actions = {row[0] for row in server.sql(
        "SELECT action FROM audit_event WHERE entity_id = ?", (rect_id,))}
    assert actions == {"rectification.open", "rectification.answer", "rectification.close"}
    reviews = server.sql("SELECT decision FROM visit_review")
    assert reviews == [("rectification",)]
    base_ctx.close()
    reviewer_ctx.close()
