"""A phone shared by inspectors (issue 12): each record belongs to its author.

Two users on one phone: the first seals a visit offline and is warned at logout how many records
are only on the phone; the second sees none of them and never pushes them; the first logs in
again offline with their password (a PBKDF2 verifier on the phone, never the password) and their
visit reaches the server under their own name. A record the server refuses is kept, explained in
Chinese, exported, and sent again when the plan changes.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.conftest import PASSWORD, screenshot, wait_for_sw_control
from tests.e2e.field_app import (
    fill_visit,
    idb_all,
    login,
    login_as,
    make_photo,
    seal,
    server_visits,
    start_visit,
)

pytestmark = pytest.mark.e2e


def hex_id(value: str) -> str:
    return uuid.UUID(value).hex


def test_two_inspectors_share_a_phone_and_each_keeps_their_own_records(live_server, context, page,
                                                                       tmp_path):
    facts = live_server.facts
    login(page, live_server, "inspector_a")
    wait_for_sw_control(page)
    context.set_offline(True)
    start_visit(page)
    fill_visit(page, make_photo(tmp_path / "a.jpg", (800, 600)))
    seal(page)
    page.locator('[data-testid=record][data-state="sealed"]').wait_for()
    assert page.get_by_test_id("sync-pending").inner_text() == "1"

    # Logging out with work only on this phone asks first and says how much.
    page.get_by_test_id("logout").click()
    dialog = page.get_by_test_id("logout-confirm")
    dialog.wait_for()
    assert page.get_by_test_id("logout-count").get_attribute("data-count") == "1"
    assert "1 份记录只在本机" in dialog.inner_text()
    screenshot(page, "shared-01-logout-confirm")
    page.get_by_test_id("logout-cancel").click()
    dialog.wait_for(state="detached")
    assert page.get_by_test_id("sync-pending").inner_text() == "1"  # still logged in
    page.get_by_test_id("logout").click()
    page.get_by_test_id("logout-proceed").click()
    page.get_by_test_id("login-username").wait_for()

    # Another inspector (the city's covert one) logs in on the same phone: none of the first
    # one's work is theirs, and their own visit (numbered from seq 1 in their own seq space)
    # leaves the first one's entries alone.
    context.set_offline(False)
    login_as(page, live_server, "city_inspector")
    page.get_by_test_id("covert-class").first.wait_for(timeout=15000)
    assert page.get_by_test_id("record").count() == 0
    assert page.get_by_test_id("sync-pending").inner_text() == "0"
    assert server_visits(live_server) == []
    context.set_offline(True)
    page.get_by_test_id("covert-class").first.click()
    page.get_by_test_id("covert-session").first.click()
    page.get_by_test_id("visit-start").click()
    page.locator('[data-testid=check-place][data-status]').wait_for()
    fill_visit(page, make_photo(tmp_path / "b.jpg", (640, 480)))
    seal(page)
    page.locator('[data-testid=record][data-state="sealed"]').wait_for()
    assert page.get_by_test_id("record").count() == 1  # their own only
    outbox = idb_all(page, "outbox")
    by_user = {}
    for entry in outbox:
        by_user.setdefault(entry["user_id"], []).append(entry["seq"])
    assert sorted(by_user[facts["users"]["inspector_a"]]) == [1, 2, 3, 4, 5, 6]
    assert sorted(by_user[facts["users"]["city_inspector"]]) == [1, 2, 3, 4, 5, 6]
    context.set_offline(False)
    page.locator('[data-testid=record][data-state="synced"]').wait_for(timeout=30000)
    (covert,) = live_server.sql("SELECT inspector_id FROM visit")
    assert hex_id(str(covert[0])) == hex_id(facts["users"]["city_inspector"])
    assert len(idb_all(page, "outbox")) == 6  # inspector_a's, untouched
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-username").wait_for()
    assert page.get_by_test_id("logout-confirm").count() == 0  # nothing of theirs left to lose

    # Offline, the first inspector logs in again with their password (a wrong one is refused).
    context.set_offline(True)
    page.get_by_test_id("login-username").fill("inspector_a")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    page.locator("form.login .warn").filter(has_text="离线登录").wait_for()
    login_as(page, live_server, "inspector_a")
    page.locator('[data-testid=record][data-state="sealed"]').wait_for()
    screenshot(page, "shared-02-offline-login")
    meta = idb_all(page, "meta")
    assert PASSWORD not in json.dumps(meta, ensure_ascii=False)
    (accounts,) = [row for row in meta if isinstance(row, dict)
                   and isinstance(row.get("inspector_a"), dict)
                   and "verifier" in row["inspector_a"]]
    assert set(accounts) == {"inspector_a", "city_inspector"}
    account = accounts["inspector_a"]
    assert account["iterations"] >= 210_000 and len(account["verifier"]) == 44

    # Back online: a token from the password held in memory, and the visit goes up as theirs.
    context.set_offline(False)
    page.locator('[data-testid=record][data-state="synced"]').wait_for(timeout=30000)
    rows = live_server.sql("SELECT inspector_id, device_id FROM visit")
    visits = {hex_id(str(row[0])): row[1] for row in rows}
    a_id, city_id = hex_id(facts["users"]["inspector_a"]), hex_id(facts["users"]["city_inspector"])
    assert set(visits) == {a_id, city_id}
    # Each user pushed under their own device id: two seq spaces, never mixed.
    assert visits[a_id] != visits[city_id]


def test_a_refused_record_is_kept_explained_exported_and_retried_after_a_plan_change(
        live_server, context, page, tmp_path):
    login(page, live_server)
    wait_for_sw_control(page)
    context.set_offline(True)
    start_visit(page)
    fill_visit(page, make_photo(tmp_path / "r.jpg", (800, 600)))
    seal(page)
    # The stored record is damaged behind the app's back: the server will refuse its seal.
    page.evaluate("""async () => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        const tx = db.transaction('outbox', 'readwrite');
        const store = tx.objectStore('outbox');
        const all = await new Promise((ok) => {
          const r = store.getAll(); r.onsuccess = () => ok(r.result); });
        const entry = all.find((e) => e.type === 'visit.submit');
        store.put({ ...entry, payload: { ...entry.payload, seal: 'f'.repeat(64) } });
        await new Promise((ok) => { tx.oncomplete = ok; });
    }""")
    context.set_offline(False)
    page.get_by_test_id("sync-now").click()
    page.locator('[data-testid=record][data-state="rejected"]').wait_for(timeout=30000)
    refused = page.get_by_test_id("rejected-entry")
    assert refused.count() == 1
    assert "封存码与内容不一致" in refused.inner_text()
    assert "seal" not in refused.inner_text()
    # Not on the server, so still counted; never deleted from the phone.
    assert page.get_by_test_id("sync-pending").inner_text() == "1"
    assert len(idb_all(page, "rejected")) == 1
    screenshot(page, "shared-03-rejected")
    page.locator('[data-testid=record][data-state="rejected"]').click()
    page.get_by_test_id("record-view").filter(has_text="封存码与内容不一致").wait_for()
    page.go_back()
    with page.expect_download() as download:
        page.get_by_test_id("rejected-export").click()
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert [e["code"] for e in exported["rejected"]] == ["visit.seal_mismatch"]
    assert exported["rejected"][0]["payload"]["class_id"] == live_server.facts["classes"]["a"]

    # A plan change reaches the phone: the refused record is sent once more (new seq).
    from server.extensions import db
    from server.models import PlanVersion
    from tests.sync.fixtures import new_plan_version

    app = live_server.app()
    with app.app_context():
        new_plan_version(db.session.get(PlanVersion, uuid.UUID(live_server.facts["versions"]["a"])))
        db.session.commit()
    page.get_by_test_id("sync-now").click()
    query = "SELECT count(*) FROM sync_ledger WHERE type = 'visit.submit' AND status = 'rejected'"
    for _ in range(200):
        if live_server.sql(query) == [(2,)]:
            break
        page.wait_for_timeout(100)
    assert live_server.sql(query) == [(2,)]
    page.locator('[data-testid=record][data-state="rejected"]').wait_for()
    assert len(idb_all(page, "rejected")) == 1
