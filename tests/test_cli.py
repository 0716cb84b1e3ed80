from __future__ import annotations

import os

import pytest
import requests

from .conftest import DEMO_CATALOGUE
from .support.servers import cli_in_process, run_cli, start_server

pytestmark = pytest.mark.live


def _env(tmp_path, **extra):
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        SECRET_KEY="cli-test",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def test_create_user_and_token_work_end_to_end(tmp_path):
    env = _env(tmp_path)
    assert run_cli(["db", "upgrade"], env).returncode == 0
    loaded = run_cli(["load-catalogue", str(DEMO_CATALOGUE)], env)
    assert loaded.returncode == 0 and "Loaded 10 offices" in loaded.stdout
    user = run_cli(["create-user", "anna", "--role", "clerk", "--office", "aegi"], env)
    assert user.returncode == 0
    password = user.stdout.split("Password:")[1].strip()
    assert len(password) >= 16
    token = run_cli(["create-token", "anna"], env).stdout.strip()
    assert token.startswith("qs_") and len(token) > 40

    from queue_service import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": "x"})
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["offices"] == ["aegi"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer qs_wrong"}).status_code == 401


def test_commands_fail_clearly_and_change_nothing(tmp_path):
    env = _env(tmp_path)
    assert cli_in_process(["db", "upgrade"], env).returncode == 0  # set-up: no process needed
    bad = run_cli(["create-user", "bob", "--role", "clerk", "--office", "atlantis"], env)
    # commands speak the default language, German, like jobs
    assert (
        bad.returncode == 2 and "Es gibt kein Bürgeramt mit dem Kurznamen 'atlantis'" in bad.stderr
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nservices: []\noffices: []\n")
    result = run_cli(["load-catalogue", str(broken)], env)
    assert result.returncode == 2 and "at least one service is required" in result.stderr
    assert run_cli(["create-token", "nobody"], env).returncode == 2
    nobody = run_cli(["list-tokens", "nobody"], env)
    assert nobody.returncode == 2 and "Es gibt keinen Benutzer 'nobody'." in nobody.stderr


def test_a_missing_database_directory_is_a_clear_message(tmp_path):
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    result = run_cli(["db", "upgrade"], env)
    assert result.returncode == 2
    assert "database directory" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "missing").exists()


def test_demo_prepares_everything_and_prints_the_urls(tmp_path):
    env = _env(tmp_path, PORT="5123")
    result = run_cli(["demo", "--no-serve"], env)
    assert result.returncode == 0, result.stderr
    for expected in (
        "http://127.0.0.1:5123/kiosk/aegi",
        "/display/aegi",
        "/admin/login",
        "/api/v1/offices",
        "admin ",
    ):
        assert expected in result.stdout
    # run twice: still fine, new passwords
    again = run_cli(["demo", "--no-serve"], env)
    assert again.returncode == 0 and again.stdout != result.stdout


def test_flask_cli_reaches_the_same_commands(tmp_path):
    import subprocess
    import sys

    env = _env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "queue_service", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "queue_service",
            "create-user",
            "root",
            "--role",
            "admin",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "Password:" in result.stdout


@pytest.mark.parametrize(("given", "expected"), [(None, "gevent"), ("threading", "threading")])
def test_serve_runs_gevent_unless_the_async_mode_is_set(tmp_path, given, expected):
    server = start_server(tmp_path, env={"SOCKETIO_ASYNC_MODE": given})
    try:
        assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200
        assert f"Async mode: {expected}" in server.log()
    finally:
        server.stop()
