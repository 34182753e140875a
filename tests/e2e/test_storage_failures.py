"""Nothing counted that is not stored (issue 17, the field app's half).

The app is built with its test-only switch (SPOTCHECK_TEST_HOOKS=1, never in the production
bundle): `localStorage['spotcheck-test-fail-writes'] = 'media,drafts'` makes those IndexedDB
writes fail as a full phone would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import PWA_DIST, LiveServer, ensure_pwa_built, new_phone, screenshot
from tests.e2e.field_app import (
    build_with_test_hooks,
    fill_visit,
    idb_all,
    login,
    make_photo,
    next_step,
    start_visit,
)

pytestmark = pytest.mark.e2e
SWITCH = "spotcheck-test-fail-writes"


@pytest.fixture
def hooked_server(tmp_path):
    """A live server serving the field app built with the test-only switch."""
    dist = build_with_test_hooks(tmp_path / "dist-test-hooks")
    server = LiveServer(tmp_path / "instance", dist=dist)
    server.instance.mkdir()
    server.seed()
    server.start()
    yield server
    server.kill()


def test_the_switch_is_not_in_the_production_bundle(tmp_path):
    ensure_pwa_built()
    production = "".join(p.read_text(errors="replace") for p in Path(PWA_DIST).rglob("*.js"))
    hooked = build_with_test_hooks(tmp_path / "hooked")
    with_hooks = "".join(p.read_text(errors="replace") for p in hooked.rglob("*.js"))
    assert SWITCH in with_hooks
    assert SWITCH not in production


def test_a_photo_the_phone_could_not_store_is_not_counted_and_blocks_the_seal(
    browser, hooked_server, tmp_path):
    context = new_phone(browser, hooked_server.facts)
    try:
        page = context.new_page()
        login(page, hooked_server)
        start_visit(page)
        fill_visit(page, make_photo(tmp_path / "ok.jpg", (800, 600)))
        # Back to the photos: remove the one photo, then the phone's storage is "full".
        page.get_by_test_id("step-tab").and_(page.locator('[data-step="photos"]')).click()
        page.locator('.visit[data-step="photos"]').wait_for()
        page.locator("ul.thumbs button").click()
        page.get_by_test_id("photo-count").filter(has_text="已拍 0 张").wait_for()
        page.evaluate(f"localStorage.setItem('{SWITCH}', 'media')")
        page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "full.jpg",
                                                                          (640, 480))))
        lasting = page.get_by_test_id("lasting-message")
        lasting.wait_for()
        assert page.get_by_test_id("photo-count").inner_text() == "已拍 0 张"
        assert "存储空间已满" in lasting.inner_text() and "同步" in lasting.inner_text()
        assert "Quota" not in lasting.inner_text() and "test" not in lasting.inner_text()
        (draft,) = idb_all(page, "drafts")
        assert draft["photos"] == []
        assert [m for m in idb_all(page, "media") if not m["submitted"]
                and m["mime"] == "image/jpeg"] == []
        screenshot(page, "storage-01-photo-refused")
        # The message lasts: still there after other work on the page.
        next_step(page, "findings")
        assert lasting.is_visible()
        page.get_by_test_id("step-tab").and_(page.locator('[data-step="summary"]')).click()
        page.locator('.visit[data-step="summary"]').wait_for()
        page.locator('[data-testid=visit-submit][data-files-checked="true"]').wait_for()
        assert page.get_by_test_id("visit-submit").is_disabled()
        assert "至少拍摄一张现场照片" in page.get_by_test_id("summary-missing").inner_text()

        # Storage freed: the photo is retaken and the seal is possible again.
        page.evaluate(f"localStorage.removeItem('{SWITCH}')")
        page.get_by_test_id("step-tab").and_(page.locator('[data-step="photos"]')).click()
        page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "again.jpg",
                                                                          (640, 480))))
        page.get_by_test_id("photo-count").filter(has_text="已拍 1 张").wait_for()
        assert page.get_by_test_id("lasting-message").count() == 0
        page.get_by_test_id("step-tab").and_(page.locator('[data-step="summary"]')).click()
        page.locator('[data-testid=visit-submit][data-files-checked="true"]').wait_for()
        assert page.get_by_test_id("visit-submit").is_enabled()
    finally:
        context.close()


def test_a_visit_naming_a_file_missing_on_the_phone_cannot_be_sealed(browser, hooked_server,
                                                                     tmp_path):
    context = new_phone(browser, hooked_server.facts)
    try:
        page = context.new_page()
        login(page, hooked_server)
        start_visit(page)
        fill_visit(page, make_photo(tmp_path / "gone.jpg", (800, 600)))
        page.locator('[data-testid=visit-submit][data-files-checked="true"]').wait_for()
        assert page.get_by_test_id("visit-submit").is_enabled()
        # The photo's bytes vanish from the phone (evicted, a failed write of an older app).
        page.evaluate("""async () => {
            const req = indexedDB.open('spotcheck');
            const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
            const tx = db.transaction('media', 'readwrite');
            const store = tx.objectStore('media');
            const all = await new Promise((ok) => {
              const r = store.getAll(); r.onsuccess = () => ok(r.result); });
            for (const m of all) if (m.mime === 'image/jpeg') store.delete(m.sha256);
            await new Promise((ok) => { tx.oncomplete = ok; });
        }""")
        page.reload()
        page.locator('[data-testid=visit-submit][data-files-checked="true"]').wait_for()
        assert page.get_by_test_id("visit-submit").is_disabled()
        assert "不在本机" in page.get_by_test_id("missing-files").inner_text()
        # A failed draft write shows, lasts, and is undone on screen.
        page.get_by_test_id("step-tab").and_(page.locator('[data-step="findings"]')).click()
        page.locator('.visit[data-step="findings"]').wait_for()
        page.evaluate(f"localStorage.setItem('{SWITCH}', 'drafts')")
        page.get_by_test_id("verdict-compliant").click()
        page.get_by_test_id("lasting-message").wait_for()
        page.locator('[data-testid=verdict-issues][aria-pressed="true"]').wait_for()
        assert page.get_by_test_id("verdict-compliant").get_attribute("aria-pressed") == "false"
        # Nor does the step change while the draft cannot be written.
        page.get_by_test_id("visit-next").click()
        page.locator('.visit[data-step="findings"]').wait_for()
        assert page.get_by_test_id("lasting-message").is_visible()
    finally:
        context.close()


def test_the_status_screen_warns_before_the_quota_is_full(live_server, context, page):
    # The phone reports 90 % of the app's quota used (navigator.storage.estimate()).
    context.add_init_script("""navigator.storage.estimate = async () =>
        ({ usage: 900 * 1024 * 1024, quota: 1000 * 1024 * 1024 });""")
    login(page, live_server)
    use = page.get_by_test_id("storage-use")
    assert "快满了" in use.inner_text() and "900 MB / 1000 MB（90%）" in use.inner_text()
    assert "同步" in use.inner_text() and use.get_attribute("role") == "alert"
