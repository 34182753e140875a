"""The phone labels a visit 暗访 by the server's rule: a city inspector's visit is covert, with or
without an assignment (services/scope.is_covert); the phone's draft.js, run in Chromium."""

from __future__ import annotations

import json

import pytest

from server.models import Visit
from server.services.scope import is_covert
from tests.e2e.conftest import bundle_module

pytestmark = pytest.mark.e2e

INFO = {"class_id": "c", "class_name": "车工", "base_name": "基地", "plan_version_id": "v",
        "session": {"id": "s", "date": "2026-03-02", "start": "08:30", "end": "11:30"},
        "site": None, "teacher": None, "roster": [], "inspector_ids": [], "inspectors": []}


@pytest.fixture(scope="module")
def draft_bundle() -> str:
    return bundle_module("src/draft.js", "SpotcheckDraft")


@pytest.mark.parametrize("user", ["city_inspector", "inspector_a"])
@pytest.mark.parametrize("assignment", [None, "assignment-1"])
def test_the_covert_label_follows_the_server(browser, draft_bundle, world, user, assignment):
    # The phone called every unassigned visit covert and no assigned one: a city team's drawn
    # check was unlabelled though the base never sees it before review (R10 暗访).
    me = world.users[user]
    page = browser.new_page()
    page.route("http://localhost/draft", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>draft</title>"))
    page.goto("http://localhost/draft")
    page.add_script_tag(content=draft_bundle)
    on_phone = page.evaluate("""([info, assignment, me]) =>
        SpotcheckDraft.newDraft(JSON.parse(info), assignment, me).covert""",
        [json.dumps(INFO), assignment, {"id": str(me.id), "role": me.role,
                                        "county_id": str(me.county_id) if me.county_id else None}])
    page.close()
    assert on_phone is is_covert(Visit(inspector=me))
    assert on_phone is (user == "city_inspector")
