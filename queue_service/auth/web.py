"""How a request is authenticated: session login (Flask-Login), bearer API tokens, device tokens."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import wraps
from typing import cast

from flask import Flask, after_this_request, current_app, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user
from flask_login import login_required as _login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import clock
from ..db import keep_loaded_for_request
from ..errors import N_, Forbidden, Unauthorized
from ..extensions import login_manager
from . import devices, login, services, tokens, usage
from .models import Device, Role, User

DEVICE_COOKIE = "qs_device"
DEVICE_HEADER = "X-Device-Token"


SIGNED_IN_AT = "_qs_signed_in_at"  # session keys: epoch seconds of the sign-in ...
SEEN_AT = "_qs_seen_at"  # ... and of the last request (inactivity)
KNOWN_BROWSER_COOKIE = "qs_signin"  # this browser signed in as these users before
KNOWN_BROWSER_DAYS = 180


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, with its serializer made once per set of keys instead of
    on every request (about 30 Python calls each, also for requests that carry no cookie)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            assert found is not None  # a secret key is set
            self._serializers = {keys: found}  # the keys in use; a rotated key replaces them
        return found


def _header(environ_key: str) -> str | None:
    # what request.headers.get gives (its EnvironHeaders read this variable) for a tenth of the
    # Python calls; the token checks ask several times per request
    return request.environ.get(environ_key)


def bearer_presented() -> bool:
    """The request carries an ``Authorization: Bearer`` header (valid or not)."""
    scheme = (_header("HTTP_AUTHORIZATION") or "").strip().split(None, 1)
    return bool(scheme) and scheme[0].lower() == "bearer"


def bearer_token() -> str | None:
    header = (_header("HTTP_AUTHORIZATION") or "").strip()
    if bearer_presented():
        return header[6:].strip() or None
    return None


def device_header() -> str | None:
    """The request's ``X-Device-Token`` header, if it has one."""
    return _header("HTTP_X_DEVICE_TOKEN")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if bearer_presented():
        return None  # a bearer header means bearer authentication only, never the cookie
    user = login.user_for_session(user_id)
    if user is None or _session_expired():
        _forget_session()
        return None
    _note_activity()
    keep_loaded_for_request(user)
    return user


@login_manager.request_loader
def _load_user_from_request(req) -> User | None:
    token = bearer_token()
    if not token:
        return None
    found = tokens.authenticate_bearer(token)
    if found is None:
        return None
    request._qs_api_token_id = found.token_id  # type: ignore[attr-defined]  # per-request cache
    if not usage.is_recent(found.last_used_at, clock.now()):
        _touch_token_after_request(found.token_id, found.last_used_at)
    keep_loaded_for_request(found.user)
    return found.user


def _now() -> float:
    return clock.now().timestamp()


def _session_expired() -> bool:
    cfg = current_app.config
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int | float) or not isinstance(seen, int | float):
        return True
    now = _now()
    return (
        now - seen > cfg["STAFF_SESSION_IDLE_MINUTES"] * 60
        or now - signed_in > cfg["STAFF_SESSION_MAX_HOURS"] * 3600
    )


def _note_activity() -> None:
    now = _now()
    if now - session.get(SEEN_AT, 0) >= 60:  # minute resolution: the cookie changes rarely
        session[SEEN_AT] = now


def _forget_session() -> None:
    for key in ("_user_id", "_fresh", "_id", SIGNED_IN_AT, SEEN_AT):
        session.pop(key, None)


def sign_in(user: User) -> None:
    """Start a staff session in this browser and remember that it signed in as ``user``."""
    login_user(user)
    session[SIGNED_IN_AT] = session[SEEN_AT] = _now()
    known = sorted(known_user_ids() - {user.id})[-4:] + [user.id]
    value = _known_browser_signer().dumps(known)

    @after_this_request
    def _remember_browser(response):
        response.set_cookie(
            KNOWN_BROWSER_COOKIE,
            value,
            max_age=KNOWN_BROWSER_DAYS * 24 * 3600,
            path=url_for("admin.login"),
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            httponly=True,
            samesite="Strict",
        )
        return response


