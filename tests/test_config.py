from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_service import clock, create_app


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    db = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    first = create_app({"SQLALCHEMY_DATABASE_URI": db}).config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": db}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_clock_start_runs_on_from_the_chosen_moment(tmp_path):
    create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "SECRET_KEY": "x",
            "CLOCK_START": "2026-03-29T01:59:00",
        }
    )
    now = clock.now()
    expected = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert expected <= now < expected + timedelta(seconds=30)
    # local time jumps from 02:00 to 03:00 on this day
    clock.advance(timedelta(minutes=2))
    assert clock.local_now().hour == 3


def test_database_url_postgres_scheme_is_normalised(tmp_path, monkeypatch):
    from queue_service.config import from_environment

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert (
        from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    )


def test_behind_a_trusted_proxy_the_client_address_and_scheme_come_from_its_headers(tmp_path):
    from flask import request

    def app_with(proxies: int):
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "SECRET_KEY": "x",
                "TRUSTED_PROXIES": proxies,
            }
        )
        app.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme}")
        return app.test_client()

    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    nginx = {"REMOTE_ADDR": "127.0.0.1"}
    assert (
        app_with(1).get("/_whoami", headers=forwarded, environ_base=nginx).text
        == "203.0.113.7 https"
    )
    # without a trusted proxy the headers are anybody's claim and are ignored
    assert (
        app_with(0).get("/_whoami", headers=forwarded, environ_base=nginx).text == "127.0.0.1 http"
    )


def test_clock_speed_runs_the_clock_faster_from_a_shared_anchor(tmp_path):
    """Two processes given the same CLOCK_START, CLOCK_SPEED and CLOCK_ANCHOR read the same time,
    and it moves CLOCK_SPEED times as fast as the machine's."""
    anchor = clock.real_now() - timedelta(seconds=10)
    try:
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "SECRET_KEY": "x",
                "CLOCK_START": "2026-12-10T06:00",
                "CLOCK_SPEED": 60.0,
                "CLOCK_ANCHOR": str(anchor.timestamp()),
            }
        )
        assert clock.speed() == 60.0
        first = clock.now()
        # ten real seconds since the anchor are ten minutes on the clock
        start = datetime(2026, 12, 10, 5, 0, tzinfo=UTC)  # 06:00 in Hannover (UTC+1)
        assert start + timedelta(minutes=10) <= first < start + timedelta(minutes=11)
        real = clock.real_now()
        while clock.real_now() - real < timedelta(milliseconds=50):
            pass
        assert clock.now() - first >= timedelta(seconds=3)  # 50 ms real are 3 s at 60x
        clock.advance(timedelta(hours=1))  # tests may still move it
        assert clock.now() - first >= timedelta(hours=1)
    finally:
        clock.reset()
    assert clock.speed() == 1.0


def test_clock_anchor_reads_unix_seconds_and_iso_moments():
    assert clock.parse_real_moment("0") == datetime(1970, 1, 1, tzinfo=UTC)
    assert clock.parse_real_moment("2026-12-03T09:00:00") == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert clock.parse_real_moment("2026-12-03T10:00:00+01:00") == datetime(
        2026, 12, 3, 9, tzinfo=UTC
    )


def test_postgres_pool_size_comes_from_the_environment(monkeypatch):
    from queue_service.config import engine_options

    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)
    monkeypatch.delenv("DATABASE_MAX_OVERFLOW", raising=False)
    defaults = engine_options("postgresql+psycopg://x@127.0.0.1/db")
    assert (defaults["pool_size"], defaults["max_overflow"]) == (10, 20)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "4")
    options = engine_options("postgresql+psycopg://x@127.0.0.1/db")
    assert (options["pool_size"], options["max_overflow"]) == (3, 4)
    assert "pool_size" not in engine_options("sqlite:///x.sqlite3")
