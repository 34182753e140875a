"""Steps an inspector takes in the field app, for the browser tests."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.e2e.conftest import (
    PASSWORD,
    LiveServer,
    draw_signature,
    screenshot,
)


def make_photo(path: Path, size=(2400, 1800)) -> Path:
    """A JPEG bigger than 1600 px, so the app must downscale it."""
    image = Image.new("RGB", size, (40, 110, 160))
    for x in range(0, size[0], 200):
        for y in range(0, size[1], 200):
            image.paste((230, 200, 60), (x, y, x + 100, y + 100))
    image.save(path, "JPEG", quality=90)
    return path



def login(page, server: LiveServer, username: str = "inspector_a") -> None:
    """Open the app, log in and wait for the pulled assignment list."""
    page.goto(f"{server.url}/app/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("assignment").first.wait_for(timeout=15000)



def assignment_card(page, assignment_id: str):
    """The home screen's card of one assignment."""
    return page.locator(f'[data-testid=assignment][data-assignment-id="{assignment_id}"]')


def start_visit(page, card_text: str | None = None, assignment_id: str | None = None) -> None:
    """Open today's assignment (the first, the one showing `card_text`, or the one of
    `assignment_id`) and start the visit (the GPS fix is taken at once).

    A start time names a card only when no other assignment starts then: the demo has two
    08:30 assignments on some weekdays, so a team test picked either (a Monday's CI failed).
    """
    if assignment_id:
        cards = assignment_card(page, assignment_id)
    else:
        cards = page.get_by_test_id("assignment")
        cards = cards.filter(has_text=card_text) if card_text else cards
    cards.first.click()
    page.get_by_test_id("visit-start").click()
    page.locator('[data-testid=check-place][data-status]').wait_for()
    page.wait_for_function(
        "() => !document.querySelector('.gps').textContent.includes('…')", timeout=10000)



def next_step(page, key: str) -> None:
    page.get_by_test_id("visit-next").click()
    page.locator(f'.visit[data-step="{key}"]').wait_for()



def fill_visit(page, photo: Path, shots: str | None = None) -> None:
    """From the checks step to the summary: teacher, content, attendance, photo, verdict,
    signatures.
    """
    next_step(page, "teacher")
    page.get_by_test_id("teacher-yes").click()
    page.get_by_test_id("content-no").click()
    page.get_by_test_id("content-topic").fill("车床安全操作")
    if shots:
        screenshot(page, f"{shots}-03-teacher")
    next_step(page, "attendance")
    page.get_by_test_id("headcount").fill("5")
    for i in range(5):  # the first five present (one signed in already stays as it is)
        attendee = page.get_by_test_id("attendee").nth(i)
        if attendee.get_attribute("data-present") != "true":
            attendee.click()
        page.locator(f'[data-testid=attendee] >> nth={i}').and_(
            page.locator('[data-present="true"]')).wait_for()
    if shots:
        screenshot(page, f"{shots}-04-attendance")
    next_step(page, "photos")
    page.get_by_test_id("photo-input").set_input_files(str(photo))
    page.get_by_test_id("photo-count").filter(has_text="1").wait_for()
    page.locator("ul.thumbs img[src^='blob:']").wait_for()
    if shots:
        screenshot(page, f"{shots}-05-photos")
    next_step(page, "findings")
    page.locator('input[data-code="R7.content"]').check()
    page.get_by_test_id("finding-text").fill("教学内容与备案不一致")
    page.get_by_test_id("verdict-issues").click()
    if shots:
        screenshot(page, f"{shots}-06-findings")
    next_step(page, "signatures")
    slots = page.get_by_test_id("signature-inspector")
    for i in range(slots.count()):  # one slot per team member
        draw_signature(page, "signature-inspector", nth=i)
    page.get_by_test_id("base-rep-name").fill("王校长")
    draw_signature(page, "signature-base")
    page.locator('[data-testid=signature-base][data-signed="true"]').wait_for()
    for i in range(slots.count()):
        page.locator('[data-testid=signature-inspector]').nth(i).and_(
            page.locator('[data-signed="true"]')).wait_for()
    if shots:
        screenshot(page, f"{shots}-07-signatures")
    next_step(page, "summary")



