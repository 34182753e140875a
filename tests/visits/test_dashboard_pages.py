"""The pages a reviewer and a base look at: charts' data and links, menus, icons, English, sketch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from server.extensions import db
from server.models import County, Rectification
from server.services.clock import local_date_of
from server.services.draw import local_today
from tests.conftest import TEST_PASSWORD
from tests.documents.support import make_visit


def login(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": TEST_PASSWORD})


def test_the_chart_tables_link_every_number_to_the_list_behind_it(world, client):
    visit = make_visit(world, "a")
    login(client, "city")
    year = local_date_of(visit.started_at).year  # the year its findings are counted in
    html = client.get(f"/bureau/?year={year}").get_data(as_text=True)
    chart = html[html.index('data-testid="coverage-chart"'):html.index(
        "</section>", html.index('data-testid="coverage-chart"'))]
    cells = re.findall(r'<td data-value="(\d+)" data-href="([^"]+)"><a href="([^"]+)"', chart)
    assert cells and all(href == link.replace("&amp;", "&") or href == link for _, href,
                         link in cells)
    # The teacher bar leads to the visits whose teacher check did not match: the one made above.
    teacher = re.search(r'data-value="(\d+)" data-href="([^"]*mismatch=teacher[^"]*)"', chart)
    assert teacher.group(1) == "1"
    listed = client.get(teacher.group(2).replace("&amp;", "&")).get_data(as_text=True)
    assert listed.count('data-testid="visit-row"') == 1


def _teacher_bar(client, year: int) -> tuple[int, int]:
    """The findings chart's teacher figure for the year, and the rows of the list it links to."""
    html = client.get(f"/bureau/?year={year}").get_data(as_text=True)
    bar = re.search(r'data-value="(\d+)" data-href="([^"]*mismatch=teacher[^"]*)"', html)
    listed = client.get(bar.group(2).replace("&amp;", "&")).get_data(as_text=True)
    return int(bar.group(1)), listed.count('data-testid="visit-row"')


