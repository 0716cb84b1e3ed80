"""How a request is authenticated: session login (Flask-Login), bearer API tokens, device tokens."""

from __future__ import annotations

import logging
from functools import wraps

from flask import after_this_request, current_app, request
from flask_login import current_user

from .. import clock
from ..errors import Unauthorized
from ..extensions import db, login_manager
from . import services
from .models import Device, Role, User

DEVICE_COOKIE = "qs_device"
DEVICE_HEADER = "X-Device-Token"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user and user.active else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


@login_manager.request_loader
def _load_user_from_request(req) -> User | None:
    token = bearer_token()
    if token:
        return services.user_for_api_token(token)
    return None


def uses_token_auth() -> bool:
    """True when the request authenticates with a header token (not a cookie): no CSRF risk."""
    return bool(bearer_token() or request.headers.get(DEVICE_HEADER))


def current_device() -> Device | None:
    """The registered device making this request (header, else the kiosk/display cookie)."""
    cached = getattr(request, "_qs_device", False)
    if cached is False:
        token = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE)
        cached = services.device_for_token(token) if token else None
        request._qs_device = cached
        if cached is not None and _seen_long_ago(cached):
            _touch_after_request(cached.id)
    return cached


def _seen_long_ago(device: Device) -> bool:
    last = device.last_seen_at
    return last is None or last < clock.now() - services.DEVICE_SEEN_RESOLUTION


def _touch_after_request(device_id: int) -> None:
    # after the view, so the write never lands inside the view's own unit of work
    @after_this_request
    def _seen(response):
        try:
            services.touch_device_last_seen(device_id)
        except Exception:  # "last seen" must never break a kiosk or display request
            logging.getLogger(__name__).exception(
                "could not record that device %s was seen", device_id
            )
        return response


def staff_user() -> User | None:
    return current_user if current_user and current_user.is_authenticated else None


def staff_required(*roles: Role):
    """Require a logged-in (or token-authenticated) staff member, optionally of given roles."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = staff_user()
            if user is None:
                raise Unauthorized("Please log in as staff.")
            if roles:
                services.require_role(user, *roles)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def set_device_cookie(response, token: str) -> None:
    """Store a device token in this browser: long-lived, HttpOnly, SameSite=Strict, whole site.

    Browsers cap a cookie's lifetime (Chromium: 400 days), so a kiosk page should call this again
    with the current cookie on each visit to keep a working kiosk registered.
    """
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=current_app.config["DEVICE_COOKIE_MAX_AGE"],
        path="/",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Strict",
    )
