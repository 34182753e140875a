"""The phone's seal equals the server's: the app's canonical JSON, run in Chromium, vs sync/."""

from __future__ import annotations

import json

import pytest

from sync.canonical import canonical_json, compute_seal
from tests.e2e.conftest import bundle_module

pytestmark = pytest.mark.e2e

PAYLOADS = [
    {
        "class_id": "51eef6ac-5653-4ff3-97d1-3267bbc0365e", "verdict": "issues",
        "started_at": "2026-11-28T01:25:03.123Z", "ended_at": None,
        "gps": {"lat": 36.7075, "lon": 119.161, "accuracy": 15,
                "captured_at": "2026-11-28T01:25:04Z",
                "mocked": False},
        "observed": {"teacher_matches": True, "teacher_name": "张老师", "content_matches": False,
                     "topic": "车床\n安全 \"操作\" \\ 𠀋 😀", "headcount": 5},
        "findings": [{"code": "R7.content", "text": "内容与备案不符\t\u0001\u2028"}],
        "signatures": [{"role": "inspector", "name": "Zoë", "sha256": "a" * 64}],
        "photos": [], "present": ["b", "a"], "Z": 1, "a": 2, "é": 3, "中": 4, "😀": 5, "！": 6,
        "seal": "ignored",
    },
    {"tiny": 1e-7, "small": 0.000001, "big": 1e21, "bigger": 1.5e300, "neg": -0.5, "whole": 5.0,
     "int": 12345678901234, "third": 1 / 3, "zero": 0.0, "list": [1.0, 2.5, [], {}],
     "nested": {"b": {"a": []}}},
]


@pytest.fixture(scope="module")
def canonical_bundle() -> str:
    """The app's own canonical.js, bundled by esbuild into a script exposing `SpotcheckSeal`."""
    return bundle_module("src/canonical.js", "SpotcheckSeal")


def test_phone_and_server_seal_the_same_bytes(browser, canonical_bundle):
    page = browser.new_page()
    try:
        # crypto.subtle needs a secure context: serve a blank page from http://localhost.
        page.route("http://localhost/seal", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>seal</title>"))
        page.goto("http://localhost/seal")
        page.add_script_tag(content=canonical_bundle)
        for payload in PAYLOADS:
            text = json.dumps(payload, ensure_ascii=False)
            phone = page.evaluate("""async (text) => {
                const value = JSON.parse(text);
                return { canonical: SpotcheckSeal.canonicalJSON(value),
                         seal: await SpotcheckSeal.sealOf(value) };
            }""", text)
            server_value = json.loads(text)
            assert phone["canonical"].encode("utf-8") == canonical_json(server_value)
            assert phone["seal"] == compute_seal(server_value)
    finally:
        page.close()
