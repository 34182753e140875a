"""QR sign-in in headless Chromium: badges scanned offline through the fake camera (jsQR in a
worker), and the self sign-in flow on a trainee's own phone in a second browser context."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import qrcode
import requests
from PIL import Image

from server.services.idcard import synthetic_id_number
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    ROOT,
    at_site,
    draw_signature,
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

FRAME = (480, 360)


def make_badges(server, out: Path) -> dict[str, Path]:
    """Run the real `badges make` for class a against the live server's database."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "badges", "make", "--class",
                    server.facts["classes"]["a"], "--out", str(out)],
                   cwd=ROOT, env=server.env, check=True, capture_output=True)
    return {p.stem: p for p in out.glob("*.png")}


def forged_badge_png(genuine_png: Path, out: Path) -> Path:
    """A badge whose signature was tampered with: same layout, one byte changed."""
    import zxingcpp

    token = zxingcpp.read_barcodes(Image.open(genuine_png),
                                    formats=zxingcpp.BarcodeFormat.QRCode)[0].text
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    raw[-5] ^= 0x40
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    qrcode.make(forged, border=4).save(out)
    return out


def _frame(png: Path | None) -> Image.Image:
    canvas = Image.new("RGB", FRAME, (235, 235, 230))
    if png is not None:
        badge = Image.open(png).convert("RGB")
        badge.thumbnail((FRAME[0] - 60, FRAME[1] - 40))
        canvas.paste(badge, ((FRAME[0] - badge.width) // 2, (FRAME[1] - badge.height) // 2))
    return canvas


def write_y4m(path: Path, segments: list[tuple[Path | None, int]], fps: int = 5) -> Path:
    """Write a 4:2:0 Y4M video: each segment shows one badge (or nothing) for n frames."""
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{FRAME[0]} H{FRAME[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for png, frames in segments:
            y, cb, cr = _frame(png).convert("YCbCr").split()
            half = (FRAME[0] // 2, FRAME[1] // 2)
            planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
            for _ in range(frames):
                fh.write(b"FRAME\n" + planes)
    return path


def last6_of(index: int, county: str = "a") -> str:
    """The last 6 ID characters of trainee `<county>学员<index>` of the test world."""
    born = date(1990, 1, 1) + timedelta(days=97 * index)
    serial = 100 + index + (500 if county == "b" else 0)
    return synthetic_id_number("370702", born, serial)[-6:]


def visit_at_attendance(page) -> str:
    """Start today's visit, confirm teacher and content, open the attendance step; return the
    visit's id."""
    start_visit(page)
    visit_id = page.locator(".visit[data-visit-id]").get_attribute("data-visit-id")
    next_step(page, "teacher")
    page.get_by_test_id("teacher-yes").click()
    page.get_by_test_id("content-yes").click()
    next_step(page, "attendance")
    return visit_id


def sign_in_on_own_phone(phone, server_url: str, code: str, index: int,
                         shot: str | None = None) -> None:
    """Trainee `a学员<index>` opens the code's form on their own phone, fills it in with a
    signature and the phone's location, and sends it (the answer page is left open)."""
    phone.goto(f"{server_url}/s/{code}")
    phone.get_by_test_id("self-name").fill(f"a学员{index}")
    phone.get_by_test_id("self-id-last6").fill(last6_of(index))
    draw_signature(phone, "self-signature")
    phone.get_by_test_id("self-geo-status").filter(has_text="已获取位置").wait_for()
    if shot:
        screenshot(phone, shot)
    phone.get_by_test_id("self-submit").click()
    phone.get_by_test_id("self-result").wait_for()


def test_badges_scanned_offline_with_the_camera_reach_the_server(live_server, playwright, tmp_path):
    facts = live_server.facts
    badges = make_badges(live_server, tmp_path / "badges")
    first, second = facts["roster"]["a"][0], facts["roster"]["a"][1]
    forged = forged_badge_png(badges[first], tmp_path / "forged.png")
    # The first badge stays in view while its trainee signs (the scanner pauses, then resumes
    # with the badge still held up), so the next code seen is the second badge.
    video = write_y4m(tmp_path / "badges.y4m", [
        (badges[first], 30), (None, 6), (badges[second], 12), (None, 6), (forged, 12), (None, 6)])
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
    # A browser of its own: the fake camera is a launch option.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    try:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN",
            timezone_id="Asia/Shanghai", service_workers="allow",
            permissions=["geolocation", "camera"])
        at_site(context, facts)
        page = context.new_page()
        login(page, live_server)
        wait_for_sw_control(page)
        context.set_offline(True)
        start_visit(page)
        next_step(page, "teacher")
        page.get_by_test_id("teacher-yes").click()
        page.get_by_test_id("content-yes").click()
        next_step(page, "attendance")
        page.get_by_test_id("scan-badges").click()
        page.locator("[data-testid=scan-engine][data-engine]").wait_for(timeout=15000)
        # No BarcodeDetector backend on Linux Chromium: jsQR in the worker decodes.
        assert page.get_by_test_id("scan-engine").get_attribute("data-engine") == "jsqr-worker"
        message = page.get_by_test_id("scan-message")
        message.filter(has_text="a学员0 签到成功").wait_for(timeout=20000)
        screenshot(page, "qr-01-scanner")
        # 本人签名 on the inspector's phone: the first trainee signs, the second skips.
        page.get_by_test_id("signin-signature").wait_for()
        assert page.get_by_test_id("signin-signature-confirm").is_disabled()
        draw_signature(page, "signin-signature")
        page.locator('[data-testid=signin-signature][data-signed="true"]').wait_for()
        screenshot(page, "qr-07-trainee-signature")
        page.get_by_test_id("signin-signature-confirm").click()
        message.filter(has_text="a学员0 已签名").wait_for()
        assert page.get_by_test_id("signin-signature").count() == 0
        message.filter(has_text="a学员1 签到成功").wait_for(timeout=20000)
        page.get_by_test_id("signin-signature-skip").click()
        assert page.get_by_test_id("signin-signature").count() == 0
        message.filter(has_text="伪造或损坏").wait_for(timeout=20000)
        message.filter(has_text="a学员0 已签到").wait_for(timeout=20000)  # the loop shows it again
        page.get_by_test_id("scan-close").click()
        present = page.locator('[data-testid=attendee][data-present="true"]')
        assert sorted(present.evaluate_all("els => els.map(e => e.dataset.traineeId)")) \
            == sorted([first, second])
        screenshot(page, "qr-02-attendance")
        # Scanned trainees look different from hand-marked ones.
        methods = page.locator('[data-testid=attendee][data-present="true"]').evaluate_all(
            "els => els.map(e => e.dataset.method)")
        assert methods == ["badge", "badge"]
        assert "扫码签到" in present.first.inner_text()
        # A scan is evidence the record keeps (collectSignins): tapping the trainee does not
        # make them absent on the phone while the server would count the scan present.
        assert present.first.is_disabled()  # aria-disabled: a screen reader says so too
        present.first.click(force=True)  # tapped anyway
        assert present.count() == 2
        # The anomaly count (the forged badge, the repeat scan) survives a reload.
        counted = page.get_by_test_id("scan-count").inner_text()
        assert "异常 0 次" not in counted
        page.locator("html[data-draft-saved=true]").wait_for(state="attached")
        page.reload()
        page.locator('.visit[data-step="attendance"]').wait_for()
        assert page.get_by_test_id("scan-count").inner_text() == counted
        page.get_by_test_id("headcount").fill("2")
        next_step(page, "photos")
        page.get_by_test_id("photo-input").set_input_files(str(make_photo(tmp_path / "p.jpg",
                                                                          (800, 600))))
        page.get_by_test_id("photo-count").filter(has_text="1").wait_for()
        next_step(page, "findings")
        page.get_by_test_id("verdict-issues").click()
        page.get_by_test_id("finding-text").fill("到课率低")
        next_step(page, "signatures")
        draw_signature(page, "signature-inspector")
        page.get_by_test_id("base-rep-name").fill("王校长")
        draw_signature(page, "signature-base")
        page.locator('[data-testid=signature-base][data-signed="true"]').wait_for()
        next_step(page, "summary")
        seal(page)
        page.get_by_test_id("visit-row").first.wait_for()
        assert live_server.sql("SELECT count(*) FROM sign_in") == [(0,)]

        context.set_offline(False)
        wait_synced(page)
    finally:
        browser.close()

    rows = live_server.sql("SELECT trainee_id, method, flags, badge_token FROM sign_in ORDER BY at")
    got = [(t.replace("-", ""), m, json.loads(f)) for t, m, f, _ in rows]
    first_hex, second_hex = first.replace("-", ""), second.replace("-", "")
    assert [(t, m) for t, m, _ in got] == [(first_hex, "badge"), (second_hex, "badge"),
                                           (first_hex, "badge")]
    assert "signin.duplicate_trainee" in got[2][2] and got[0][2] == []
    assert all(token for *_, token in rows)  # every scan carries its badge for the server
    rejected = [(entity, json.loads(result)) for entity, result in live_server.sql(
        "SELECT entity_id, result FROM sync_ledger WHERE type = 'signin.create' "
        "AND status = 'rejected'")]
    # One refused record, the forged badge; the phone may send it again once the scope changed
    # (the visit completing its assignment is such a change), and it is refused again.
    assert {r["code"] for _, r in rejected} == {"signin.badge_invalid"}
    assert len({entity for entity, _ in rejected}) == 1
    # The confirmed signature reached the server by tus as a Media file whose bytes hash to the
    # sign-in's signature_sha256; the skipped scan and the repeat scan carry none.
    signed = [sha for (sha,) in live_server.sql("SELECT signature_sha256 FROM sign_in ORDER BY at")]
    assert signed[1:] == [None, None] and signed[0] is not None
    assert live_server.sql("SELECT mime FROM media WHERE sha256 = ?",
                           (signed[0],)) == [("image/png",)]
    stored = (Path(live_server.env["MEDIA_DIR"]) / signed[0][:2] / signed[0]).read_bytes()
    assert stored.startswith(b"\x89PNG") and hashlib.sha256(stored).hexdigest() == signed[0]
    payload = json.loads(live_server.sql("SELECT payload FROM visit")[0][0])
    assert signed[0] not in {s["sha256"] for s in payload["signatures"] + payload["photos"]}
    checks = json.loads(live_server.sql("SELECT checks FROM visit")[0][0])
    assert checks["reconciliation"]["rate"] == 0.4
    assert {a["name"] for a in checks["reconciliation"]["absent"]} == {"a学员2", "a学员3", "a学员4"}
    # One set of figures (issue 10): what the phone showed after its reload -- 2 trainees
    # present, 2 counted -- is what the reviewer's API detail and page say, the repeat scan an
    # anomaly, never attendance.
    visit_id = live_server.sql("SELECT id FROM visit")[0][0]
    visit_id = str(uuid.UUID(visit_id)) if "-" not in visit_id else visit_id
    token = live_server.token("county_a", device_id="desk")
    detail = requests.get(f"{live_server.url}/api/v1/bureau/visits/{visit_id}", timeout=10,
                          headers={"Authorization": f"Bearer {token}"}).json()
    figures = detail["attendance"]
    assert (figures["signed_in"], figures["counted"], figures["roster"]) == (2, 2, 5)
    assert (figures["duplicates"], figures["absent"]) == (1, 3)


def test_a_trainee_signs_in_on_their_own_phone_from_the_rotating_code(live_server, browser):
    facts = live_server.facts
    inspector = new_phone(browser, facts)
    page = inspector.new_page()
    login(page, live_server)
    wait_for_sw_control(page)
    inspector.set_offline(True)  # the code is made offline, on the phone
    visit_id = visit_at_attendance(page)
    page.get_by_test_id("self-code").click()
    qr = page.get_by_test_id("self-qr")
    qr.wait_for()
    page.wait_for_function("() => !!document.querySelector('[data-testid=self-qr]').dataset.code")
    screenshot(page, "qr-03-self-code")
    code = qr.get_attribute("data-code")
    import io

    import zxingcpp

    shown = base64.b64decode(qr.get_attribute("src").split(",", 1)[1])
    # QR codes only: zxing also tries linear formats, and a QR's modules can read as a
    # Codabar (about 1 image in 400).
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shown)),
                                     formats=zxingcpp.BarcodeFormat.QRCode)
    assert [d.text for d in decoded] == [f"{live_server.url}/s/{code}"]

    trainee_phone = new_phone(browser, facts)
    phone = trainee_phone.new_page()
    for index in (0, 1):  # a second trainee on the same phone: a proxy
        sign_in_on_own_phone(phone, live_server.url, code, index,
                             shot="qr-04-self-form" if index == 0 else None)
    screenshot(phone, "qr-05-self-flagged")
    assert "签到成功" in phone.get_by_test_id("self-result").inner_text()
    assert "同一部手机为多名学员签到" in phone.get_by_test_id("self-flags").inner_text()
    rows = live_server.sql("SELECT visit_id, method, flags, signature_sha256 FROM sign_in")
    assert len(rows) == 2
    assert {r[0].replace("-", "") for r in rows} == {visit_id.replace("-", "")}
    assert all(r[1] == "self" and json.loads(r[2]) == ["signin.same_device_multiple"] for r in rows)
    assert all(r[3] for r in rows)

    # Another phone, far from the site, is refused nothing but flagged.
    far = new_phone(browser, facts)
    at_site(far, facts, offset_m=3000)
    other = far.new_page()
    sign_in_on_own_phone(other, live_server.url, code, 2)
    assert "不在培训场所范围内" in other.get_by_test_id("self-flags").inner_text()
    for ctx in (inspector, trainee_phone, far):
        ctx.close()


def test_the_inspector_s_phone_counts_the_sign_ins_made_on_trainees_phones(live_server, browser,
                                                                         tmp_path):
    # A self sign-in reaches the server from the trainee's phone, never the inspector's; the
    # server counts it in the visit's attendance, so the phone must show and count it too, and
    # not add a manual sign-in of the same trainee beside it.
    facts = live_server.facts
    inspector = new_phone(browser, facts)
    page = inspector.new_page()
    login(page, live_server)
    visit_id = visit_at_attendance(page)
    assert page.get_by_test_id("self-signin-count").get_attribute("data-count") == "0"
    page.get_by_test_id("self-code").click()
    page.wait_for_function(
        "() => !!document.querySelector('[data-testid=self-qr]')?.dataset.code")
    code = page.get_by_test_id("self-qr").get_attribute("data-code")
    trainee_phone = new_phone(browser, facts)
    phone = trainee_phone.new_page()
    sign_in_on_own_phone(phone, live_server.url, code, 0)
    assert "签到成功" in phone.get_by_test_id("self-result").inner_text()
    ((signin_id, trainee_hex),) = live_server.sql("SELECT id, trainee_id FROM sign_in")
    trainee_id = str(uuid.UUID(trainee_hex))

    page.get_by_test_id("self-close").click()  # the phone asks the server at once
    page.locator('[data-testid=self-signin-count][data-count="1"]').wait_for()
    row = page.locator(f'[data-testid=attendee][data-trainee-id="{trainee_id}"]')
    assert row.get_attribute("data-method") == "self"
    assert row.get_attribute("data-present") == "true"
    assert row.get_attribute("aria-disabled") == "true"  # evidence: not toggled off
    screenshot(page, "qr-06-self-counted")
    row.click(force=True)  # a tap on it changes nothing
    assert row.get_attribute("data-present") == "true"

    page.get_by_test_id("visit-prev").click()
    page.get_by_test_id("visit-prev").click()
    page.locator('.visit[data-step="checks"]').wait_for()
    fill_visit(page, make_photo(tmp_path / "self.jpg", (640, 480)))
    seal(page)
    # The sealed record, read-only on the phone, counts the trainee present as the step did.
    page.locator(f'[data-testid=record][data-record-id="{visit_id}"]').click()
    # fill_visit counted 5 (the self sign-in among them); the sealed ticks hold only 4.
    assert page.get_by_test_id("record-present").inner_text() == "5"
    page.go_back()
    wait_synced(page)
    signed = live_server.sql("SELECT method FROM sign_in WHERE trainee_id = ?",
                             (uuid.UUID(trainee_id).hex,))
    assert signed == [("self",)]  # no manual sign-in pushed beside the trainee's own
    (visit,) = server_visits(live_server)
    assert visit["id"].replace("-", "") == visit_id.replace("-", "")
    assert str(uuid.UUID(signin_id)) in visit["payload"]["signins"]  # the record names it
    assert visit["checks"]["attendance"]["status"] == "match"
    assert visit["checks"]["attendance"]["present"] == 5  # as the record showed
    for ctx in (inspector, trainee_phone):
        ctx.close()


def test_an_old_code_is_refused_on_the_trainee_phone(live_server, browser):
    import requests

    token = live_server.token()  # device e2e-checker
    answer = requests.post(f"{live_server.url}/api/v1/auth/token", json={
        "username": "inspector_a", "password": "pw-for-tests", "device_id": "e2e-old"},
                           timeout=10).json()
    assert token and answer["device_key"]
    code = subprocess.run(
        [sys.executable, "-c", (
            "import uuid, datetime, sys;"
            "from types import SimpleNamespace as N;"
            "from server.services.selfsignin import make_code;"
            "t = N(device_id='e2e-old', device_key=sys.argv[1]);"
            "print(make_code(t, uuid.UUID(sys.argv[2]), uuid.uuid4(),"
            " datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)))"),
         answer["device_key"], live_server.facts["classes"]["a"]],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    phone = new_phone(browser, live_server.facts)
    page = phone.new_page()
    response = page.goto(f"{live_server.url}/s/{code}")
    assert response.status == 410
    refusal = page.get_by_test_id("self-refused")
    assert refusal.get_attribute("data-code") == "signin.code_expired"
    assert "已过期" in refusal.inner_text()
    screenshot(page, "qr-06-expired")
    phone.close()
