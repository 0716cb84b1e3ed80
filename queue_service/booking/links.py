"""Absolute links put into mails and API answers (the pages live under /termin)."""

from __future__ import annotations

from flask import current_app, has_request_context, request

BOOK_PATH = "/termin/"
MANAGE_PATH = "/termin/verwalten/{token}"
CONFIRM_PATH = "/termin/verwalten/{token}/bestaetigen"


def base_url() -> str:
    """PUBLIC_BASE_URL, else the address of the current request, else HOST:PORT."""
    cfg = current_app.config
    if cfg.get("PUBLIC_BASE_URL"):
        return cfg["PUBLIC_BASE_URL"].rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    host = cfg.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    return f"http://{shown}:{cfg.get('PORT', 5000)}"


def manage_url(token: str) -> str:
    return base_url() + MANAGE_PATH.format(token=token)


def confirm_url(token: str) -> str:
    return base_url() + CONFIRM_PATH.format(token=token)


def book_url() -> str:
    return base_url() + BOOK_PATH
