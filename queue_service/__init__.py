"""Bürgerservice Hannover: appointments and walk-in queues for the Bürgerämter.

``create_app()`` is the composition root: it reads the configuration, binds the extensions and
registers the API and the kiosk, display and admin front ends.
"""

from __future__ import annotations

import os

if os.environ.get("SOCKETIO_ASYNC_MODE") == "gevent":  # pragma: no cover  (served processes only)
    # gevent must patch the standard library before anything else imports it (threads become
    # greenlets, sockets cooperative); psycopg 3 and redis-py then yield to the hub by themselves.
    # A second patch (under gunicorn's gevent worker) is a no-op.
    from gevent import monkey

    monkey.patch_all()

from inspect import CO_COROUTINE
from pathlib import Path
from types import FunctionType, MethodType

from flask import Flask, g, request, url_for
from flask import Request as FlaskRequest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.sansio.http import parse_cookie
from werkzeug.utils import cached_property

from . import clock, health
from .config import Defaults, engine_options, from_environment, load_secret_key
from .errors import N_, DomainError
from .sessions import READ_METHODS, read_context

__all__ = ["create_app", "ConfigError"]

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


class ConfigError(RuntimeError):
    """The configuration cannot work (e.g. the database directory does not exist)."""


def _check_sqlite_directory(url: str) -> None:
    if not url.startswith("sqlite:///") or url in ("sqlite://", "sqlite:///:memory:"):
        return
    path = Path(url[len("sqlite:///") :].split("?", 1)[0])
    if not path.parent.is_dir():
        raise ConfigError(
            f"The database directory {path.parent} does not exist. Create it or point "
            "DATABASE_URL at an existing directory."
        )


class Request(FlaskRequest):
    """Flask's request, with its cookies read from the one WSGI variable that holds them."""

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        # Werkzeug walks every header for the "Cookie" ones (about 45 Python calls a request,
        # with or without cookies); in a WSGI environ they are HTTP_COOKIE alone
        found = self.environ.get("HTTP_COOKIE")
        if not found:
            return self.dict_storage_class()  # type: ignore[return-value]
        return parse_cookie(found, cls=self.dict_storage_class)  # type: ignore[return-value]


class QueueApp(Flask):
    """Flask with ``Request`` and a cheaper ``ensure_sync``."""

    request_class = Request

    def ensure_sync(self, func):
        # Flask asks inspect.iscoroutinefunction for each hook, view and teardown of every
        # request (about 150 Python calls); for a plain function or method the answer is its
        # code's flags
        plain = func.__func__ if type(func) is MethodType else func
        if (
            type(plain) is FunctionType
            and not plain.__code__.co_flags & CO_COROUTINE
            and not hasattr(plain, "_is_coroutine_marker")  # inspect.markcoroutinefunction
        ):
            return func
        return super().ensure_sync(func)

    def wsgi_app(self, environ, start_response):
        # a safe method's reads outside a unit of work need no transaction (sessions.py)
        token = read_context.set(environ.get("REQUEST_METHOD") in READ_METHODS)
        try:
            return super().wsgi_app(environ, start_response)
        finally:
            read_context.reset(token)