def test_a_findings_bar_counts_exactly_the_list_it_links_to_across_the_new_year(world, client):
    # A class begun in one year, checked on 1 January of the next, and a teammate's record
    # of that check made in the first year: each year's bar is the length of its list (the
    # chart once counted every visit of the year's classes, and each teammate's record).
    visit = make_visit(world, "a")
    year = world.classes["a"].start_date.year
    new_year = datetime(year + 1, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    visit.started_at, visit.ended_at = new_year, new_year + timedelta(minutes=50)
    teammate = make_visit(world, "a")
    teammate.check_of_id = visit.id
    db.session.commit()
    login(client, "city")
    assert _teacher_bar(client, year) == (0, 0)
    assert _teacher_bar(client, year + 1) == (1, 1)


COVERAGE_LINKS = ("chart-link", "county-visited", "county-with-issues", "class-visits",
                  "class-with-issues", "base-visited", "city-visited", "city-visits",
                  "city-with-issues")


def _coverage_links(client, year: int) -> list[tuple[str, int, int]]:
    """Each coverage figure of the year's dashboard (county rows, the chart's visited cell, each
    visited class) as (testid, the number shown, the rows of the list its link opens)."""
    html = client.get(f"/bureau/?year={year}").get_data(as_text=True)
    found = []
    for testid in COVERAGE_LINKS:
        for href, shown in re.findall(rf'<a href="([^"]+)" data-testid="{testid}">(\d+)</a>',
                                      html):
            page, _, section = href.replace("&amp;", "&").partition("#")
            listed = client.get(page).get_data(as_text=True)
            row = 'data-testid="visited"' if section == "visited" else 'data-testid="visit-row"'
            found.append((testid, int(shown), listed.count(row)))
    return found


def test_every_coverage_figure_counts_exactly_the_list_it_links_to_across_the_new_year(
        world, client):
    # County a's class: a check made on 1 January of the next year with a teammate's record,
    # a clean visit, a visit whose verdict is compliant but whose teacher did not match, and
    # another clean one; county b's class: one visit with issues. "Visited" counts classes and
    # once opened a list of the year's visits; "with issues" counts the visits of the year's
    # classes with an issue and once opened every visit begun in the year.
    first = make_visit(world, "a")
    year = world.classes["a"].start_date.year
    new_year = datetime(year + 1, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    first.started_at, first.ended_at = new_year, new_year + timedelta(minutes=50)
    teammate = make_visit(world, "a")
    teammate.check_of_id = first.id
    make_visit(world, "a", mismatch=False)
    make_visit(world, "a").verdict = "compliant"
    make_visit(world, "a", mismatch=False)
    make_visit(world, "b")
    db.session.commit()
    login(client, "city")
    # The classes are of the year they start in (plan_versions.year_classes): the next year's
    # dashboard shows them no more, and whatever it does show still counts its own list.
    for shown_in in (year, year + 1):
        links = _coverage_links(client, shown_in)
        if shown_in == year:
            assert {testid for testid, _, _ in links} >= {
                "chart-link", "county-visited", "county-with-issues", "base-visited",
                "city-visited", "city-visits", "city-with-issues"}
        assert [(t, n) for t, n, rows in links if n != rows] == [], shown_in
    figures = {(t, n) for t, n, _ in _coverage_links(client, year)}
    # County a: one class visited, four checks of it, two with issues (the teammate's record
    # counts with its check); county b: one of each.
    assert {("county-visited", 1), ("county-with-issues", 2), ("class-visits", 4),
            ("county-with-issues", 1), ("base-visited", 1), ("city-visited", 2),
            ("city-visits", 5), ("city-with-issues", 3)} <= figures


def test_the_visit_list_keeps_visits_with_any_issue_not_only_that_verdict(world, client):
    flagged = make_visit(world, "a")
    flagged.verdict = "compliant"  # its place check and flag are still issues
    make_visit(world, "a", mismatch=False)
    db.session.commit()
    login(client, "county_a")
    html = client.get("/bureau/visits?issues=1").get_data(as_text=True)
    assert html.count('data-testid="visit-row"') == 1 and f"/bureau/visits/{flagged.id}" in html
    assert client.get("/bureau/visits?verdict=issues").get_data(
        as_text=True).count('data-testid="visit-row"') == 0
    assert client.get("/bureau/visits?class_year=1999").status_code == 422


def test_counties_without_classes_are_grouped_apart(world, client):
    db.session.add(County(name="无班次县", code="370799"))
    db.session.commit()
    login(client, "city")
    html = client.get("/bureau/").get_data(as_text=True)
    rows = re.findall(r'data-testid="county-row">\s*<td class="lead">([^<]+)</td>', html)
    assert "无班次县" not in rows and rows
    apart = html[html.index('data-testid="no-class-counties"'):]
    assert "无班次县" in apart[:apart.index("</tbody>")]
    # Nor is it a bar in the coverage chart; it is named under it instead.
    chart = html[html.index('data-chart="coverage"'):html.index(
        "</figure>", html.index('data-chart="coverage"'))]
    assert 'data-label="无班次县"' not in chart and "无班次县" in chart


def test_the_rectification_list_filters_by_deadline(world, client):
    visit = make_visit(world, "a")
    today = local_today()
    for days in (-2, 3, 30):
        db.session.add(Rectification(visit_id=visit.id, base_id=world.bases["a"].id,
                                     sanction="deadline", order_text=f"期限 {days}",
                                     deadline=today + timedelta(days=days),
                                     created_by_id=world.users["county_a"].id))
    db.session.commit()
    login(client, "county_a")
    for due, expected in (("overdue", -2), ("week", 3), ("later", 30)):
        html = client.get(f"/bureau/rectifications?due={due}").get_data(as_text=True)
        assert html.count('data-testid="rect-row"') == 1
        assert (today + timedelta(days=expected)).isoformat() in html
    assert client.get("/bureau/rectifications?due=someday").status_code == 422
    # The base row's open-orders number leads to that base's unfinished orders.
    dashboard = client.get("/bureau/").get_data(as_text=True)
    link = re.search(r'href="(/bureau/rectifications\?[^"]*base_id=[^"]+)"', dashboard).group(1)
    html = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert html.count('data-testid="rect-row"') == 3


def test_one_menu_per_role_on_every_page_error_pages_included(world, client):
    login(client, "base_a")
    menus = set()
    for path in ("/bureau/", "/filing/", "/filing/sites", "/bureau/rectifications",
                 "/bureau/visits/00000000-0000-0000-0000-000000000000"):
        html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        menus.add(tuple(re.findall(r'data-testid="(menu-[a-z-]+)"', html)))
    assert len(menus) == 1
    (menu,) = menus
    assert "menu-home" in menu and "menu-draws" not in menu


def test_every_page_has_a_favicon_that_exists(world, client):
    login(client, "city")
    html = client.get("/bureau/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', html).group(1)
    for path in (icon, "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200 and response.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_queue_title_is_translated_in_english(world, client):
    login(client, "city")
    html = client.get("/filing/queue?lang=en").get_data(as_text=True)
    assert "filing.queue.title" not in html and "Plans awaiting recording" in html


def test_the_visit_page_sketches_the_fix_against_the_site(world, client):
    visit = make_visit(world, "a")
    login(client, "county_a")
    html = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    svg = html[html.index('data-testid="geofence-sketch"'):html.index("</svg>")]
    assert svg.count("<circle") >= 4  # site, its centre, the fix's accuracy, the fix
    # The judge's own distance, not a second computation.
    assert "714" in svg


def test_the_sketch_draws_the_judged_place_check_not_its_own(world, client):
    # A fix the judge could not trust (here: the place check unverifiable) is never drawn as a
    # match, whatever its distance: the sketch shows the visit's judged check.
    visit = make_visit(world, "a", mismatch=False)
    visit.checks = {**visit.checks, "place": {"status": "unverifiable", "reason": "",
                                              "distance_m": 714.2}}
    db.session.commit()
    login(client, "county_a")
    html = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    svg = html[html.index('data-testid="geofence-sketch"'):html.index("</svg>")]
    assert 'data-status="unverifiable"' in svg and "#1e7d34" not in svg
    assert 'data-testid="sketch-unverifiable"' in html
    visit.checks = {**visit.checks, "place": {"status": "match", "distance_m": 714.2}}
    db.session.commit()
    html = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert 'data-status="match"' in html and 'data-testid="sketch-unverifiable"' not in html


def test_a_refused_form_comes_back_with_every_value_and_its_error_in_words(world, client):
    import html as html_lib
    import json

    visit = make_visit(world, "a")
    login(client, "county_a")
    page = f"/bureau/visits/{visit.id}"
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    response = client.post(f"/bureau/visits/{visit.id}/rectification", data={
        "sanction": "deadline", "order_text": "补齐签到表并说明原因", "deadline": yesterday},
        headers={"Referer": f"http://localhost{page}"})
    assert response.status_code == 302
    html = client.get(page).get_data(as_text=True)
    state = json.loads(html_lib.unescape(re.search(r'data-refused-form="([^"]+)"', html).group(1)))
    assert state["action"] == f"/bureau/visits/{visit.id}/rectification"
    assert state["values"] == {"sanction": "deadline", "order_text": "补齐签到表并说明原因",
                               "deadline": yesterday}
    assert state["errors"] == {"deadline": ["限期整改须给出今天以后的期限"]}
    # The flash says it in words, never the field's name, and looks like a refusal.
    flash = re.search(r'data-testid="flash-error">(.*?)</p>', html, re.S).group(1)
    assert "限期整改须给出今天以后的期限" in flash and "deadline" not in flash
    # Shown once: the next page is clean.
    assert "data-refused-form" not in client.get(page).get_data(as_text=True)


def test_library_messages_are_said_in_words():
    from server.web.forms import in_words

    assert in_words("Missing data for required field.") == "请填写此项"
    assert in_words("Not a valid date.") == "请填写有效的日期"
    assert in_words("限期整改须给出今天以后的期限") == "限期整改须给出今天以后的期限"


def test_the_deadline_field_states_when_it_is_required(world, client):
    visit = make_visit(world, "a")
    login(client, "county_a")
    html = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert 'data-required-when="sanction=deadline"' in html and "限期整改必填" in html
