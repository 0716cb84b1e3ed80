"""Rate limits shared by the booking API and the booking pages: one budget per client address."""

from __future__ import annotations

from flask import Flask, current_app

from .auth.web import bearer_token, staff_user
from .extensions import limiter


def _search_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING_SEARCH"]


def _write_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING_WRITE"]


def authenticated_integration() -> bool:
    """A request with a valid bearer token (an integration acting as a staff account)."""
    return bearer_token() is not None and staff_user() is not None


# one budget per client address across the API and the booking pages; only a bearer token that
# really authenticates is exempt (a made-up Authorization header must not lift the limit)
search_limit = limiter.shared_limit(
    _search_limit, scope="booking-search", exempt_when=authenticated_integration
)
write_limit = limiter.shared_limit(
    _write_limit, scope="booking-write", exempt_when=authenticated_integration, methods=["POST"]
)


def check_in_middleware_only_when_needed(app: Flask) -> None:
    """Run Flask-Limiter's before-request check only while a limit exists that only it applies.

    The check looks for the limits that are not a route's own (application, default, blueprint,
    meta and in-memory fallback limits); this app's limits are all routes' decorators, each
    checked in its route's wrapper, so for every request it found nothing, at about 280 Python
    calls (deployed; with the limiter off it is not registered). A limit of that kind added
    later (configuration, a blueprint's limit) turns it back on."""
    hooks = app.before_request_funcs.get(None, [])
    check = limiter._check_request_limit
    if check not in hooks:  # the limiter is off
        return

    def _check_limits_not_of_a_route() -> None:
        if _limits_not_of_a_route():
            check()

    hooks[hooks.index(check)] = _check_limits_not_of_a_route


def _limits_not_of_a_route() -> bool:
    manager = limiter.limit_manager
    return bool(
        manager._application_limits
        or manager._default_limits
        or manager._blueprint_limits
        or limiter._meta_limits
        or limiter._in_memory_fallback
    )
