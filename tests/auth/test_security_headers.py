"""Security headers on every response: a Content-Security-Policy without inline scripts,
frame-ancestors, HSTS over TLS (also behind a proxy), and the older headers; no template relies
on an inline script or an inline event handler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from queue_service import create_app

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = ["queue_service", "kiosk", "display", "admin"]


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/termin/",
        "/admin/login",
        "/api/v1/offices",
        "/api/v1/me",  # 401 problem+json
        "/does-not-exist",  # 404 page
        "/healthz",
        "/admin/static/admin.js",
    ],
)
def test_every_response_has_the_security_headers(client, catalogue, path):
    response = client.get(path)
    csp = directives(response)
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert "unsafe" not in csp["default-src"]
    assert csp["frame-ancestors"] == "'self'"
    assert csp["base-uri"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS


def test_hsts_is_sent_over_tls(client, catalogue):
    response = client.get("/", base_url="https://termine.example")
    assert response.headers["Strict-Transport-Security"] == f"max-age={365 * 24 * 3600}"


def test_hsts_behind_a_trusted_proxy_follows_x_forwarded_proto(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
            "TRUSTED_PROXIES": 1,
        }
    )
    client = app.test_client()
    https = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def _templates():
    for package in TEMPLATE_DIRS:
        yield from (ROOT / package).rglob("templates/**/*.html")


def test_no_template_has_an_inline_script_or_event_handler():
    templates = list(_templates())
    assert len(templates) > 30, "the walk found too few templates to prove anything"
    problems = []
    for path in templates:
        html = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            if "src=" not in tag and 'type="application/json"' not in tag:
                problems.append(f"{path.relative_to(ROOT)}: inline {tag}")
        for handler in re.findall(r"<[^>]*\son[a-z]+\s*=", html, re.I):
            problems.append(f"{path.relative_to(ROOT)}: event handler attribute in {handler}")
        if "javascript:" in html:
            problems.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert problems == []


def test_a_views_own_header_is_kept_and_each_header_is_sent_once(client, catalogue, app):
    """The ticket's status page sends Referrer-Policy no-referrer (its URL is the secret);
    the hook adds what is missing, whatever the case of the view's header name."""

    @app.get("/_headers-test")
    def _own():
        return "x", 200, {"referrer-policy": "no-referrer", "X-Frame-Options": "DENY"}

    response = client.get("/_headers-test")
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(response.headers.getlist("Content-Security-Policy")) == 1


def test_the_security_headers_cost_a_few_python_calls_per_response(app, catalogue):
    """Four ``setdefault`` calls walked the response's headers twice each: 134 Python calls on
    every response (count_queue.py's kiosk issue); one pass over them now."""
    import cProfile
    import pstats

    from flask import Response

    (hook,) = [f for f in app.after_request_funcs[None] if f.__name__ == "_security_headers"]
    with app.test_request_context("/api/v1/offices"):
        response = Response("{}", content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        profile = cProfile.Profile()
        profile.enable()
        hook(response)
        profile.disable()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    assert calls <= 50, calls
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