def create_app(test_config: dict | None = None) -> Flask:
    app = QueueApp(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("INSTANCE_PATH") or None,
    )
    try:
        os.makedirs(app.instance_path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the instance folder {app.instance_path}: {exc}") from exc

    app.config.from_object(Defaults)
    app.config.update(from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    _check_sqlite_directory(url)
    options = engine_options(url)
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS_EXTRA", {}))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    from .monitoring import logs

    logs.configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "text"))
    speed = float(app.config.get("CLOCK_SPEED") or 1.0)
    if app.config.get("CLOCK_START") or speed != 1.0:
        anchor = app.config.get("CLOCK_ANCHOR")
        start = app.config.get("CLOCK_START")
        clock.start_at(
            clock.parse_moment(start) if start else clock.real_now(),
            speed=speed,
            anchor=clock.parse_real_moment(anchor) if anchor else None,
        )
    if app.config.get("TRUSTED_PROXIES"):
        # behind nginx: the client's address (rate limits, audit) and scheme come from the
        # X-Forwarded-* headers the given number of proxies set, and from nobody else
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to wrap the WSGI callable; mypy refuses assigning to a method
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    _init_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_request_hooks(app)
    health.register(app)
    from . import monitoring

    monitoring.init_app(app)
    from .cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from . import i18n

    # models must be imported before the metadata is used
    from .audit import models as _audit_models  # noqa: F401
    from .auth import models as _auth_models  # noqa: F401
    from .booking import due as _booking_due  # noqa: F401  (appointments in the day's forecast)
    from .booking import impact as _booking_impact  # noqa: F401  (closures list appointments)
    from .booking import models as _booking_models  # noqa: F401
    from .db import install_session_hooks, ping_idle_connections
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .notify import models as _notify_models  # noqa: F401
    from .notify import outbox as _outbox  # noqa: F401  (the outbox's figures in /metrics)
    from .offices import models as _office_models  # noqa: F401
    from .offices import revision as _catalogue_revision  # noqa: F401  (triggers on create_all)
    from .realtime import models as _realtime_models  # noqa: F401
    from .scheduler import models as _scheduler_models  # noqa: F401
    from .scheduler import runner as _job_runs  # noqa: F401  (the jobs' figures in /metrics)
    from .stats import models as _stats_models  # noqa: F401
    from .tickets import display as _queue_display  # noqa: F401  (realtime reads the queue)
    from .tickets import models as _ticket_models  # noqa: F401
    from .waitlist import models as _waitlist_models  # noqa: F401
    from .waitlist import services as _waitlist  # noqa: F401  (takes freed times first)

    db.init_app(app)
    install_session_hooks()
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            ping_idle_connections(db.engine, float(app.config["DATABASE_PING_IDLE_SECONDS"]))
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = None

    i18n.compile_catalogues()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = i18n.translation_directories()
    babel.init_app(app, locale_selector=i18n.request_locale)
    app.add_template_filter(i18n.format_number, "number")
    app.add_template_filter(i18n.format_day, "day")

    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    limiter.init_app(app)
    from .ratelimits import check_in_middleware_only_when_needed

    check_in_middleware_only_when_needed(app)

    from . import realtime

    realtime.init_app(app)  # Socket.IO, its Redis message queue and handlers
    from .auth import web as _auth_web  # registers the login loaders

    app.session_interface = _auth_web.SessionCookies()

    @app.context_processor
    def _template_globals():
        from flask_babel import get_locale

        from .links import absolute_url

        lang = str(get_locale() or "de")

        def lang_url(code: str) -> str:
            args = dict(request.view_args or {})
            args.update(request.args.to_dict())
            args["lang"] = code
            return url_for(request.endpoint or "web.home", **args)

        return {
            "absolute_url": absolute_url,
            "current_lang": lang,
            "languages": app.config["LANGUAGES"],
            "language_names": i18n.LANGUAGE_NAMES,
            "rtl_languages": i18n.RTL_LANGUAGES,
            "lang_url": lang_url,
        }


