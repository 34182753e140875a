"""Fixtures: app → client → runner, an `api` helper for bearer tokens, and a small world.

Every test gets a fresh database: in-memory SQLite by default, or, when TEST_DATABASE_URL
names a PostgreSQL server, one database per xdist worker, schema made once and emptied
between tests.
"""

from __future__ import annotations

import logging
import os
import uuid

import psycopg
import pytest
from sqlalchemy import text

from server import create_app
from server.extensions import db
from tests import api_contract, pii_guard

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_PASSWORD = "pw-for-tests"


def _worker_pg_url() -> str:
    """Return a per-worker database on the PostgreSQL server, creating it if needed."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base, _, dbname = PG_URL.rpartition("/")
    name = f"{dbname}_{worker}"
    # Connect to the maintenance database: the named one need not exist yet.
    admin = f"{base}/postgres".replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> str:
    """The database every test's app uses."""
    return _worker_pg_url() if PG_URL else "sqlite://"


@pytest.fixture(scope="session")
def engine_name(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


_pg_schema_ready = False


def _reset_pg_schema() -> None:
    global _pg_schema_ready
    if not _pg_schema_ready:
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        _pg_schema_ready = True
        return
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


def make_test_app(database_url: str, tmp_path, **overrides):
    """Create an app for tests: cheap password hashing, media in a temporary folder."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = api_contract.ContractClient
    pii_guard.install(app)
    return app


@pytest.fixture(scope="session", autouse=True)
def _pii_log_scanner():
    """Every log line of the suite is scanned for a full ID number or birth date."""
    handler = pii_guard.LogScanner()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture(autouse=True)
def _pii_log_scanner_attached(_pii_log_scanner):
    """Put the scanner back on the root logger before each test: a migration run in the same
    process (alembic's logging set-up) replaces the root logger's handlers."""
    root = logging.getLogger()
    if _pii_log_scanner not in root.handlers:
        root.addHandler(_pii_log_scanner)


@pytest.fixture(autouse=True)
def no_personal_data_shown():
    """Fail the test whose pages, answers, exports or logs showed an ID number or birth date."""
    pii_guard.take_findings()
    yield
    found = pii_guard.take_findings()
    if found:
        pytest.fail("personal data shown (PIPL): " + "; ".join(sorted(set(found))[:5]))


@pytest.fixture(autouse=True)
def api_answers_as_documented():
    """Fail a test whose API answers (through the test client) differ from the OpenAPI document.

    Answers received while a wider-scoped fixture was set up count for the first test after it.
    """
    yield
    failures = list(api_contract.FAILURES)
    api_contract.FAILURES.clear()
    assert not failures, "API answers not as documented:\n" + "\n".join(failures)


def pytest_terminal_summary(terminalreporter, config):
    """Say how many API answers were validated against the document in this run."""
    count = sum(getattr(config, "_api_contract_counts",
                        {}).values()) or api_contract.VALIDATED["responses"]
    terminalreporter.write_line(f"API answers validated against the OpenAPI document: {count}")


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the count to the controller
        workeroutput["api_contract_validated"] = api_contract.VALIDATED["responses"]


def pytest_testnodedown(node, error):
    counts = node.config.__dict__.setdefault("_api_contract_counts", {})
    counts[node.gateway.id] = getattr(node, "workeroutput", {}).get("api_contract_validated", 0)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    app = make_test_app(database_url, tmp_path, **app_config)
    with app.app_context():
        if database_url.startswith("postgresql"):
            _reset_pg_schema()
        else:
            db.create_all()
        yield app
        db.session.remove()
        if not database_url.startswith("postgresql"):
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class ApiHelper:
    """Log users in through the real token endpoint and call the API with their token."""

    def __init__(self, client):
        self.client = client

    def token(self, username: str, password: str = TEST_PASSWORD,
              device_id: str | None = None) -> str:
        response = self.client.post("/api/v1/auth/token", json={
            "username": username, "password": password,
            "device_id": device_id or f"device-{username}",
        })
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]

    def headers(self, username: str, device_id: str | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token(username, device_id=device_id)}"}


@pytest.fixture
def api(client):
    return ApiHelper(client)


@pytest.fixture
def world(app):
    """A small, valid world: see tests/factories.py."""
    from tests.factories import build_world

    return build_world()


def new_uuid() -> str:
    return str(uuid.uuid4())


def fresh_database_url(database_url: str, tmp_path, suffix: str) -> str:
    """Return an empty, file-backed database of the engine under test (for real processes)."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / (suffix + '.sqlite3')}"
    base, _, name = database_url.rpartition("/")
    fresh = f"{name}_{suffix}"
    admin = f"{base}/postgres".replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{fresh}"')
    return f"{base}/{fresh}"
