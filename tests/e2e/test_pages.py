"""Browser: the review and filing pages a bureau would adopt, at 1280x800 and 360x640.

Every download hook is clicked and its file opened (PDF text, XLSX cells, ZIP manifest); the
charts draw on a canvas; the visit's geofence sketch says the distance; a roster is previewed
then confirmed; a refused form keeps what was typed. Each page is saved to test-artifacts/pages/.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import TEST_PASSWORD, make_test_app
from tests.e2e.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.e2e
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 640}}
SHOTS = ARTIFACTS / "pages"


def seed(server: LiveServer) -> dict:
    """The test world, its plans published, one sealed visit with photos and signatures in A."""
    from server.extensions import db
    from tests.documents.support import make_visit
    from tests.factories import build_world
    from tests.sync.fixtures import publish_world

    app = make_test_app(f"sqlite:///{server.db_path}", server.instance,
                        SECRET_KEY=server.env["SECRET_KEY"], MEDIA_DIR=server.env["MEDIA_DIR"])
    with app.app_context():
        db.create_all()
        world = build_world()
        publish_world(world)
        visit = make_visit(world, "a")
        # One visit per viewport for the rectification form: a success closes that form.
        to_order = {"desktop": str(make_visit(world, "a", session_index=2).id),
                    "phone": str(make_visit(world, "a", session_index=4).id)}
        facts = {"visit_id": str(visit.id), "to_order": to_order,
                 "base_a": str(world.bases["a"].id),
                 "base_name": world.bases["a"].name, "class_name": world.classes["a"].name,
                 "occupation_id": str(world.occupation.id),
                 "year": world.classes["a"].start_date.year}
        db.session.remove()
        db.engine.dispose()
    return facts


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("pages"))
    live.facts = seed(live)
    live.start()
    yield live
    live.kill()


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request):
    return request.param


def log_in(browser, server: LiveServer, username: str, viewport: str):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.problems = problems  # console errors and CSP refusals, checked by the tests
    return context, page


def shot(page, name: str, viewport: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)


def download(page, selector: str, scope=None) -> tuple[str, bytes]:
    """Click a download hook (inside `scope`, a locator, when given); return the name and bytes."""
    link = (scope or page).locator(selector).first
    link.scroll_into_view_if_needed()
    with page.expect_download() as info:
        link.click()
    item = info.value
    with open(item.path(), "rb") as fh:
        return item.suggested_filename, fh.read()


def check_documents(page, base_name: str, scope=None) -> None:
    """Click the three base hooks (inside `scope` when given) and open each file."""
    name, data = download(page, '[data-testid="download-attachment2"]', scope)
    assert base_name in name and name.endswith(".xlsx")
    assert load_workbook(io.BytesIO(data)).active["B3"].value == "技师（人）"
    name, data = download(page, '[data-testid="download-subsidy"]', scope)
    assert base_name in name and load_workbook(io.BytesIO(data)).active.max_row >= 1
    name, data = download(page, '[data-testid="download-archive"]', scope)
    assert name.endswith(".zip") and base_name in name
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["base"] == base_name and manifest["files"]
        assert set(manifest["files"]) <= set(zf.namelist())


def test_every_download_hook_answers_its_file(browser, server, viewport):
    facts = server.facts
    context, page = log_in(browser, server, "county_a", viewport)
    page.goto(f"{server.url}/bureau/visits/{facts['visit_id']}")
    name, data = download(page, '[data-testid="download-visit-pdf"]')
    assert name.endswith("抽查记录表.pdf") and facts["class_name"] in name
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "培训班次现场抽查记录表" in text and facts["class_name"] in text
    page.goto(f"{server.url}/bureau/?year={facts['year']}")
    row = f'[data-testid="base-row"][data-base="{facts["base_name"]}"]'
    page.locator(row).wait_for()
    check_documents(page, facts["base_name"], page.locator(row))
    assert not page.problems, page.problems
    context.close()
    # The base's own home has the same three, for its base only.
    context, page = log_in(browser, server, "base_a", viewport)
    assert page.url.endswith("/bureau/")
    assert page.locator('[data-testid="download-archive"]').count() == 1
    check_documents(page, facts["base_name"])
    shot(page, "base-home", viewport)
    context.close()


def test_the_charts_draw_and_their_numbers_lead_to_the_lists(browser, server, viewport):
    context, page = log_in(browser, server, "city", viewport)
    page.goto(f"{server.url}/bureau/?year={server.facts['year']}")
    chart = page.locator('[data-testid="coverage-chart"]')
    page.wait_for_function("document.querySelectorAll('figure.chart-drawn').length === 3")
    drawn = chart.locator("canvas").evaluate_all("""cs => cs.map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
        return ink; })""")
    assert len(drawn) >= 3 and all(ink > 500 for ink in drawn), drawn
    shot(page, "dashboard", viewport)
    assert not page.problems, page.problems  # no CSP refusal, no script error
    # The first county's visited classes: the number is the rows of the #visited list it opens.
    link = chart.locator('[data-chart="coverage"] td[data-href] a').first
    shown = int(link.inner_text())
    link.scroll_into_view_if_needed()
    link.click()
    page.wait_for_url("**/bureau/?*#visited")
    assert shown >= 1 and page.locator('[data-testid="visited"]').count() == shown
    # Each of them leads to its visits.
    page.locator('[data-testid="class-visits"]').first.click()
    page.wait_for_url("**/bureau/visits?*")
    assert page.locator('[data-testid="visit-row"]').count() >= 1
    context.close()


def test_the_visit_page_sketches_the_distance(browser, server, viewport):
    context, page = log_in(browser, server, "county_a", viewport)
    page.goto(f"{server.url}/bureau/visits/{server.facts['visit_id']}")
    sketch = page.locator('[data-testid="geofence-sketch"]')
    sketch.scroll_into_view_if_needed()
    assert sketch.is_visible() and sketch.bounding_box()["width"] > 200
    assert "714" in page.locator('[data-testid="sketch-distance"]').text_content()
    assert sketch.locator("circle").count() >= 4
    shot(page, "visit", viewport)
    context.close()


def test_a_refused_form_keeps_every_value_and_says_why_at_the_field(browser, server, viewport):
    context, page = log_in(browser, server, "county_a", viewport)
    page.goto(f"{server.url}/bureau/visits/{server.facts['to_order'][viewport]}")
    form = page.locator('[data-testid="rectify-form"]')
    form.scroll_into_view_if_needed()
    form.locator("select[name=sanction]").select_option("deadline")
    assert form.locator("input[name=deadline]").evaluate("e => e.required")  # required-when
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    form.locator("input[name=deadline]").fill(yesterday)
    form.locator("textarea[name=order_text]").fill("请于期限内补齐签到表，并书面说明原因。")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    form = page.locator('[data-testid="rectify-form"]')
    assert form.locator(
        "textarea[name=order_text]").input_value() == "请于期限内补齐签到表，并书面说明原因。"
    assert form.locator("select[name=sanction]").input_value() == "deadline"
    assert form.locator("input[name=deadline]").input_value() == yesterday
    error = form.locator('[data-testid="field-error-deadline"]')
    assert error.is_visible() and "限期整改须给出今天以后的期限" in error.text_content()
    flash = page.locator('[data-testid="flash-error"]')
    assert flash.is_visible() and "deadline" not in flash.text_content()
    colours = flash.evaluate("e => getComputedStyle(e).backgroundColor")
    shot(page, "visit-form-refused", viewport)
    # A success looks different.
    form.locator("input[name=deadline]").fill((date.today() + timedelta(days=20)).isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    ok = page.locator('[data-testid="flash-ok"]')
    assert ok.is_visible() and ok.evaluate("e => getComputedStyle(e).backgroundColor") != colours
    context.close()


def roster_file(rows: list[list]) -> bytes:
    from tests.plans.filing_support import workbook_bytes

    return workbook_bytes(rows)


def test_a_roster_is_previewed_then_confirmed(browser, server, viewport):
    from tests.plans.filing_support import person

    context, page = log_in(browser, server, "base_a", viewport)
    page.goto(f"{server.url}/filing/")
    start = date.today() + timedelta(days=30)
    page.fill("input[name=name]", f"预览导入班-{viewport}")
    page.select_option("select[name=occupation_id]", server.facts["occupation_id"])
    page.select_option("select[name=level]", "2")
    page.fill("input[name=start_date]", start.isoformat())
    page.fill("input[name=end_date]", (start + timedelta(days=40)).isoformat())
    page.locator('form[action$="/filing/classes"] button[type=submit]').click()
    page.wait_for_url("**/filing/versions/*")
    serial = 100 if viewport == "desktop" else 200
    rows = [person(serial + 1), person(serial + 2), person(serial + 2, name="重复行")]
    page.set_input_files("input[name=file]", files=[{
        "name": "花名册.xlsx", "buffer": roster_file(rows),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.locator('form[action$="/roster"] button[type=submit]').click()
    preview = page.locator('[data-testid="roster-preview"]')
    preview.wait_for()
    verdicts = preview.locator('[data-testid="preview-row"]').evaluate_all(
        "rows => rows.map(r => r.dataset.verdict)")
    assert verdicts == ["add", "reject", "reject"]
    assert page.locator("table.roster").count() == 0  # nothing enrolled yet
    shot(page, "roster-preview", viewport)
    page.locator('[data-testid="roster-confirm"]').click()
    page.wait_for_load_state("networkidle")
    assert "纳入 1 人，2 行未纳入" in page.locator('[data-testid="flash-ok"]').text_content()
    names = page.locator("table.roster tbody tr td:first-child").all_text_contents()
    assert names == [f"导入学员{serial + 1}"]
    context.close()


@pytest.mark.parametrize("path", ["/bureau/draws", "/bureau/visits", "/bureau/rectifications",
                                  "/filing/queue?lang=en", "/filing/", "/filing/sites",
                                  "/filing/teachers", "/bureau/?lang=en"])
def test_each_page_for_a_person_to_look_at(browser, server, viewport, path):
    context, page = log_in(browser, server, "city", viewport)
    page.goto(f"{server.url}{path}")
    assert page.locator('[data-testid^="menu-"]').count() >= 5
    assert "filing.queue.title" not in page.content() and not page.problems, page.problems
    name = path.strip("/").replace("/", "-").replace("?lang=en", "-en") or "home"
    shot(page, name, viewport)
    page.goto(f"{server.url}/favicon.ico")
    context.close()