def _register_blueprints(app: Flask) -> None:
    from admin import bp as admin_bp
    from display import bp as display_bp
    from kiosk import bp as kiosk_bp

    from .api import bp as api_bp
    from .web import bp as web_bp
    from .web.booking_pages import bp as booking_web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(booking_web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(admin_bp)


def _wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _www_authenticate() -> str:
    """The challenge of a 401 (RFC 6750): a presented bearer token was not accepted."""
    from .auth.web import bearer_presented

    if bearer_presented():
        return 'Bearer realm="queue-service", error="invalid_token"'
    return 'Bearer realm="queue-service"'


def _register_error_handlers(app: Flask) -> None:
    from .api.problems import from_domain_error, from_http_exception
    from .web import errors as pages

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        if _wants_problem_json():
            response = from_domain_error(error)
            if error.status == 401:
                response.headers["WWW-Authenticate"] = _www_authenticate()
            return response
        return pages.domain_error_page(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if _wants_problem_json():
            return from_http_exception(error)
        if error.code == 401 or (error.code == 302):
            return error
        return pages.http_error_page(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem_json():
            from .api.problems import problem_response

            return problem_response(
                {
                    "type": "about:blank",
                    "title": "Internal error",
                    "status": 500,
                    "detail": "Something went wrong on our side. Nothing was changed.",
                },
                500,
            )
        return pages.page(500)


# Scripts only from our own files (no inline script, no eval); inline style attributes stay
# allowed (layout values such as a display's row count). The kiosk prints a same-origin PDF in
# a frame, the ticket page registers a service worker, the displays speak over a same-origin
# WebSocket ('self' covers ws/wss of the same host). Nobody else may frame our pages.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "media-src 'self'",
        "worker-src 'self'",
        "frame-src 'self'",
        "object-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

# on every response unless its view set its own
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
)


def _register_request_hooks(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from .auth.web import uses_token_auth
    from .extensions import csrf

    @app.before_request
    def _refuse_large_bodies():
        # by the announced length, before anything reads the body; a body sent without a length
        # is cut off by Werkzeug at the same limit when it is read
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(
                f"The request body is larger than {limit} bytes, the largest this service takes."
            )

    @app.before_request
    def _fresh_locale():
        # the locale is cached on the app context, which outlives a request in tests and jobs;
        # a served request's app context is its own, without a cached locale (Flask-Babel keeps
        # it in g._flask_babel)
        if "_flask_babel" in g:
            from flask_babel import refresh

            refresh()

    @app.before_request
    def _reject_invalid_tokens():
        # a presented but invalid token is an error, never a silent fall-back to the session
        # cookie or to anonymous
        from flask_login import current_user

        from .auth.web import bearer_presented, current_device, device_header
        from .errors import Unauthorized

        if request.blueprint == "monitoring":
            return  # /metrics checks its own token (METRICS_TOKEN)
        if bearer_presented() and not current_user.is_authenticated:
            raise Unauthorized(N_("The bearer token is not valid (unknown, expired or revoked)."))
        device = device_header()
        if device is not None and (not device.strip() or current_device() is None):
            raise Unauthorized(N_("The device token is not valid (unknown or revoked)."))

    @app.before_request
    def _require_staff_login():
        # who asks comes before what they send: a staff route answers an anonymous caller with
        # 401 (API) or the login page before the CSRF check and before parameter validation;
        # so does a route for staff or kiosks (issuing a ticket) a caller with no credentials
        from flask_login import current_user

        from .auth.web import current_device, view_requires_staff, view_requires_staff_or_device
        from .errors import Unauthorized
        from .extensions import login_manager

        if request.routing_exception is not None or current_user.is_authenticated:
            return None
        # a request that routed has an endpoint (the routing exception was checked above)
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view_requires_staff_or_device(view) and current_device() is None:
            raise Unauthorized(
                N_(
                    "Log in as staff, send a bearer token, or use a registered kiosk (X-Device-Token)."
                )
            )
        if not view_requires_staff(view):
            return None
        if _wants_problem_json():
            raise Unauthorized(N_("Please log in as staff."))
        return login_manager.unauthorized()

    @app.before_request
    def _csrf_protect():
        if request.routing_exception is not None:
            return  # no route runs: the router's 404 or 405 (with Allow) is the answer
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not uses_token_auth():
            csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        from flask_babel import gettext

        expired = gettext("The form had expired. Please reload the page and try again.")
        if _wants_problem_json():
            from .api.problems import problem_response
            from .errors import status_texts

            # in the request's language like every other problem; "reason" for scripts
            title = status_texts(400)[0]
            problem = {"type": "about:blank", "title": title, "status": 400, "detail": expired}
            return problem_response({**problem, "reason": "csrf"}, 400)
        from .web.errors import page

        return page(400, expired, gettext("Please try again"))

    @app.after_request
    def _security_headers(response):
        # each unless the view set its own; one pass over the response's headers (a
        # setdefault each walked them twice and cost 134 Python calls on every request)
        headers = response.headers
        present = {key.lower() for key, _value in headers}
        for key, value in SECURITY_HEADERS:
            if key.lower() not in present:
                headers.add(key, value)
        max_age = app.config.get("HSTS_MAX_AGE", 0)
        if max_age and request.is_secure:  # over TLS (behind ProxyFix: X-Forwarded-Proto)
            headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
        return response
