"""Absolute links put into mails and API answers (the pages live under /termin)."""

from __future__ import annotations

from ..links import public_base_url

BOOK_PATH = "/termin/"
MANAGE_PATH = "/termin/verwalten/{token}"
CONFIRM_PATH = "/termin/verwalten/{token}/bestaetigen"


def base_url() -> str:
    """The public address (PUBLIC_BASE_URL or a checked host; see queue_service.links)."""
    return public_base_url()


def manage_url(token: str) -> str:
    return base_url() + MANAGE_PATH.format(token=token)


def confirm_url(token: str) -> str:
    return base_url() + CONFIRM_PATH.format(token=token)


def book_url() -> str:
    return base_url() + BOOK_PATH
