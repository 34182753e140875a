"""The full pull travels gzipped to phones that accept it, and plain to those that do not."""

from __future__ import annotations

import gzip
import json

from tests.sync.fixtures import publish_world


def test_pull_is_gzipped_only_when_the_client_accepts_it(client, api, world):
    publish_world(world)
    headers = api.headers("inspector_a")
    plain = client.get("/api/v1/sync/pull", headers=headers)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    zipped = client.get("/api/v1/sync/pull", headers={**headers, "Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data)
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()


def test_errors_and_other_paths_stay_plain(client, api, world):
    headers = {**api.headers("inspector_a"), "Accept-Encoding": "gzip"}
    error = client.get("/api/v1/sync/pull?cursor=garbage", headers=headers)
    assert error.status_code >= 400 and "Content-Encoding" not in error.headers
    assert error.get_json()["code"]
    other = client.get("/api/v1/openapi.json", headers=headers)
    assert "Content-Encoding" not in other.headers
