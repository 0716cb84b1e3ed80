"""The waitlist's link secrets (derived from SECRET_KEY like the manage tokens, only their hashes
stored) and the absolute links put into mails and API answers."""

from __future__ import annotations

from ..booking import links, tokens

REQUEST_PATH = "/termin/warteliste/{token}"
CONFIRM_PATH = "/termin/warteliste/{token}/bestaetigen"
OFFER_PATH = "/termin/angebot/{token}"


def request_token(salt: str) -> str:
    return tokens.derived_token("waitlist-request", salt)


def offer_token(salt: str) -> str:
    return tokens.derived_token("waitlist-offer", salt)


def request_url(token: str) -> str:
    return links.base_url() + REQUEST_PATH.format(token=token)


def confirm_url(token: str) -> str:
    return links.base_url() + CONFIRM_PATH.format(token=token)


def offer_url(token: str) -> str:
    return links.base_url() + OFFER_PATH.format(token=token)
