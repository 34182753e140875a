"""The field app recovers without losing or doubling anything: a photo upload cut mid-way resumes
from the server's offset, and a pull answered 409 sync.reset wipes only the server cache."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import screenshot, wait_for_sw_control
from tests.e2e.field_app import (
    fill_visit,
    login,
    make_photo,
    seal,
    server_visits,
    start_visit,
    wait_synced,
)

pytestmark = pytest.mark.e2e

CHUNK = 256 * 1024  # pwa/src/tus.js sends the file in chunks of this size
UPLOADS = re.compile(r"/api/v1/media/uploads(/[^/?]+)?$")

IDB_READ = """async ([store]) => {
    const req = indexedDB.open('spotcheck');
    const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
    return new Promise((ok) => {
      const r = db.transaction(store).objectStore(store).getAll();
      r.onsuccess = () => ok(r.result); });
}"""


def make_noisy_photo(path: Path, size=(1400, 1050)) -> Path:
    """A JPEG of noise: it stays above 1 MB after the app re-encodes it, so it takes several chunks.
    """
    rng = random.Random(7)
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(path, "JPEG",
                                                                            quality=90)
    return path


def phone_photo(page) -> dict:
    """The photo the phone holds: its recorded SHA-256, the SHA-256 of its bytes, and its size."""
    return page.evaluate("""async () => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        const rows = await new Promise((ok) => {
          const r = db.transaction('media').objectStore('media').getAll();
          r.onsuccess = () => ok(r.result); });
        const photo = rows.find((m) => m.mime === 'image/jpeg');
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', photo.bytes));
        const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
        return { sha256: photo.sha256, hashed: hex, size: photo.bytes.byteLength };
    }""")


def test_photo_upload_cut_mid_way_resumes_from_the_server_offset(live_server, context, page,
                                                                 tmp_path):
    login(page, live_server)
    wait_for_sw_control(page)
    context.set_offline(True)
    start_visit(page)
    fill_visit(page, make_noisy_photo(tmp_path / "noise.jpg"))
    seal(page)
    page.get_by_test_id("visit-row").first.wait_for()
    photo = phone_photo(page)
    assert photo["hashed"] == photo["sha256"]
    assert photo["size"] > 3 * CHUNK  # the resumed part is at least one whole chunk

    # The photo's second chunk reaches the server, but its answer is lost (connection reset);
    # while the fault lasts, every later chunk of the photo is refused outright.
    seen: list[dict] = []
    fault = {"on": True, "tripped": False}

    def flaky_uploads(route):
        request = route.request
        offset = request.headers.get("upload-offset")
        seen.append({"method": request.method, "url": request.url, "offset": offset,
                     "length": request.headers.get("upload-length")})
        if request.method == "PATCH" and offset not in (None, "0") and fault["on"]:
            if not fault["tripped"]:
                fault["tripped"] = True
                route.fetch()
            route.abort("connectionreset")
            return
        route.continue_()

    heads: list[int] = []
    context.on("response", lambda r: heads.append(int(r.headers["upload-offset"]))
               if r.request.method == "HEAD" and UPLOADS.search(r.url) and r.ok else None)
    context.route(UPLOADS, flaky_uploads)
    context.set_offline(False)
    page.get_by_test_id("sync-now").click()
    page.get_by_test_id("sync-error").wait_for(timeout=20000)
    # The back-off retries by itself: HEAD says where the server stopped, the PATCH from there
    # fails.
    context.wait_for_event("response",
                           lambda r: r.request.method == "HEAD" and bool(UPLOADS.search(r.url)),
                           timeout=20000)
    page.locator('.syncbar[data-running="false"]').wait_for()
    assert fault["tripped"]
    assert int(page.get_by_test_id("sync-pending").inner_text()) > 0
    assert page.get_by_test_id("visit-row").first.get_attribute("data-state") == "uploading"
    assert len(server_visits(live_server)) == 1  # the push went through; the photo did not
    assert live_server.sql("SELECT count(*) FROM media WHERE sha256 = ?",
                           (photo["sha256"],)) == [(0,)]
    assert heads and set(heads) == {2 * CHUNK}  # the server kept both chunks it received
    screenshot(page, "15-upload-interrupted")

    fault["on"] = False
    page.locator('.syncbar[data-running="false"]').wait_for()
    wait_synced(page, timeout_ms=30000)
    context.unroute(UPLOADS)
    page.locator('[data-testid=visit-row][data-state="synced"]').wait_for()

    photo_url = next(s["url"] for s in seen if s["method"] == "PATCH" and s["offset"] not in (None,
                                                                                              "0"))
    photo_log = [s for s in seen if s["url"] == photo_url]
    patches = [int(s["offset"]) for s in photo_log if s["method"] == "PATCH"]
    # 0 and CHUNK once each, then never again from the start: every retry resumed at 2 * CHUNK,
    # and after the fault the remaining chunks followed in order.
    assert patches[:2] == [0, CHUNK]
    resumed = patches[2:]
    assert resumed and min(resumed) == 2 * CHUNK
    tail = sorted(set(resumed))
    assert tail == list(range(2 * CHUNK, photo["size"], CHUNK))
    # Each resume asked the server first: a HEAD precedes every PATCH after the lost answer.
    after_loss = photo_log[next(i for i,
                                s in enumerate(photo_log) if s["offset"] == str(CHUNK)) + 1:]
    assert after_loss[0]["method"] == "HEAD"
    creates = [s for s in seen if s["method"] == "POST" and s["length"] == str(photo["size"])]
    assert len(creates) == 1  # one upload, resumed; never started again

    assert len(server_visits(live_server)) == 1
    (visit,) = server_visits(live_server)
    assert [p["sha256"] for p in visit["payload"]["photos"]] == [photo["sha256"]]
    assert live_server.sql("SELECT size FROM media WHERE sha256 = ?",
                           (photo["sha256"],)) == [(photo["size"],)]
    assert live_server.sql("SELECT count(*) FROM upload WHERE sha256 = ?",
                           (photo["sha256"],)) == [(1,)]
    stored = live_server.instance / "media" / photo["sha256"][:2] / photo["sha256"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == photo["sha256"]


def new_epoch(server) -> str:
    """Start a new sync epoch in the server's database (as a restore from backup does)."""
    from server.extensions import db
    from server.services.changes import new_epoch as start_epoch

    app = server.app()
    with app.app_context():
        epoch = start_epoch()
        db.session.commit()
        db.engine.dispose()
    return epoch


