"""Booking codes (short, for the kiosk) and manage tokens (secret, for links)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from flask import current_app

# No 0/O/Q, 1/I/L, 2/Z, 5/S, 8/B, 6/G: easy to read from a phone and type on a kiosk.
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
CODE_LENGTH = 6
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a resident typed or a scanner read, as stored ("k7m-4px" -> "K7M4PX")."""
    return _SEPARATORS.sub("", text or "").upper()


def format_code(code: str) -> str:
    """The code as shown to people, in two groups of three."""
    return f"{code[:3]}-{code[3:]}" if len(code) == CODE_LENGTH else code


def is_well_formed_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


def new_salt() -> str:
    return secrets.token_hex(16)


def manage_token(salt: str) -> str:
    """The manage-link token of an appointment: HMAC-SHA256(SECRET_KEY, salt), 256 bits.

    Derived rather than stored, so a copy of the database alone opens no appointment, and the
    reminder job can still put the link into its mail.
    """
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"appointment-manage:" + salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def derived_token(kind: str, salt: str) -> str:
    """Another link secret derived like the manage token, for ``kind`` (e.g. a waitlist offer)."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, kind.encode() + b":" + salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return 20 <= len(token or "") <= 100 and re.fullmatch(r"[A-Za-z0-9_\-]+", token) is not None
