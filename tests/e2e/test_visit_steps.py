"""Steps that tell the truth, signatures and sealing, time on the cards (issue 12)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import at_site, draw_signature, screenshot, wait_for_sw_control
from tests.e2e.field_app import (
    fill_visit,
    login,
    make_photo,
    next_step,
    seal,
    server_visits,
    start_visit,
    wait_synced,
)

pytestmark = pytest.mark.e2e


def tab_states(page) -> dict[str, str]:
    return dict(page.get_by_test_id("step-tab").evaluate_all(
        "els => els.map(e => [e.dataset.step, e.dataset.state])"))


def test_mismatches_show_in_the_step_bar_become_findings_and_a_refusal_is_sealed(
        live_server, context, page, tmp_path):
    at_site(context, live_server.facts, "a", offset_m=2000, accuracy=20)
    login(page, live_server)
    start_visit(page)
    states = tab_states(page)
    assert states["checks"] == "mismatch"  # 2 km away: passing the step is not doing it
    assert {states[k] for k in ("teacher", "attendance", "photos", "findings",
                                "signatures")} == {"incomplete"}
    next_step(page, "teacher")
    page.get_by_test_id("teacher-no").click()
    page.get_by_test_id("teacher-name").fill("王秀英")
    page.get_by_test_id("content-yes").click()
    next_step(page, "attendance")
    assert tab_states(page)["teacher"] == "mismatch"
    page.get_by_test_id("headcount").fill("3")
    for i in range(2):
        page.get_by_test_id("attendee").nth(i).click()
        page.locator(f'[data-testid=attendee] >> nth={i}').and_(
            page.locator('[data-present="true"]')).wait_for()
    # Marked by hand looks different from a scan, and each row shows the ID's last four characters.
    assert page.get_by_test_id("attendee").first.get_attribute("data-method") == "manual"
    assert "手动点名" in page.get_by_test_id("attendee").first.inner_text()
    assert page.get_by_test_id("id-tail").count() == 5
    assert all(len(t.split("尾号 ")[1]) == 4
               for t in page.get_by_test_id("id-tail").all_inner_texts())
    next_step(page, "photos")
    assert tab_states(page)["attendance"] == "mismatch"
    page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "p.jpg",
                                                                      (800, 600))))
    page.get_by_test_id("photo-count").filter(has_text="1").wait_for()
    next_step(page, "findings")
    # Each mismatch is carried in as a finding the inspector can still change.
    for code in ("R10.place", "R7.teacher", "R10.attendance"):
        assert page.locator(f'input[data-code="{code}"]').is_checked(), code
    assert not page.locator('input[data-code="R7.content"]').is_checked()
    text = page.get_by_test_id("finding-text").input_value()
    assert "→ 王秀英" in text and "签到 2/5（40%），现场 3 人" in text
    page.locator('input[data-code="R10.place"]').uncheck()
    page.get_by_test_id("verdict-issues").click()
    next_step(page, "signatures")
    assert page.locator("section.sign h3").first.inner_text() == "抽查人员签名"
    draw_signature(page, "signature-inspector")
    page.locator('[data-testid=signature-inspector][data-signed="true"]').wait_for()
    page.get_by_test_id("base-refused").check()
    page.get_by_test_id("base-refused-reason").fill("负责人称需请示领导，拒绝签字")
    assert page.get_by_test_id("signature-base").count() == 0
    next_step(page, "summary")
    states = tab_states(page)
    assert states["photos"] == "done" and states["signatures"] == "done" and states[
        "findings"] == "done"
    compare = page.get_by_test_id("summary-compare").inner_text()
    assert "→ 王秀英" in compare and "签到 2/5（40%），现场 3 人" in compare
    screenshot(page, "steps-summary-mismatch")

    # Sealing asks first and lists what will be sealed, the refusal included.
    page.get_by_test_id("visit-submit").click()
    confirm = page.get_by_test_id("seal-confirm")
    confirm.wait_for()
    listed = page.get_by_test_id("seal-list").inner_text()
    assert "1 张照片" in listed and "拒签" in listed and "请示领导" in listed
    screenshot(page, "steps-seal-confirm")
    page.get_by_test_id("seal-cancel").click()
    confirm.wait_for(state="detached")
    assert page.locator('.visit[data-step="summary"]').count() == 1  # nothing sealed
    seal(page)
    # The list opens at the top, the new record first; it opens read-only.
    record = page.locator('[data-testid=record][data-state="sealed"]')
    record.wait_for()
    assert page.evaluate("window.scrollY") == 0
    record.click()
    view = page.get_by_test_id("record-view")
    view.wait_for()
    assert "请示领导" in page.get_by_test_id("record-base-refused").inner_text()
    assert view.locator("input, textarea").count() == 0
    page.go_back()
    wait_synced(page)
    (visit,) = server_visits(live_server)
    assert visit["payload"]["base_refused"] == {"reason": "负责人称需请示领导，拒绝签字"}
    assert [s["role"] for s in visit["payload"]["signatures"]] == ["inspector"]
    codes = [f["code"] for f in visit["payload"]["findings"]]
    assert "R7.teacher" in codes and "R10.place" not in codes


def add_assignments(live_server) -> dict[str, str]:
    """Assign inspector_a tomorrow's and a past session of class a, and today's a second time."""
    from server.extensions import db
    from server.models import PlanVersion, User
    from server.services.assignments import create_assignment

    facts = live_server.facts
    today = date.fromisoformat(facts["today"])
    with live_server.app().app_context():
        version = db.session.get(PlanVersion, uuid.UUID(facts["versions"]["a"]))
        user = db.session.get(User, uuid.UUID(facts["users"]["inspector_a"]))
        by_date = {}
        for session in version.sessions:
            by_date.setdefault(session.date, session)
        klass = uuid.UUID(facts["classes"]["a"])
        made = {
            "later": create_assignment(klass, by_date[today + timedelta(days=1)].id, [user]),
            "past": create_assignment(klass, by_date[today - timedelta(days=2)].id, [user]),
            "again": create_assignment(klass, uuid.UUID(facts["sessions"]["a"]), [user]),
        }
        db.session.commit()
        return {key: str(a.id) for key, a in made.items()}


def test_cards_say_whether_a_session_is_on_and_starting_outside_it_asks(live_server, context, page,
                                                                        tmp_path):
    add_assignments(live_server)
    login(page, live_server)
    wait_for_sw_control(page)
    cards = page.get_by_test_id("assignment")
    page.locator('[data-testid=session-phase][data-phase="before"]').wait_for()
    assert cards.count() == 3  # today's session assigned twice shows once
    phases = page.get_by_test_id("session-phase").evaluate_all("els => els.map(e => "
                                                               "e.dataset.phase)")
    assert sorted(phases) == ["after", "before", "on"]
    assert "未开始（" in page.locator('[data-phase="before"]').inner_text()
    assert "后开始" in page.locator('[data-phase="before"]').inner_text()
    assert page.locator('[data-phase="after"]').inner_text() == "已结束"
    assert page.locator('[data-phase="on"]').inner_text() == "进行中"
    screenshot(page, "time-01-cards")
    cards.filter(has=page.locator('[data-phase="before"]')).click()
    page.get_by_test_id("visit-start").click()
    ask = page.get_by_test_id("start-confirm")
    ask.wait_for()
    assert "还未开始" in ask.inner_text()
    screenshot(page, "time-02-start-confirm")
    page.get_by_test_id("start-cancel").click()
    ask.wait_for(state="detached")
    assert page.get_by_test_id("visit-start").is_visible()  # nothing started
    page.go_back()

    # Today's session (on): no question; once sealed the card says 已完成 and opens the record.
    cards.filter(has=page.locator('[data-phase="on"]')).click()
    page.get_by_test_id("visit-start").click()
    page.locator(".visit[data-step=checks]").wait_for()
    assert page.get_by_test_id("start-confirm").count() == 0
    page.locator('[data-testid=check-place][data-status="match"]').wait_for()
    fill_visit(page, make_photo(tmp_path / "t.jpg", (800, 600)))
    seal(page)
    done = page.get_by_test_id("assignment-done")
    done.wait_for()
    assert done.inner_text() == "已完成"
    assert page.get_by_test_id("assignment").count() == 3
    cards.filter(has=done).click()
    page.get_by_test_id("record-view").wait_for()
