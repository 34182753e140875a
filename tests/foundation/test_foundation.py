"""The skeleton: migrations agree with the models, errors have one shape, tokens work."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from server.extensions import db
from server.models import Model
from tests.conftest import fresh_database_url, make_test_app


def test_migrations_build_the_schema_the_models_describe(database_url, tmp_path):
    url = fresh_database_url(database_url, tmp_path, "mig")
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Model.metadata)
            tables = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        db.engine.dispose()
    assert tables == 1
    assert diff == [], f"models and migrations disagree: {diff}"
    create_engine(url).dispose()


def test_unknown_api_path_answers_the_one_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"code": "not_found", "message": "未找到"}


def test_token_login_then_a_wrong_password_is_refused(client, world, api):
    token = api.token("inspector_a")
    assert len(token) > 20
    response = client.post("/api/v1/auth/token", json={
        "username": "inspector_a", "password": "wrong", "device_id": "d1"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.invalid_credentials"


def test_token_request_with_unknown_field_is_a_422_with_field_errors(client, world):
    response = client.post("/api/v1/auth/token", json={
        "username": "inspector_a", "password": "x", "device_id": "d1", "admin": True})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "admin" in body["errors"]


def test_openapi_document_lists_the_token_endpoint(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in doc["paths"]
    assert "TokenRequest" in doc["components"]["schemas"]


def test_users_create_makes_each_role_with_its_scope(runner, world):
    from server.extensions import db
    from server.models import User

    cases = [
        (["--role", "inspector"], None, None),
        (["--role", "inspector", "--county", "奎文区"], "a", None),
        (["--role", "county_admin", "--county", "寿光市"], "b", None),
        (["--role", "base_staff", "--base", "潍坊市技师学院"], "a", "a"),
    ]
    for index, (args, county, base) in enumerate(cases):
        username = f"new{index}"
        result = runner.invoke(args=["users", "create", "--username", username, "--password", "pw",
                                     *args])
        assert result.exit_code == 0, result.output
        user = db.session.query(User).filter_by(username=username).one()
        assert user.county_id == (world.counties[county].id if county else None)
        assert user.base_id == (world.bases[base].id if base else None)
    city_inspector = db.session.query(User).filter_by(username="new0").one()
    assert city_inspector.is_city


def test_users_create_refuses_what_cannot_be(runner, world):
    for args in (["--username", "city", "--password", "pw", "--role", "city_admin"],  # taken
                 ["--username", "x1", "--password", "pw", "--role", "county_admin"],  # no county
                 ["--username", "x2", "--password", "pw", "--role", "base_staff"],  # no base
                 ["--username", "x3", "--password", "pw", "--role", "inspector", "--county",
                  "火星"]):
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code == 2, (args, result.output)
