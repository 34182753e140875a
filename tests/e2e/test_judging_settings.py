"""A configuration change of the server's judging reaches the phone with its next pull, with no
plan version republished, and holds on an offline start (services/pull.py, pwa/src/scope.js)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import at_site, screenshot, wait_for_sw_control
from tests.e2e.field_app import login, start_visit, wait_synced

pytestmark = pytest.mark.e2e


def test_a_stricter_gps_setting_reaches_the_phone_without_a_new_plan_version(
        live_server, context, page):
    # A fix of 80 m: good enough under the default 200 m, not under the bureau's new 50 m.
    at_site(context, live_server.facts, "a", offset_m=10, accuracy=80)
    login(page, live_server)
    versions_before = live_server.sql("SELECT count(*) FROM plan_version")
    # The bureau tightens the setting; the server restarts with it, nothing is republished.
    live_server.env["GPS_MAX_ACCURACY_M"] = "50"
    live_server.restart()
    wait_synced(page)
    assert live_server.sql("SELECT count(*) FROM plan_version") == versions_before
    # An offline start reads the settings the last pull page brought (the app's memory is gone).
    wait_for_sw_control(page)
    context.set_offline(True)
    page.reload()
    start_visit(page)
    place = page.get_by_test_id("check-place")
    assert place.get_attribute("data-status") == "unverifiable"
    screenshot(page, "judging-stricter-gps")
