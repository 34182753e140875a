"""The server's JSON edges (server/json_codec.py): what changed with orjson, and what did not."""

from __future__ import annotations

from datetime import UTC, datetime

from server.extensions import db
from server.json_codec import column_dumps
from server.models import SyncLedger


def test_a_body_with_nan_is_refused_and_changes_nothing(app, client, api, world):
    headers = api.headers("inspector_a", device_id="phone-a1")
    body = b'{"device_id": "phone-a1", "mutations": [{"seq": NaN}]}'
    response = client.post("/api/v1/sync/push", data=body, headers={
        **headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    with app.app_context():
        assert db.session.query(SyncLedger).count() == 0


def test_responses_keep_flasks_form_sorted_keys_and_http_dates(app):
    with app.test_request_context():
        response = app.json.response({"b": 1, "a": "签到", 3: datetime(2026, 3, 2, 1, 0,
                                                                     tzinfo=UTC)})
    text = response.get_data(as_text=True)
    assert text == '{"3":"Mon, 02 Mar 2026 01:00:00 GMT","a":"签到","b":1}\n'
    assert app.json.loads(text) == {"3": "Mon, 02 Mar 2026 01:00:00 GMT", "a": "签到", "b": 1}


def test_json_columns_round_trip_through_the_engine(app, world):
    with app.app_context():
        stored = {"flags": ["signin.proxy"], "gps": {"lat": 36.7075, "name": "潍坊"}}
        value = db.session.execute(db.select(db.literal(stored, type_=db.JSON))).scalar_one()
        assert value == stored
        # The engine writes and reads JSON columns with orjson (the push hot path's JSON).
        assert db.engine.dialect._json_serializer is column_dumps
