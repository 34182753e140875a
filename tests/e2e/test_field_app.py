"""The field app in headless Chromium against a real server: a visit offline, synced exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import uuid
from pathlib import Path

import pytest
from geopy.distance import geodesic
from PIL import Image

from tests.e2e.conftest import (
    PASSWORD,
    LiveServer,
    at_site,
    ensure_pwa_built,
    new_phone,
    screenshot,
    wait_for_sw_control,
)
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
















def review_visit(server: LiveServer, visit_id: str, decision: str, comment: str) -> None:
    """Record a reviewer's decision on the server and publish it to the inspector."""
    import uuid

    from server.extensions import db
    from server.models import User, Visit, VisitReview
    from server.services.changes import publish_visit_review
    from server.services.team_checks import check_members

    app = server.app()
    with app.app_context():
        reviewer = db.session.scalar(db.select(User).where(User.username == "county_a"))
        review = VisitReview(visit_id=uuid.UUID(visit_id), decision=decision, comment=comment,
                             reviewer_id=reviewer.id)
        db.session.add(review)
        db.session.flush()
        publish_visit_review(review, check_members(db.session.get(Visit, uuid.UUID(visit_id))))
        db.session.commit()
        db.engine.dispose()


def test_whole_visit_offline_reaches_the_server_exactly_once(live_server, context, page, tmp_path):
    login(page, live_server)
    wait_for_sw_control(page)
    screenshot(page, "01-assignments")
    context.set_offline(True)
    page.reload()  # served by the service worker, data from IndexedDB
    page.get_by_test_id("assignment").first.wait_for()
    assert page.get_by_test_id("network").inner_text() == "离线"

    start_visit(page)
    screenshot(page, "02-checks")
    assert page.get_by_test_id("check-place").get_attribute("data-status") == "match"
    assert page.get_by_test_id("check-time").get_attribute("data-status") == "match"
    fill_visit(page, make_photo(tmp_path / "classroom.jpg"), shots="visit")
    screenshot(page, "08-summary")
    assert "内容" in page.get_by_test_id("summary-mismatches").inner_text()
    seal(page)
    page.get_by_test_id("visit-row").first.wait_for()
    # One visit record (its 5 sign-ins inside it), with 1 photo and 2 signatures, is only on this
    # phone.
    assert page.get_by_test_id("sync-pending").inner_text() == "1"
    assert "1 份抽查记录（1 张照片、2 个签名）未上传" in page.get_by_test_id(
        "sync-line").inner_text()
    assert page.get_by_test_id("visit-row").first.get_attribute("data-state") == "local"
    screenshot(page, "09-pending")
    assert server_visits(live_server) == []
    assert live_server.sql("SELECT count(*) FROM media") == [(0,)]

    context.set_offline(False)
    wait_synced(page)
    page.locator('[data-testid=visit-row][data-state="synced"]').wait_for()
    screenshot(page, "10-synced")

    visits = server_visits(live_server)
    assert len(visits) == 1
    visit = visits[0]
    payload = visit["payload"]
    assert payload["assignment_id"] == live_server.facts["assignment_id"]
    assert visit["checks"]["place"]["status"] == "match"
    assert visit["checks"]["time"]["status"] == "match"
    assert visit["checks"]["content"]["status"] == "mismatch"
    assert visit["checks"]["attendance"]["status"] == "match"
    assert payload["verdict"] == "issues"
    assert [s["role"] for s in payload["signatures"]] == ["inspector", "base_representative"]
    assert live_server.sql("SELECT count(*) FROM sign_in") == [(5,)]
    hashes = [p["sha256"] for p in payload["photos"]] + [s["sha256"] for s in payload["signatures"]]
    assert len(hashes) == 3
    media_dir = live_server.instance / "media"
    for sha in hashes:
        data = (media_dir / sha[:2] / sha).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha
    photo = Image.open(io.BytesIO((media_dir / hashes[0][:2] / hashes[0]).read_bytes()))
    assert photo.format == "JPEG" and max(photo.size) == 1600
    # media/missing confirmed every file; the bytes stay on the phone for the keep period
    # (PHONE_KEEP_DAYS: a server restored from an older backup can get them again).
    left = page.evaluate("""async () => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        const rows = await new Promise((ok) => {
          const r = db.transaction('media').objectStore('media').getAll();
          r.onsuccess = () => ok(r.result); });
        return rows.map((m) => ({ confirmed: m.confirmed, bytes: m.bytes === null }));
    }""")
    assert left == [{"confirmed": True, "bytes": False}] * 3
    # The phone mints its records' ids time-ordered (UUIDv7, pwa/src/ids.js): the visit, each
    # sign-in and each mutation; mutations made later carry a later (or the same) millisecond.
    rows = live_server.sql("SELECT seq, mutation_id, entity_id FROM sync_ledger ORDER BY seq")
    ids = [uuid.UUID(mutation_id) for _, mutation_id, _ in rows]
    records = [uuid.UUID(entity_id) for _, _, entity_id in rows]
    assert len(rows) == 6 and [seq for seq, _, _ in rows] == list(range(1, 7))
    assert {i.version for i in ids + records} == {7}
    millis = [i.int >> 80 for i in ids]
    assert millis == sorted(millis)


