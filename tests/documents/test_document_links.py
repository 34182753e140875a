"""Downloads where people look: the visit page, each base's row on the dashboards, the base's home.
"""

from __future__ import annotations

import re
from datetime import timedelta

from server.extensions import db
from server.models import Rectification
from server.services.draw import local_today
from tests.conftest import TEST_PASSWORD
from tests.documents.support import make_visit


def login(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": TEST_PASSWORD})


def hooks(html: str, testid: str) -> list[str]:
    """The hrefs of the links with that data-testid, in page order."""
    return re.findall(rf'data-testid="{testid}"[^>]*href="([^"]+)"', html)


def test_the_visit_page_links_its_record_pdf(world, client):
    visit = make_visit(world, "a")
    login(client, "county_a")
    html = client.get(f"/bureau/visits/{visit.id}").get_data(as_text=True)
    assert hooks(html, "download-visit-pdf") == [f"/documents/visits/{visit.id}.pdf"]
    response = client.get(f"/documents/visits/{visit.id}.pdf")
    assert response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]


def test_each_base_row_on_the_dashboard_links_the_documents_of_the_year_shown(world, client):
    login(client, "city")
    year = local_today().year - 1
    html = client.get(f"/bureau/?year={year}").get_data(as_text=True)
    rows = re.findall(r'data-testid="base-row".*?</tr>', html, re.S)
    assert len(rows) == len(world.bases)
    for row in rows:
        for testid, tail in (("download-attachment2", "attachment2.xlsx"),
                             ("download-subsidy", "subsidy.xlsx"),
                             ("download-archive", "archive.zip")):
            (href,) = hooks(row, testid)
            assert href.endswith(f"/{year}/{tail}")
            assert client.get(href).status_code == 200


def test_a_county_dashboard_lists_only_its_bases(world, client):
    login(client, "county_a")
    html = client.get("/bureau/").get_data(as_text=True)
    assert str(world.bases["a"].id) in html and str(world.bases["b"].id) not in html


def test_the_base_home_has_its_downloads_and_open_orders_with_deadlines(world, client):
    visit = make_visit(world, "a")
    deadline = local_today() + timedelta(days=10)
    db.session.add(Rectification(visit_id=visit.id, base_id=world.bases["a"].id,
                                 sanction="deadline",
                                 order_text="限期补齐签到", deadline=deadline,
                                 created_by_id=world.users["county_a"].id))
    db.session.commit()
    login(client, "base_a")
    response = client.get("/")
    assert response.headers["Location"].endswith("/bureau/")
    html = client.get("/bureau/").get_data(as_text=True)
    for testid in ("download-attachment2", "download-subsidy", "download-archive"):
        (href,) = hooks(html, testid)
        assert f"/bases/{world.bases['a'].id}/" in href and client.get(href).status_code == 200
    orders = re.findall(r'data-testid="open-order".*?</tr>', html, re.S)
    assert len(orders) == 1 and deadline.isoformat() in orders[0] and "还剩 10 天" in orders[0]
