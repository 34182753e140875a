"""Schemathesis against /api/v1/openapi.json, authenticated: no 5xx, every response as documented.

The example budget is small so the suite stays fast; raise FUZZ_EXAMPLES for a longer run:
    FUZZ_EXAMPLES=200 .venv/bin/python -m pytest tests/test_fuzz_api.py
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ApiHelper

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# No 5xx, and every response as documented. Business rules may refuse schema-valid input
# (a plan that breaks R6 is well-formed JSON), so "positive data acceptance" is not asked.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Inspectors own the field endpoints; a city admin has the widest scope for everything else.
INSPECTOR_PATHS = ("/api/v1/sync", "/api/v1/media", "/api/v1/signins")

# tus chunks are raw bytes, sent as they are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


def _fuzz_operation(operation, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        merged = dict(case.headers or {})
        merged.update(headers)
        case.call_and_validate(headers=merged, checks=CHECKS)

    run()


@pytest.mark.filterwarnings("ignore")
def test_api_never_fails_and_answers_as_documented(app, client, world):
    helper = ApiHelper(client)
    tokens = {"city": helper.headers("city"), "inspector": helper.headers("inspector_a")}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        role = "inspector" if operation.path.startswith(INSPECTOR_PATHS) else "city"
        try:
            _fuzz_operation(operation, tokens[role])
        except BaseException as error:  # collect every failing operation, then report them all
            if isinstance(error, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:2000]}")
    assert operations >= 3
    assert not failures, "\n\n".join(failures)
