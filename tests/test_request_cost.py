"""What every request costs outside its view (session 10): Flask's, Werkzeug's and Flask-Login's
per-request work done with fewer Python calls, each answer compared with the library's own."""

from __future__ import annotations

import asyncio
import inspect
from functools import partial

import pytest
from babel import Locale
from flask import Flask, session
from flask_babel import refresh
from flask_login import LoginManager as FlaskLoginManager
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from queue_service import Request, create_app
from queue_service.extensions import limiter, login_manager
from queue_service.ratelimits import _limits_not_of_a_route

from .conftest import _test_config
from .support.calls import python_calls as _calls


def _plain(value):
    return value


async def _coroutine(value):
    return value


class _Hooks:
    def plain(self, value):
        return value

    async def coroutine(self, value):
        return value


def _kinds_of_callables() -> list:
    hooks = _Hooks()
    found = [
        _plain,
        lambda value: value,
        hooks.plain,
        _coroutine,
        hooks.coroutine,
        partial(_plain, 1),
        partial(_coroutine, 1),
        len,
        _Hooks,
    ]
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+

        def marked(value):
            return value

        found.append(inspect.markcoroutinefunction(marked))
    return found


def test_ensure_sync_gives_flasks_answer_for_every_kind_of_callable(sqlite_app):
    for func in _kinds_of_callables():
        try:
            expected = Flask.ensure_sync(sqlite_app, func) is func
        except RuntimeError:  # Flask's async support needs asgiref: an async callable
            expected = False
        try:
            found = sqlite_app.ensure_sync(func) is func
        except RuntimeError:
            found = False
        assert found == expected, func
    assert asyncio.iscoroutinefunction(_coroutine)  # the async kinds are really async


def test_ensure_sync_answers_a_plain_hook_from_its_code_flags(sqlite_app):
    """Flask asks it for every hook, view and teardown of every request: it took 9 Python calls
    each (inspect.iscoroutinefunction), about 150 per API request."""
    for func in (_plain, _Hooks().plain):
        answer, calls = _calls(sqlite_app.ensure_sync, func)
        assert answer is func
        assert calls <= 3  # ensure_sync, hasattr (and the profiler's disable)
        _answer, flasks = _calls(Flask.ensure_sync, sqlite_app, func)
        assert flasks >= 8


@pytest.mark.parametrize(
    "cookies",
    [
        None,
        "",
        "session=abc.def",
        "a=1; b=2; a=3",
        'qs_device=x; quoted="va;lue"; empty=',
        "  spaced = 1 ;; broken",
        "utf8=" + "é".encode().decode("latin-1"),  # WSGI: the header's bytes as latin-1
    ],
)
def test_request_cookies_are_werkzeugs(cookies):
    headers = {"Authorization": "Bearer x", "X-Device-Token": "y", "Accept-Language": "de"}
    if cookies is not None:
        headers["Cookie"] = cookies
    builder = EnvironBuilder(path="/api/v1/me", headers=headers)
    environ = builder.get_environ()
    builder.close()
    found = Request(dict(environ)).cookies
    expected = WerkzeugRequest(dict(environ)).cookies
    assert list(found.items(multi=True)) == list(expected.items(multi=True))
    assert type(found) is type(expected)


def test_request_cookies_without_a_cookie_header_cost_no_header_walk():
    """Werkzeug walked every header for "Cookie" (about 45 Python calls with a dozen headers)."""
    builder = EnvironBuilder(path="/x", headers={f"X-Header-{i}": str(i) for i in range(12)})
    environ = builder.get_environ()
    builder.close()
    ours, werkzeugs = Request(environ), WerkzeugRequest(environ)
    _cookies, calls = _calls(lambda: ours.cookies)
    _cookies, werkzeugs = _calls(lambda: werkzeugs.cookies)
    assert calls <= 8 < 30 <= werkzeugs


def test_session_protection_skips_an_empty_session(sqlite_app):
    """Flask-Login hashed the client's address and agent for an empty session too (about 35
    Python calls on every kiosk, bearer and anonymous request), to check nothing."""
    with sqlite_app.test_request_context("/", headers={"User-Agent": "kiosk"}):
        failed, calls = _calls(login_manager._session_protection_failed)
        assert failed is False and calls <= 8
        _failed, flask_logins = _calls(FlaskLoginManager._session_protection_failed, login_manager)
        assert flask_logins >= 20


def test_session_protection_still_guards_a_session_from_another_client(sqlite_app):
    with sqlite_app.test_request_context("/", headers={"User-Agent": "other browser"}):
        session["_user_id"] = "1"
        session["_fresh"] = True
        session["_id"] = "the identifier of the browser that signed in"
        assert login_manager._session_protection_failed() is False  # basic: no longer fresh
        assert session["_fresh"] is False and session["_user_id"] == "1"
    sqlite_app.config["SESSION_PROTECTION"] = "strong"
    try:
        with sqlite_app.test_request_context("/", headers={"User-Agent": "other browser"}):
            session["_user_id"] = "1"
            session["_id"] = "the identifier of the browser that signed in"
            session.permanent = False
            assert login_manager._session_protection_failed() is True
            assert "_user_id" not in session
    finally:
        sqlite_app.config.pop("SESSION_PROTECTION")


def _hook(app, name: str):
    return next(f for f in app.before_request_funcs[None] if f.__name__ == name)