def seal(page) -> None:
    """Press 封存并保存 and confirm in the dialog that lists what will be sealed."""
    page.get_by_test_id("visit-submit").click()
    page.get_by_test_id("seal-confirm").wait_for()
    page.get_by_test_id("seal-proceed").click()
    page.get_by_test_id("seal-confirm").wait_for(state="detached")



def wait_synced(page, timeout_ms: int = 20000) -> None:
    """Press 同步 and wait until nothing is left only on the phone.

    Trusts only a status bar read after the press (its data-as-of), with no sync running: the
    bar on the screen may have been read before the last seal, and its 0 was then no answer.
    """
    pressed = page.evaluate("() => performance.now()")
    page.get_by_test_id("sync-now").click()
    page.wait_for_function(
        """(pressed) => {
          const bar = document.querySelector('#status .syncbar');
          return !!bar && Number(bar.dataset.asOf) > pressed && bar.dataset.running === 'false'
            && bar.querySelector('[data-testid=sync-pending]')?.textContent === '0';
        }""", arg=pressed, timeout=timeout_ms)



def server_visits(server: LiveServer) -> list[dict]:
    rows = server.sql("SELECT id, payload, checks, seal FROM visit")
    return [{"id": r[0], "payload": json.loads(r[1]), "checks": json.loads(r[2]), "seal": r[3]}
            for r in rows]


def login_as(page, server: LiveServer, username: str, password: str = PASSWORD) -> None:
    """Log in from the login form (already open) and wait for the home screen's sync bar."""
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.locator("#status .syncbar").wait_for(timeout=15000)


def idb_all(page, store: str) -> list:
    """Every row of one IndexedDB store of the app (read behind the app's back)."""
    return page.evaluate("""async (store) => {
        const req = indexedDB.open('spotcheck');
        const db = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
        return new Promise((ok) => {
          const r = db.transaction(store).objectStore(store).getAll();
          r.onsuccess = () => ok(JSON.parse(JSON.stringify(r.result, (k, v) =>
            v instanceof ArrayBuffer ? v.byteLength : v)));
        });
    }""", store)


# Every element a finger can act on: buttons, inputs, selects, text areas, links, labels styled
# as buttons, and anything with role=button. A visually hidden file input (its label is the
# target) and elements not rendered are left out.
TOUCH_TARGETS_JS = """() => {
  const out = [];
  const sel = 'button, input, select, textarea, a[href], label.button, [role=button]';
  for (const el of document.querySelectorAll(sel)) {
    const style = getComputedStyle(el);
    if (el.type === 'hidden' || style.display === 'none' || style.visibility === 'hidden') continue;
    if (el.classList.contains('file') || style.opacity === '0') continue;
    if (el.closest('[hidden]')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width && !box.height) continue;
    if (box.width < 43.5 || box.height < 43.5) {
      out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}`
        + ` "${(el.textContent || el.value || el.getAttribute('aria-label') || '')
              .trim().slice(0, 20)}"`
        + ` ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return out;
}"""


def small_touch_targets(page) -> list[str]:
    """The touch targets on screen smaller than 44x44 CSS px, described for a failure message."""
    return page.evaluate(TOUCH_TARGETS_JS)


def build_with_test_hooks(out: Path) -> Path:
    """Build the field app with its test-only switches (IndexedDB writes failing on purpose)."""
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2] / "pwa"
    env = {**os.environ, "SPOTCHECK_DIST": str(out), "SPOTCHECK_TEST_HOOKS": "1"}
    subprocess.run(["node", "build.mjs"], cwd=root, env=env, check=True, capture_output=True)
    return out
