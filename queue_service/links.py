"""Absolute links (ticket status, PDFs, booking mails): never built from an unchecked Host header.

A request's Host header is chosen by the client; a link built from it (``Host: evil.example``)
would send residents elsewhere. So links come from PUBLIC_BASE_URL, or from the request's address
only when Flask's TRUSTED_HOSTS has checked it, or, without either, from HOST and PORT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app, has_request_context, request

# set while a mail drafted in a request is composed elsewhere (the outbox's sender)
_base_url: ContextVar[str | None] = ContextVar("qs_public_base_url", default=None)


@contextmanager
def public_base_url_as(base_url: str | None) -> Iterator[None]:
    """Build links on ``base_url`` (the address a change was made at) inside the block."""
    token = _base_url.set(base_url)
    try:
        yield
    finally:
        _base_url.reset(token)


def public_base_url() -> str:
    """The address residents reach this deployment at, without a trailing slash."""
    drafted_at = _base_url.get()
    if drafted_at:
        return drafted_at
    cfg = current_app.config
    if cfg.get("PUBLIC_BASE_URL"):
        return cfg["PUBLIC_BASE_URL"].rstrip("/")
    if cfg.get("TRUSTED_HOSTS") and has_request_context():
        return request.host_url.rstrip("/")  # request.host is checked against TRUSTED_HOSTS
    host = cfg.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    return f"http://{shown}:{cfg.get('PORT', 5000)}"


def absolute_url(path: str) -> str:
    """``path`` (starting with /) on the public address."""
    return public_base_url() + path