def test_reload_mid_visit_keeps_the_draft(live_server, context, page, tmp_path):
    login(page, live_server)
    start_visit(page)
    next_step(page, "teacher")
    page.get_by_test_id("teacher-no").click()
    page.get_by_test_id("teacher-name").fill("张替课")
    next_step(page, "attendance")
    page.get_by_test_id("headcount").fill("4")
    page.get_by_test_id("attendee").nth(2).click()
    page.locator('[data-testid=attendee][data-present="true"]').wait_for()
    next_step(page, "photos")
    page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "p.jpg",
                                                                      (800, 600))))
    page.get_by_test_id("photo-count").filter(has_text="1").wait_for()
    next_step(page, "findings")
    page.get_by_test_id("finding-text").fill("替课教师无资质证明")
    # Every change is written to IndexedDB as it is made; reload once the newest write is done
    # (a reload in the same millisecond as the keystroke may abort that one write).
    page.locator("html[data-draft-saved=true]").wait_for(state="attached")

    page.reload()
    page.locator('.visit[data-step="findings"]').wait_for()
    assert page.get_by_test_id("finding-text").input_value() == "替课教师无资质证明"
    page.get_by_test_id("visit-prev").click()
    page.locator("ul.thumbs img[src^='blob:']").wait_for()
    assert "1" in page.get_by_test_id("photo-count").inner_text()
    page.get_by_test_id("visit-prev").click()
    assert page.get_by_test_id("headcount").input_value() == "4"
    present = page.locator('[data-testid=attendee][data-present="true"]')
    assert present.count() == 1
    page.get_by_test_id("visit-prev").click()
    assert page.get_by_test_id("teacher-no").get_attribute("aria-pressed") == "true"
    assert page.get_by_test_id("teacher-name").input_value() == "张替课"
    page.get_by_test_id("visit-prev").click()
    assert page.get_by_test_id("check-place").get_attribute("data-status") == "match"


def test_gps_two_km_away_is_a_place_mismatch_shown_and_stored(live_server, context, page, tmp_path):
    lat, lon = at_site(context, live_server.facts, "a", offset_m=2000, accuracy=20)
    site = live_server.facts["sites"]["a"]
    expected = geodesic((lat, lon), (site["lat"], site["lon"])).meters
    login(page, live_server)
    start_visit(page)
    place = page.get_by_test_id("check-place")
    assert place.get_attribute("data-status") == "mismatch"
    # The phone's geodesic distance agrees with geopy's (the server's) to the metre.
    assert f"距培训场所 {round(expected)} 米" in place.inner_text()
    screenshot(page, "11-place-mismatch")
    fill_visit(page, make_photo(tmp_path / "far.jpg", (640, 480)))
    assert "地点" in page.get_by_test_id("summary-mismatches").inner_text()
    seal(page)
    wait_synced(page)
    (visit,) = server_visits(live_server)
    assert visit["checks"]["place"]["status"] == "mismatch"
    assert visit["checks"]["place"]["distance_m"] == pytest.approx(expected, abs=0.1)
    # A reviewer's decision reaches the inspector's visit list by pull.
    review_visit(live_server, visit["id"], "rectification", "限期整改：恢复备案地点")
    page.get_by_test_id("sync-now").click()
    review = page.get_by_test_id("visit-review")
    review.wait_for()
    assert "责令整改" in review.inner_text() and "恢复备案地点" in review.inner_text()
    screenshot(page, "13-reviewed")
    stored = page.evaluate("""async () => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        return new Promise((ok) => {
          const r = db.transaction('visits').objectStore('visits').getAll();
          r.onsuccess = () => ok(r.result.map((v) => v.checks.place)); });
    }""")
    assert stored[0]["status"] == "mismatch"