def sign_out() -> None:
    """Logout: end this session and every other session of the same user."""
    user = staff_user()
    if user is not None and getattr(request, "_qs_api_token_id", None) is None:
        login.sign_out_everywhere(user.id)
    logout_user()
    _forget_session()


def known_user_ids() -> set[int]:
    """The users this browser signed in as (signed cookie); they are let through a lockout."""
    value = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not value:
        return set()
    try:
        ids = _known_browser_signer().loads(value, max_age=KNOWN_BROWSER_DAYS * 24 * 3600)
    except BadSignature:
        return set()
    return {i for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()


def _known_browser_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-browser")


def _touch_token_after_request(token_id: int, last_used: datetime | None) -> None:
    @after_this_request
    def _used(response):
        try:
            tokens.touch_api_token(token_id, last_used)
        except Exception:  # "last used" must never break an API request
            logging.getLogger(__name__).exception("could not record the use of token %s", token_id)
        return response


def authenticated_by_token() -> bool:
    """A valid bearer or device token (not a cookie) authenticated this request."""
    if bearer_presented():
        return bool(current_user.is_authenticated) and bool(
            getattr(request, "_qs_api_token_id", None)
        )
    return bool(device_header()) and current_device() is not None


def uses_token_auth() -> bool:
    """True when a header token authenticated the request (no CSRF risk)."""
    return authenticated_by_token()


def current_device() -> Device | None:
    """The registered device making this request (header, else the kiosk/display cookie)."""
    cached = getattr(request, "_qs_device", False)
    if cached is False:
        token = device_header() or request.cookies.get(DEVICE_COOKIE)
        cached = services.device_for_token(token) if token else None
        request._qs_device = cached  # type: ignore[attr-defined]  # per-request cache
        if cached is not None:
            keep_loaded_for_request(cached)
        if cached is not None:
            seen = devices.last_seen(cached)
            if not usage.is_recent(seen, clock.now()):
                _touch_after_request(cached.id, seen)
    return cast("Device | None", cached)


def _touch_after_request(device_id: int, last_seen: datetime | None) -> None:
    # after the view, so the write never lands inside the view's own unit of work
    @after_this_request
    def _seen(response):
        try:
            services.touch_device_last_seen(device_id, last_seen)
        except Exception:  # "last seen" must never break a kiosk or display request
            logging.getLogger(__name__).exception(
                "could not record that device %s was seen", device_id
            )
        return response


def staff_user() -> User | None:
    return current_user if current_user and current_user.is_authenticated else None


def signed_in_staff() -> User:
    """The staff member of a view behind ``staff_required`` (it refused anonymous callers)."""
    user = staff_user()
    if user is None:
        raise Forbidden(N_("Staff login required."))
    return user


def requires_staff(view):
    """Mark a view that refuses anonymous callers itself: an anonymous POST to it is answered
    with 401 (or the login page) by the view, not with a CSRF error first."""
    view.requires_staff = True
    return view


def view_requires_staff(view) -> bool:
    return bool(getattr(view, "requires_staff", False))


def staff_or_device(view):
    """Mark a view that serves staff (session or bearer) and registered devices (device token or
    cookie) only: a caller with none of them is answered 401 before the CSRF check."""
    view.requires_staff_or_device = True
    return view


def view_requires_staff_or_device(view) -> bool:
    return bool(getattr(view, "requires_staff_or_device", False))


def login_required(view):
    """Flask-Login's login_required (anonymous: to the login page), marked as a staff view."""
    return requires_staff(_login_required(view))


def staff_required(*roles: Role):
    """Require a logged-in (or token-authenticated) staff member, optionally of given roles."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = staff_user()
            if user is None:
                raise Unauthorized(N_("Please log in as staff."))
            if roles:
                services.require_role(user, *roles)
            return view(*args, **kwargs)

        return requires_staff(wrapped)

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
