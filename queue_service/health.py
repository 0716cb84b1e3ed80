"""The service's dependencies: readiness per dependency, and answers while the database is away.

Degrade, don't fail: with Redis down the rate limits fall back to process memory (Flask-Limiter's
in-memory fallback, logged) and displays poll; with the database down every request is answered
503 with Retry-After (problem+json on the API, a notice in the site's layout on pages), and the
connection pool (pre-ping) reconnects by itself once the database is back.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from .db import commit_attempted
from .extensions import db

# what SQLAlchemy raises when the database cannot be reached or drops the connection: refused,
# restarting ("the database system is starting up"), terminated by an administrator, a closed
# connection, no pooled connection within the pool timeout, a SQLite file locked too long
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _unavailable_detail(retry_after: str) -> str:
    if commit_attempted():
        # lost at the commit or after it: the change may be saved (a ticket repeated with the
        # same Idempotency-Key is answered with that ticket, never a second one)
        return (
            "The connection to the database was lost while or after saving; the change may have "
            "been saved. Please try again in "
            f"{retry_after} seconds with the same Idempotency-Key, or check first."
        )
    return (
        "The database is not reachable for the moment. Nothing was changed; "
        f"please try again in {retry_after} seconds."
    )


def database_unavailable(error: Exception):
    """503 with Retry-After; the failed session is rolled back so the next request starts clean."""
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__
    )
    try:
        db.session.rollback()
    except Exception as exc:  # the connection is gone; the pool drops it
        current_app.logger.debug("rollback after a lost connection failed: %s", exc)
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])
    if _wants_problem_json():
        from .api.problems import problem_response

        response = problem_response(
            {
                "type": "about:blank",
                "title": "Service unavailable",
                "status": 503,
                "detail": _unavailable_detail(retry_after),
            },
            503,
        )
    else:
        from .web.errors import page

        body, _status = page(503)
        response = current_app.make_response((body, 503))
    response.headers["Retry-After"] = retry_after
    response.headers["Cache-Control"] = "no-store"
    return response


def _database_state() -> str:
    try:
        with db.engine.connect() as connection:  # its own connection: never a failed session
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # report, never raise: a load balancer asks this
        current_app.logger.warning("readiness: database unreachable (%s)", exc.__class__.__name__)
        return "unreachable"
    return "reachable"


def _redis_state() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # report, never raise
        current_app.logger.warning("readiness: redis unreachable (%s)", exc.__class__.__name__)
        return "unreachable"
    return "reachable"


def readiness() -> tuple[dict, int]:
    """Each dependency's state. Without the database nothing works (503); without Redis the
    process still serves everything (rate limits in memory, displays polling), so it stays in
    the load balancer (200, "degraded") rather than every process being taken out at once."""
    database, redis_state = _database_state(), _redis_state()
    if database != "reachable":
        status, code = "unavailable", 503
    elif redis_state == "unreachable":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return {"status": status, "database": database, "redis": redis_state}, code


def close_request_session(_error: BaseException | None = None) -> None:
    """End the request's session at the end of the request, never failing it.

    Closing rolls back what the session still holds (e.g. the read of a ticket's waiting
    estimate, after the ticket's commit). When the database has just dropped the connection
    (``pg_ctl stop -m fast``, a terminated backend) that rollback fails; the answer is already
    made then (a 201 for a committed ticket), and an error escaping here would reach the WSGI
    server, which answers 500 instead. The rollback is moot (the server ended the transaction
    with the connection), so the failure is logged, the connection dropped from the pool, and
    the session forgotten. Registered after Flask-SQLAlchemy's own teardown, so it runs first.
    """
    try:
        db.session.remove()
    except Exception as exc:
        current_app.logger.warning(
            "closing the session after the request failed (%s): connection dropped",
            exc.__class__.__name__,
        )
        try:
            # the session itself (the scoped_session proxy has no invalidate): never hand that
            # connection to another request
            db.session().invalidate()
        except Exception as again:
            current_app.logger.debug("invalidating the session failed too: %s", again)
        db.session.registry.clear()


def register(app: Flask) -> None:
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
    app.teardown_appcontext(close_request_session)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        body, code = readiness()
        return jsonify(body), code, {"Cache-Control": "no-store"}