def test_server_killed_during_sync_then_exactly_once_after_restart(live_server, context, page,
                                                                   tmp_path):
    login(page, live_server)
    start_visit(page)
    fill_visit(page, make_photo(tmp_path / "k.jpg"))
    live_server.kill()
    seal(page)
    page.get_by_test_id("visit-row").first.wait_for()
    page.get_by_test_id("sync-now").click()
    page.get_by_test_id("sync-error").wait_for(timeout=15000)  # the push failed: back-off
    assert page.get_by_test_id("sync-pending").inner_text() == "1"
    assert page.get_by_test_id("visit-row").first.get_attribute("data-state") == "local"
    # 导出未同步数据: one file with every unsynced mutation and media file, bytes intact.
    with page.expect_download() as download:
        page.get_by_test_id("sync-export").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert sorted(m["type"] for m in exported["outbox"]) == ["signin.create"] * 5 + ["visit.submit"]
    assert len(exported["media"]) == 3
    for media in exported["media"]:
        assert hashlib.sha256(base64.b64decode(media["base64"])).hexdigest() == media["sha256"]

    # Back up, but it dies after committing the push and before answering: the phone never
    # hears that its batch was applied.
    pushes = []

    def commit_then_crash(route):
        pushes.append(route.request.post_data_json)
        route.fetch()
        live_server.kill()
        route.abort("connectionreset")

    context.route("**/api/v1/sync/push", commit_then_crash)
    live_server.start()
    page.get_by_test_id("sync-now").click()
    for _ in range(200):  # until the push has been answered with a dead connection
        if pushes and live_server.proc is None:
            break
        page.wait_for_timeout(50)
    context.unroute("**/api/v1/sync/push")
    assert len(pushes) == 1 and len(pushes[0]["mutations"]) == 6
    assert len(server_visits(live_server)) == 1  # applied on the server...
    assert page.get_by_test_id("sync-pending").inner_text() == "1"  # ...but not known to the phone

    live_server.start()
    wait_synced(page, timeout_ms=30000)
    page.get_by_test_id("sync-now").click()  # once more: nothing may be applied twice
    page.locator('.syncbar[data-running="false"]').wait_for()
    assert len(server_visits(live_server)) == 1
    assert live_server.sql("SELECT count(*) FROM sign_in") == [(5,)]
    replayed = live_server.sql("SELECT count(*) FROM sync_ledger")
    assert replayed == [(6,)]
    page.locator('[data-testid=visit-row][data-state="synced"]').wait_for()


def test_new_app_version_while_a_visit_is_open_loses_nothing(browser, tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(ensure_pwa_built(), dist)
    server = LiveServer(tmp_path / "instance", dist=dist)
    server.instance.mkdir()
    server.seed()
    server.start()
    context = new_phone(browser, server.facts)
    try:
        page = context.new_page()
        login(page, server)
        wait_for_sw_control(page)
        old_caches = page.evaluate("caches.keys()")
        start_visit(page)
        next_step(page, "teacher")
        page.get_by_test_id("teacher-yes").click()
        page.get_by_test_id("teacher-name").fill("a理论老师")

        # Deploy a new version: the service worker script changes.
        sw = (dist / "sw.js").read_text(encoding="utf-8")
        version = json.loads((dist / "version.json").read_text())["version"]
        (dist / "sw.js").write_text(sw.replace(version, "f" * 16), encoding="utf-8")
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        page.wait_for_function(
            "() => navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)",
            timeout=15000)
        # Mid-visit: no banner, no reload, the answers are on screen.
        assert page.get_by_test_id("update-banner").count() == 0
        assert page.get_by_test_id("teacher-name").input_value() == "a理论老师"
        assert page.get_by_test_id("teacher-yes").get_attribute("aria-pressed") == "true"

        page.get_by_test_id("visit-prev").click()
        page.locator('.visit[data-step="checks"]').wait_for()
        page.get_by_role("button", name="‹ 返回").click()
        page.get_by_test_id("update-banner").wait_for()
        screenshot(page, "12-update-banner")
        with page.expect_event("load"):
            page.get_by_test_id("update-banner").click()
        page.get_by_test_id("assignment").first.wait_for()
        page.wait_for_function(
            "() => caches.keys().then((k) => k.length === 1 && k[0].endsWith('ffffffffffffffff'))")
        assert old_caches != page.evaluate("caches.keys()")
        page.get_by_test_id("assignment").first.click()
        page.locator('.visit[data-step="checks"]').wait_for()  # where the inspector left it
        next_step(page, "teacher")
        assert page.get_by_test_id("teacher-yes").get_attribute("aria-pressed") == "true"
        assert page.get_by_test_id("teacher-name").input_value() == "a理论老师"
    finally:
        context.close()
        server.kill()


def test_city_inspector_starts_a_covert_visit_on_any_class(live_server, context, page):
    at_site(context, live_server.facts, "b", offset_m=30, accuracy=10)
    page.goto(f"{live_server.url}/app/?lang=en")
    page.get_by_test_id("login-username").fill("city_inspector")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    covert = page.get_by_test_id("covert-class")
    covert.first.wait_for(timeout=15000)
    assert covert.count() == 2  # both counties: a city inspector has no county
    assert page.get_by_test_id("assignment").count() == 0
    covert.filter(has_text="b 车工技师班").click()
    page.get_by_test_id("covert-session").first.click()  # today's session comes first
    screenshot(page, "14-covert-start-en")
    page.get_by_test_id("visit-start").click()
    page.locator('[data-testid=check-place][data-status="match"]').wait_for()
    assert page.get_by_test_id("check-time").get_attribute("data-status") == "match"
    assert "Place" in page.get_by_test_id("check-place").inner_text()
