"""Every screen and every step at 360x640: no touch target under 44x44 CSS px (issue 12).

The walk also leaves a screenshot of each screen in test-artifacts/walk-*.png for a person to
look at, in Chinese, plus the home screen in English.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import draw_signature, screenshot, wait_for_sw_control
from tests.e2e.field_app import login, login_as, make_photo, small_touch_targets, start_visit

pytestmark = pytest.mark.e2e


def test_every_screen_and_step_has_touch_targets_of_44_px(live_server, context, page, tmp_path):
    failures: dict[str, list[str]] = {}

    def check(name: str) -> None:
        screenshot(page, f"walk-{name}")
        small = small_touch_targets(page)
        if small:
            failures[name] = small

    page.goto(f"{live_server.url}/app/")
    page.get_by_test_id("login-username").wait_for()
    check("01-login")
    login(page, live_server)
    wait_for_sw_control(page)
    check("02-home")
    # The status screen says how much of the app's storage quota is used.
    use = page.get_by_test_id("storage-use")
    assert "本机存储已用" in use.inner_text() and 0 <= float(use.get_attribute("data-share")) < 0.8
    page.get_by_test_id("lang-switch").click()
    page.get_by_test_id("assignment").first.wait_for()
    check("03-home-en")
    page.get_by_test_id("lang-switch").click()
    page.get_by_test_id("assignment").first.click()
    page.get_by_test_id("visit-start").wait_for()
    check("04-start")
    page.go_back()
    start_visit(page)
    steps = ["checks", "teacher", "attendance", "photos", "findings", "signatures", "summary"]
    for number, step in enumerate(steps, start=1):
        if number > 1:
            page.get_by_test_id("visit-next").click()
        page.locator(f'.visit[data-step="{step}"]').wait_for()
        if step == "teacher":
            page.get_by_test_id("teacher-no").click()
            page.get_by_test_id("content-yes").click()
        if step == "attendance":
            page.get_by_test_id("headcount").fill("5")
            page.get_by_text("全部到课").click()
            page.locator('[data-testid=attendee][data-present="true"]').first.wait_for()
        if step == "photos":
            page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "w.jpg",
                                                                              (800, 600))))
            page.locator("ul.thumbs img[src^='blob:']").wait_for()
        if step == "findings":
            page.get_by_test_id("verdict-issues").click()
        if step == "signatures":
            draw_signature(page, "signature-inspector")
            page.get_by_test_id("base-rep-name").fill("王校长")
            draw_signature(page, "signature-base")
            page.locator('[data-testid=signature-base][data-signed="true"]').wait_for()
        page.evaluate("window.scrollTo(0, 0)")
        check(f"05-step{number}-{step}")
        if step == "attendance":
            page.get_by_test_id("self-code").click()
            page.get_by_test_id("self-close").wait_for()
            check("05-step3-self-code")
            page.get_by_test_id("self-close").click()
    page.locator('[data-testid=visit-submit][data-files-checked="true"]').wait_for()
    # Sealed with no signal, so the record is surely still only on this phone when the
    # inspector logs out (online, it may already have synced and logout would not ask).
    context.set_offline(True)
    page.get_by_test_id("visit-submit").click()
    page.get_by_test_id("seal-confirm").wait_for()
    check("06-seal-confirm")
    page.get_by_test_id("seal-proceed").click()
    page.locator('[data-testid=record][data-state="sealed"]').wait_for()
    check("07-home-with-record")
    page.locator('[data-testid=record][data-state="sealed"]').click()
    page.get_by_test_id("record-view").wait_for()
    check("08-record")
    page.go_back()
    page.get_by_test_id("logout").click()
    page.get_by_test_id("logout-confirm").wait_for()
    check("09-logout-confirm")
    page.get_by_test_id("logout-proceed").click()
    page.get_by_test_id("login-username").wait_for()
    check("10-login-offline")
    context.set_offline(False)
    login_as(page, live_server, "city_inspector")
    page.get_by_test_id("covert-class").first.wait_for(timeout=15000)
    check("11-covert-classes")
    page.get_by_test_id("covert-class").first.click()
    page.get_by_test_id("covert-session").first.wait_for()
    check("12-covert-sessions")
    assert page.get_by_test_id("session-phase").first.get_attribute("data-phase") == "on"
    assert failures == {}, failures