def test_sync_reset_wipes_the_server_cache_keeps_the_outbox_and_stops(live_server, context, page,
                                                                      tmp_path):
    login(page, live_server)
    wait_for_sw_control(page)
    cached_before = sorted(row["key"] for row in page.evaluate(IDB_READ, ["cache"]))
    assert any(key.startswith("assignment:") for key in cached_before)
    context.set_offline(True)
    start_visit(page)
    fill_visit(page, make_photo(tmp_path / "r.jpg", (800, 600)))
    # Something the new epoch's pull will never send: a wipe must remove it.
    page.evaluate("""async () => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        const tx = db.transaction('cache', 'readwrite');
        tx.objectStore('cache').put(
          { key: 'assignment:stale', type: 'assignment', id: 'stale', data: {} });
        await new Promise((ok) => { tx.oncomplete = ok; });
    }""")
    epoch = new_epoch(live_server)

    # The first pull is held until the visit has been submitted, so the outbox is full when the
    # 409 arrives (push runs before pull: otherwise it would already be empty).
    held = []
    pulls: list[dict] = []

    def hold_first_pull(route):
        if not held:
            held.append(route)
            return
        route.continue_()

    def on_response(response):
        if "/api/v1/sync/pull" in response.url:
            pulls.append({"status": response.status, "cursor": "cursor=" in response.url,
                          "body": response.json()})

    context.on("response", on_response)
    context.route("**/api/v1/sync/pull*", hold_first_pull)
    with page.expect_request(lambda r: "/api/v1/sync/pull" in r.url, timeout=15000):
        context.set_offline(False)  # the 'online' event starts a sync
    seal(page)
    page.get_by_test_id("visit-row").first.wait_for()
    outbox = page.evaluate(IDB_READ, ["outbox"])
    assert sorted(m["type"] for m in outbox) == ["signin.create"] * 5 + ["visit.submit"]
    assert held, "the pull was not routed"
    held[0].continue_()
    wait_synced(page, timeout_ms=30000)
    page.locator('.syncbar[data-running="false"]').wait_for()
    context.unroute("**/api/v1/sync/pull*")

    # One 409 for the old cursor, then a pull from the start (no cursor) that succeeds.
    assert [p["status"] for p in pulls[:2]] == [409, 200]
    assert pulls[0]["body"]["code"] == "sync.reset" and pulls[0]["body"]["details"][
        "epoch"] == epoch
    assert pulls[0]["cursor"] and not pulls[1]["cursor"]
    assert all(p["status"] == 200 and p["cursor"] for p in pulls[2:])
    assert page.get_by_test_id("sync-error").count() == 0
    page.get_by_test_id("assignment").first.wait_for()
    cached_after = sorted(row["key"] for row in page.evaluate(IDB_READ, ["cache"]))
    assert "assignment:stale" not in cached_after
    assert set(cached_before) <= set(cached_after)

    # The outbox survived the wipe and reached the server exactly once.
    assert len(server_visits(live_server)) == 1
    assert live_server.sql("SELECT count(*) FROM sign_in") == [(5,)]
    assert live_server.sql("SELECT count(*) FROM sync_ledger") == [(6,)]
    assert page.evaluate(IDB_READ, ["outbox"]) == []
    page.locator('[data-testid=visit-row][data-state="synced"]').wait_for()

    # The next pull goes on from the new cursor: no second reset, no loop.
    done = len(pulls)
    with page.expect_response(lambda r: "/api/v1/sync/pull" in r.url, timeout=15000) as answer:
        page.get_by_test_id("sync-now").click()
    assert answer.value.status == 200 and "cursor=" in answer.value.url
    page.locator('.syncbar[data-running="false"]').wait_for()
    later = pulls[done:]
    assert len(later) == 1 and later[0]["status"] == 200  # one sync, one page: no pulling in a loop
    assert len(server_visits(live_server)) == 1


def test_a_page_loaded_past_the_service_worker_is_taken_under_it(live_server, context, page):
    # A hard reload (or a reload while the shell was still precaching) loads the page from the
    # network, uncontrolled: the app asks the active worker to claim it, so what it fetches next
    # still has an offline answer, with no second reload.
    login(page, live_server)
    wait_for_sw_control(page)
    cdp = context.new_cdp_session(page)
    cdp.send("Page.reload", {"ignoreCache": True})  # bypasses the service worker
    page.wait_for_load_state("load")
    page.get_by_test_id("assignment").first.wait_for()
    wait_for_sw_control(page)
    context.set_offline(True)
    # Served by the worker from its cache: the page's own assets, offline.
    assert page.evaluate("""async () => (await fetch('app.css')).ok""")
