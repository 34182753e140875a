"""The demo at 23:30: a newcomer does the demo visit and place and time match (issue 16)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.demo import DEMO_PASSWORD
from tests.e2e.conftest import (
    at_site,
    new_phone,
    screenshot,
    start_demo_server,
    wait_for_sw_control,
)
from tests.e2e.field_app import fill_visit, make_photo, seal, start_visit, wait_synced

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Playwright's clock fakes the page's Date but not the time stamp Chromium puts on a GPS fix, so
# a fix would look hours old (and could not verify the visit). On a real phone at 23:30 both
# clocks say 23:30: stamp the (real, context-given) position with the page's clock.
FIX_ON_PAGE_CLOCK = """
(() => {
  const geo = navigator.geolocation;
  const real = geo.getCurrentPosition.bind(geo);
  geo.getCurrentPosition = (ok, fail, options) => real(
    (p) => ok({ coords: p.coords, timestamp: Date.now() }), fail, options);
})();
"""


@pytest.fixture
def demo_server(tmp_path):
    """A server on a demo loaded at 23:30 Shanghai time yesterday (a visit synced next morning)."""
    moment = datetime.combine(datetime.now(SHANGHAI).date() - timedelta(days=1), time(23, 30),
                              SHANGHAI)
    server = start_demo_server(tmp_path, moment)
    yield server
    server.kill()


def test_the_demo_visit_at_23_30_matches_place_and_time(browser, demo_server, tmp_path):
    moment = datetime.fromisoformat(demo_server.facts["now"])
    context = new_phone(browser, demo_server.facts)
    at_site(context, demo_server.facts, "live", accuracy=12)
    page = context.new_page()
    page.add_init_script(FIX_ON_PAGE_CLOCK)
    page.clock.install(time=moment)  # the phone's clock says 23:30; it runs on from there
    page.goto(f"{demo_server.url}/app/")
    page.get_by_test_id("login-username").fill("covert")  # a team of one: one inspector signs
    page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("assignment").first.wait_for(timeout=15000)

    # The newcomer picks the session in progress now (22:30–23:59), not this morning's.
    start_visit(page, card_text="22:30")
    screenshot(page, "demo-2330-checks")
    assert page.locator("[data-testid=check-place]").get_attribute("data-status") == "match"
    assert page.locator("[data-testid=check-time]").get_attribute("data-status") == "match"
    fill_visit(page, make_photo(tmp_path / "photo.jpg"))
    # No signal at 23:30: the visit is sealed offline and synced next morning, when the
    # phone's clock agrees with the server's again (a skewed clock would make time unverifiable).
    wait_for_sw_control(page)
    context.set_offline(True)
    seal(page)
    page.locator('[data-testid=record][data-state=sealed]').first.wait_for()
    page.clock.set_system_time(datetime.now(SHANGHAI))
    context.set_offline(False)
    wait_synced(page)

    (checks,) = demo_server.sql("SELECT checks FROM visit WHERE device_id NOT LIKE 'demo-%'")[0:1]
    checks = json.loads(checks[0])
    assert checks["place"]["status"] == "match"
    assert checks["time"]["status"] == "match"
    assert len(demo_server.sql("SELECT id FROM visit WHERE device_id NOT LIKE 'demo-%'")) == 1
    context.close()
