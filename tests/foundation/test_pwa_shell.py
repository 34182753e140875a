"""The field app's shell under /app/ and the `assignments create` command."""

from __future__ import annotations

import pytest

from server.security import CSP


@pytest.fixture
def dist(tmp_path):
    folder = tmp_path / "dist"
    (folder / "icons").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>抽查通</title>", encoding="utf-8")
    (folder / "main.js").write_text("export {};", encoding="utf-8")
    (folder / "sw.js").write_text("self.addEventListener('fetch', () => {});", encoding="utf-8")
    (folder / "app.css").write_text("body{}", encoding="utf-8")
    (folder / "manifest.webmanifest").write_text('{"name": "抽查通"}', encoding="utf-8")
    (folder / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder


@pytest.fixture
def app_config(dist):
    return {"PWA_DIST_DIR": str(dist)}


def test_shell_files_have_their_types_and_are_revalidated(client):
    expected = {
        "/app/": "text/html", "/app/main.js": "text/javascript", "/app/app.css": "text/css",
        "/app/manifest.webmanifest": "application/manifest+json",
        "/app/icons/icon-192.png": "image/png",
    }
    for url, mime in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == mime, url
        assert response.headers["Cache-Control"] == "no-cache", url
        assert response.headers["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP


def test_service_worker_is_never_cached_and_scoped_to_the_app(client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Service-Worker-Allowed"] == "/app/"


def test_client_routes_get_the_shell_and_unknown_files_404(client):
    assert client.get("/app").status_code == 308
    assert client.get("/app/visit/123").data.startswith(b"<!doctype html>")
    assert client.get("/app/missing.js", headers={"Accept": "application/json"}).status_code == 404
    assert client.get("/app/../wsgi.py").status_code == 404


@pytest.mark.parametrize("name", ["a" * 300 + ".js", "a" * 300, "a" * 300 + "/x"])
def test_a_name_too_long_for_the_file_system_is_404_not_500(client, name):
    response = client.get(f"/app/{name}", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_assignments_create_publishes_to_the_team(runner, world):
    from server.extensions import db
    from server.models import Assignment, ChangeLog
    from tests.factories import make_user

    teammate = make_user("inspector_b2", "inspector", world.counties["b"])
    db.session.commit()
    session = world.versions["b"].sessions[5]
    result = runner.invoke(args=["assignments", "create", "--inspector", "inspector_b",
                                 "--inspector", "inspector_b2", "--class",
                                 str(world.classes["b"].id),
                                 "--session", str(session.id)])
    assert result.exit_code == 0, result.output
    assignment = db.session.scalar(db.select(Assignment))
    assert sorted(u.username for u in assignment.inspectors) == ["inspector_b", "inspector_b2"]
    assert assignment.date == session.date
    audience = db.session.scalars(db.select(ChangeLog.user_id).where(
        ChangeLog.entity_type == "assignment")).all()
    assert sorted(audience) == sorted([world.users["inspector_b"].id, teammate.id])


def test_assignments_create_refuses_a_team_of_city_and_county_inspectors(runner, world):
    from server.extensions import db
    from server.models import Assignment

    session = world.versions["b"].sessions[5]
    result = runner.invoke(args=["assignments", "create", "--inspector", "inspector_b",
                                 "--inspector", "city_inspector", "--class",
                                 str(world.classes["b"].id), "--session", str(session.id)])
    assert result.exit_code != 0 and "市局暗访员不能与县市区抽查员同组" in result.output
    assert db.session.scalar(db.select(Assignment)) is None


def test_assignments_create_refuses_an_inspector_of_another_county(runner, world):
    from server.extensions import db
    from server.models import Assignment

    session = world.versions["b"].sessions[0]
    result = runner.invoke(args=["assignments", "create", "--inspector", "inspector_a",
                                 "--class", str(world.classes["b"].id), "--session",
                                 str(session.id)])
    assert result.exit_code == 2
    assert "不属于该县市区" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Assignment)) == 0
    bad = runner.invoke(args=["assignments", "create", "--inspector", "inspector_b",
                              "--class", "nope", "--session", str(session.id)])
    assert bad.exit_code == 2 and "not a UUID" in bad.output
