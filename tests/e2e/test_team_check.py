"""Two inspectors of one team, each on their own phone (issue 17, R10): one syncs, the assignment
is done on both; the other's record, sealed offline meanwhile, is linked to the same check; the
reviewer sees one check and the decision reaches both phones."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import requests

from server.demo import DEMO_PASSWORD
from tests.e2e.conftest import (
    at_site,
    new_phone,
    screenshot,
    start_demo_server,
    wait_for_sw_control,
)
from tests.e2e.field_app import (
    assignment_card,
    fill_visit,
    make_photo,
    seal,
    start_visit,
    wait_synced,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_server(tmp_path):
    """A server on the demo loaded now: the team has an assignment in progress."""
    server = start_demo_server(tmp_path, datetime.now().astimezone())
    yield server
    server.kill()


def phone_of(browser, server, username):
    context = new_phone(browser, server.facts)
    at_site(context, server.facts, "live", accuracy=12)
    page = context.new_page()
    page.goto(f"{server.url}/app/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("assignment").first.wait_for(timeout=15000)
    wait_for_sw_control(page)
    return context, page


def test_a_team_visit_is_one_check_on_both_phones_and_for_the_reviewer(browser, demo_server,
                                                                       tmp_path):
    live = demo_server.facts["live_assignment"]
    context_a, phone_a = phone_of(browser, demo_server, "inspector")
    context_b, phone_b = phone_of(browser, demo_server, "inspector2")
    assert assignment_card(phone_b, live["id"]).get_attribute("data-done") == "false"

    # B has no signal: B's record of the visit is sealed on B's phone and waits.
    context_b.set_offline(True)
    start_visit(phone_b, assignment_id=live["id"])
    fill_visit(phone_b, make_photo(tmp_path / "b.jpg", (640, 480)))
    seal(phone_b)

    # A syncs first: the assignment is done on the server, and so on A's phone.
    start_visit(phone_a, assignment_id=live["id"])
    fill_visit(phone_a, make_photo(tmp_path / "a.jpg", (640, 480)))
    seal(phone_a)
    wait_synced(phone_a)
    status = demo_server.sql("SELECT status FROM assignment WHERE replace(id, '-', '') = ?",
                             (live["id"].replace("-", ""),))
    assert status == [("done",)]

    # B comes back online: its record goes up, and the pull says done.
    context_b.set_offline(False)
    wait_synced(phone_b)
    assignment_card(phone_b, live["id"]).and_(phone_b.locator('[data-done="true"]')).wait_for()
    assert assignment_card(phone_b, live["id"]).get_by_test_id("assignment-done").is_visible()
    screenshot(phone_b, "team-b-done")

    rows = demo_server.sql("SELECT id, check_of_id FROM visit WHERE device_id NOT LIKE 'demo-%' "
                           "ORDER BY received_at")
    assert len(rows) == 2
    (lead_id, lead_of), (_, linked_of) = rows
    assert lead_of is None and linked_of == lead_id

    # The reviewer sees one check with both records, and decides on it.
    token = requests.post(f"{demo_server.url}/api/v1/auth/token", timeout=10, json={
        "username": "county", "password": DEMO_PASSWORD, "device_id": "desk"}).json()["token"]
    lead = uuid.UUID(lead_id)  # SQLite keeps UUIDs as 32 hex digits
    desk = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    reviewer = desk.new_page()
    reviewer.goto(f"{demo_server.url}/login")
    reviewer.fill("input[name=username]", "county")
    reviewer.fill("input[name=password]", DEMO_PASSWORD)
    reviewer.locator("form button[type=submit]").click()
    reviewer.goto(f"{demo_server.url}/bureau/visits/{lead}")
    assert reviewer.get_by_test_id("team-record").count() == 2
    screenshot(reviewer, "team-review")
    accepted = requests.post(f"{demo_server.url}/api/v1/bureau/visits/{lead}/accept",
                             json={"comment": "两份记录一致"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert accepted.status_code == 201, accepted.text

    for page in (phone_a, phone_b):
        page.get_by_test_id("sync-now").click()
        page.get_by_test_id("visit-review").first.wait_for(timeout=15000)
        assert "两份记录一致" in page.get_by_test_id("visit-review").first.inner_text()
    for context in (context_a, context_b, desk):
        context.close()
