"""Rate limits shared by the booking API and the booking pages: one budget per client address."""

from __future__ import annotations

from flask import current_app

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