def test_a_served_request_does_not_refresh_a_locale_it_never_had(sqlite_app):
    """Its app context is its own (Flask-Babel's refresh took about 25 Python calls)."""
    with sqlite_app.test_request_context("/api/v1/me"):
        _none, calls = _calls(_hook(sqlite_app, "_fresh_locale"))
        _none, refreshing = _calls(refresh)
    assert calls <= 8 < 20 <= refreshing


def test_each_request_in_a_long_lived_app_context_gets_its_own_language(tmp_path):
    app = create_app(_test_config(f"sqlite:///{tmp_path / 'test.sqlite3'}"))
    client = app.test_client()
    titles = []
    with app.app_context():  # as in jobs and tests: the requests share it (and its g)
        for lang in ("de", "en", "de"):
            answer = client.get("/api/v1/no-such-thing", headers={"Accept-Language": lang})
            assert answer.status_code == 404
            titles.append(answer.get_json()["title"])
    assert titles[0] == titles[2] != titles[1]


@pytest.fixture
def limited_app(tmp_path):
    """Rate limits on, as deployed (in-memory storage)."""
    app = create_app(
        _test_config(
            f"sqlite:///{tmp_path / 'test.sqlite3'}",
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    yield app


def _limiters_check(app):
    return next(
        f for f in app.before_request_funcs[None] if f.__name__ == "_check_limits_not_of_a_route"
    )


def test_the_limiters_check_of_every_request_is_skipped_with_only_routes_limits(limited_app):
    """Every limit of this app is a route's decorator, checked in the route's wrapper: the
    limiter's before-request check found nothing, at about 280 Python calls a request."""
    assert limiter._check_request_limit not in limited_app.before_request_funcs[None]
    assert not _limits_not_of_a_route()
    with limited_app.test_request_context("/api/v1/me"):
        _none, calls = _calls(_limiters_check(limited_app))
        _none, limiters = _calls(limiter._check_request_limit)
    assert calls <= 10 < 100 <= limiters


def test_the_limiters_check_runs_while_a_limit_not_of_a_route_exists(limited_app, monkeypatch):
    checked = []
    monkeypatch.setattr(limiter, "_check_request_limit", lambda: checked.append(1))
    app = create_app(limited_app.config)  # its hook wraps the spy
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", ["a default limit"])
    with app.test_request_context("/api/v1/me"):
        _limiters_check(app)()
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    with app.test_request_context("/api/v1/me"):
        _limiters_check(app)()
    assert checked == [1]


def _old_select_locale() -> str:
    """i18n.select_locale as it was (the query string parsed, the header parsed per request)."""
    from flask import current_app, request

    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        return asked
    remembered = session.get("lang")
    if isinstance(remembered, str) and remembered in languages:
        return remembered
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


@pytest.mark.parametrize(
    "query, accept",
    [
        ("", None),
        ("", "en-GB,en;q=0.9,de;q=0.8"),
        ("", "fr, tr;q=0.5"),
        ("", "de-DE"),
        ("", "*"),
        ("", "en;q=0, de;q=0.1"),
        ("lang=en", "de"),
        ("lang=xx", "en"),
        ("l%61ng=en", "de"),
        ("other=1", "en-US"),
    ],
)
def test_the_locale_is_the_one_the_old_selector_chose(sqlite_app, query, accept):
    from queue_service import i18n

    headers = {"Accept-Language": accept} if accept is not None else {}
    with sqlite_app.test_request_context(f"/api/v1/me?{query}", headers=headers):
        expected = _old_select_locale()
        assert i18n.select_locale() == expected
        assert str(i18n.request_locale()) == expected


def test_the_locale_of_a_request_is_chosen_with_few_python_calls(sqlite_app):
    """Flask-Babel asks once per request: the query string was parsed (also when empty), the
    Accept-Language header parsed and matched, the code parsed as a Locale: about 115 calls."""
    from flask_babel import get_locale

    from queue_service import i18n

    headers = {"Accept-Language": "en-GB,en;q=0.9,de;q=0.8"}
    with sqlite_app.test_request_context("/api/v1/me", headers=headers):
        first = i18n.request_locale()
    with sqlite_app.test_request_context("/api/v1/me", headers=headers):
        locale, calls = _calls(i18n.request_locale)
        assert locale is first and str(locale) == "en"
        assert get_locale() is locale
        _old, old_calls = _calls(lambda: Locale.parse(_old_select_locale()))
    assert calls <= 40 and old_calls >= 80


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer qs_abc"},
        {"Authorization": "  bearer   qs_abc  "},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"X-Device-Token": "kiosk"},
        {"X-Device-Token": ""},
    ],
)
def test_the_token_headers_are_read_as_werkzeug_reads_them(sqlite_app, headers):
    from flask import request

    from queue_service.auth import web

    with sqlite_app.test_request_context("/api/v1/me", headers=headers):
        assert web.device_header() == request.headers.get(web.DEVICE_HEADER)
        header = request.headers.get("Authorization", "").strip()
        scheme = header.split(None, 1)
        presented = bool(scheme) and scheme[0].lower() == "bearer"
        assert web.bearer_presented() == presented
        assert web.bearer_token() == ((header[6:].strip() or None) if presented else None)
        _found, calls = _calls(web.bearer_presented)
        _found, old_calls = _calls(_old_bearer_presented)
    assert calls < old_calls


def _old_bearer_presented() -> bool:
    from flask import request

    scheme = request.headers.get("Authorization", "").strip().split(None, 1)
    return bool(scheme) and scheme[0].lower() == "bearer"
