"""Every reader renders any stored visit: many random schema-valid visits are pushed, then the
review list and page, the API detail, the PDF, Attachment 2, the subsidy sheet and the archive
are read for each. None may answer 500 (DESIGN §6: nothing an inspector may send breaks a page).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_PASSWORD
from tests.sync.client import seal, utc_iso
from tests.sync.fixtures import phone, today_session

# One-line text: no control, surrogate, invisible format or line/paragraph separator (Text).
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp")), max_size=40)
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), *range(127, 160)])), max_size=80)
TIMES = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                     timezones=st.just(UTC))
SHAS = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


@st.composite
def visits(draw):
    started = draw(TIMES)
    ended = draw(st.none() | st.integers(0, 600).map(lambda m: started + timedelta(minutes=m)))
    gps = draw(st.none() | st.fixed_dictionaries({
        "lat": st.floats(-90, 90, allow_nan=False), "lon": st.floats(-180, 180, allow_nan=False),
        "accuracy": st.floats(0, 100000, allow_nan=False) | st.integers(0, 100000),
        "captured_at": TIMES.map(utc_iso), "mocked": st.booleans()}))
    return {
        "started_at": utc_iso(started), "ended_at": utc_iso(ended) if ended else None, "gps": gps,
        "observed": draw(st.fixed_dictionaries({}, optional={
            "teacher_matches": st.none() | st.booleans(), "teacher_name": st.none() | TEXT,
            "content_matches": st.none() | st.booleans(), "topic": st.none() | TEXT,
            "headcount": st.none() | st.integers(0, 10000)})),
        "findings": draw(st.lists(st.fixed_dictionaries({
            "code": TEXT.filter(bool), "text": FREE_TEXT}), max_size=3)),
        "verdict": draw(st.sampled_from(["compliant", "issues", "could_not_inspect"])),
        "signatures": draw(st.lists(st.fixed_dictionaries({
            "role": st.sampled_from(["inspector", "base_representative"]),
            "name": TEXT.filter(bool), "sha256": SHAS}), max_size=2)),
        "photos": draw(st.lists(st.fixed_dictionaries({"sha256": SHAS}, optional={
            "caption": st.none() | TEXT}), max_size=2)),
    }


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(visits(), min_size=1, max_size=3))
def test_any_schema_valid_visit_renders_on_every_reader(client, api, world, batch):
    device = phone(client, device_id=f"phone-{uuid.uuid4()}")  # the database outlives an example
    session = today_session(world)
    base = {"class_id": str(world.classes["a"].id), "session_id": str(session.id),
            "plan_version_id": str(world.versions["a"].id)}
    ids = []
    for fields in batch:
        mutation = device.add_visit(seal({**base, **fields}))
        ids.append(mutation["entity_id"])
    status, body = device.push()
    assert status == 200, body
    assert {r["status"] for r in body["results"]} <= {"applied", "flagged"}, body["results"]
    headers = api.headers("county_a")
    client.post("/logout")
    login = client.post("/login", data={"username": "county_a", "password": TEST_PASSWORD})
    assert login.status_code == 302
    pages = ["/bureau/visits", "/bureau/visits?lang=en"]
    for visit_id in ids:
        pages += [f"/bureau/visits/{visit_id}", f"/documents/visits/{visit_id}.pdf"]
        assert client.get(f"/api/v1/bureau/visits/{visit_id}", headers=headers).status_code == 200
    base_id = world.bases["a"].id
    years = {datetime.fromisoformat(f["started_at"].replace("Z", "+00:00")).year for f in batch}
    years.add(world.classes["a"].start_date.year)
    for year in sorted(years):
        pages += [f"/documents/bases/{base_id}/{year}/attachment2.xlsx",
                  f"/documents/bases/{base_id}/{year}/subsidy.xlsx",
                  f"/documents/bases/{base_id}/{year}/archive.zip"]
    for page in pages:
        response = client.get(page)
        assert response.status_code < 500, (page, response.status_code)
        response.close()
