"""Spotcheck server: the Flask application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.api import register_api
from server.cli import register_cli
from server.compression import init_compression
from server.config import Config
from server.errors import register_error_handlers
from server.extensions import csrf, db, login_manager, migrate
from server.i18n import init_i18n
from server.json_codec import engine_options as json_engine_options
from server.json_codec import init_json
from server.security import init_security, load_local_secret, refuse_builtin_secrets
from server.services.filed_roster import install as install_roster_freeze
from server.services.media_s3 import S3Store
from server.services.media_store import init_media_store, local_store
from server.services.record_seal import install as install_record_seals
from server.web import register_web


def _database_url(app: Flask) -> str:
    url = app.config.get("DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{Path(app.instance_path) / 'spotcheck.sqlite3'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _is_sqlite3(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # WAL lets readers go on while the sync writer commits; foreign keys are off by default.
    if _is_sqlite3(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(connection, name) -> None:
    # pysqlite opens a transaction only before INSERT, UPDATE or DELETE. A SAVEPOINT sent first
    # (the push's careful retry: one per mutation) would open one of its own, and SQLite makes
    # the RELEASE of the outermost savepoint a COMMIT: what a later rollback was to undo (the
    # whole batch) stayed committed, without its ledger rows. Begin the transaction first.
    dbapi_connection = connection.connection.driver_connection
    if _is_sqlite3(dbapi_connection) and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app: defaults, then environment, then test overrides."""
    app = Flask(
        __name__, instance_relative_config=True,
        template_folder="web/templates", static_folder="web/static",
    )
    app.config.from_mapping(Config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    load_local_secret(app)
    refuse_builtin_secrets(app)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app)
    # JSON columns through orjson (the ledger's results, sign-ins' GPS: the push hot path).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **json_engine_options(), **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    app.config.setdefault("MEDIA_DIR", None)
    if not app.config["MEDIA_DIR"]:
        app.config["MEDIA_DIR"] = str(Path(app.instance_path) / "media")

    init_json(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)

    # The media backends, by the MEDIA_STORAGE setting that names them.
    init_media_store(app, {"local": local_store, "s3": S3Store.from_config})

    register_error_handlers(app)
    install_record_seals()
    install_roster_freeze()
    init_i18n(app)
    init_security(app)
    init_compression(app)

    register_api(app)
    register_web(app)

    register_cli(app)
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app
