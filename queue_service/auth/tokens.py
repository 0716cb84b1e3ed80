"""Bearer API tokens: named, owned by a staff user, optionally expiring, revocable.

Only a SHA-256 hash of a token is stored; the token itself is shown once when it is created.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from types import EllipsisType
from typing import TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import clock
from ..db import unit_of_work
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from ..offices import revision
from . import usage
from .models import AUTH, ApiToken, User, hash_token

T = TypeVar("T")


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token (never the token or its hash)."""

    id: int
    name: str
    username: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def valid(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > clock.now()
        )


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.name,
        row.user.username,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


def create_api_token(
    username: str, name: str | None = None, *, expires_at: datetime | None = None
) -> str:
    """Create a bearer token acting as ``username``; returns the token once."""
    name = (name or "").strip() or username
    if len(name) > 80:
        raise ValidationFailed(N_("A token name has at most 80 characters."), field="name")
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed(N_("The expiry must lie in the future."), field="expires")
    token = "qs_" + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ValidationFailed(
                N_("There is no user %(username)s."),
                field="username",
                params={"username": repr(username)},
            )
        session.add(
            ApiToken(
                user_id=user.id, name=name, token_hash=hash_token(token), expires_at=expires_at
            )
        )
    return token


@dataclass(frozen=True)
class _Kept:
    """What a valid token's lookup found, kept per process under the auth revision; ``user`` is
    detached with its offices loaded and is never changed (requests get merged copies)."""

    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    user: User


@dataclass(frozen=True)
class Bearer:
    """The request's bearer token: its id, its user (in the request's session) and its last
    use as far as this process knows."""

    token_id: int
    user: User
    last_used_at: datetime | None


def _load(token_hash) -> _Kept | None:
    # in the request's connection and snapshot, on a session of its own: what is kept must not
    # be the request's objects
    with Session(bind=db.session.connection()) as side:
        found = side.execute(
            select(ApiToken.id, ApiToken.user_id, ApiToken.expires_at, ApiToken.last_used_at).where(
                ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
            )
        ).first()
        if found is None:
            return None
        user = side.scalar(
            select(User).options(selectinload(User.offices)).where(User.id == found.user_id)
        )
        side.expunge_all()
    assert user is not None  # the token's foreign key
    return _Kept(found.id, found.expires_at, found.last_used_at, user)


def kept_lookup(key: Hashable, load: Callable[[Hashable], T | None]) -> T | None:
    """``load(key)`` kept per process under the auth revision of this transaction (and the
    catalogue's); what found nothing (None) is not kept, so it is looked up each time."""
    kept_here = revision.memo(AUTH.name)
    kept = kept_here.get(key)
    if kept is None:
        kept = load(key)
        if kept is None:
            return None
        kept_here[key] = kept
    return kept  # type: ignore[return-value]


def authenticate_bearer(token: str) -> Bearer | None:
    """The valid (known, unrevoked, unexpired) token of an active user, else None.

    Its lookup is kept per process under the auth revision, read with the catalogue's in one
    statement: a revocation, a deactivation or a new role or office committed by any process
    moves it, so it holds for the next request of every process. Unknown tokens are not kept."""
    kept = kept_lookup(hash_token(token), _load)
    if kept is None:
        return None
    assert isinstance(kept, _Kept)
    if kept.expires_at is not None and kept.expires_at <= clock.now():
        return None
    if not kept.user.active:
        return None
    user = db.session.merge(kept.user, load=False)
    noted = _uses_noted().get(kept.token_id)
    used = kept.last_used_at if noted is None or (kept.last_used_at or noted) > noted else noted
    return Bearer(kept.token_id, user, used)


def user_for_api_token(token: str) -> User | None:
    found = authenticate_bearer(token)
    return found.user if found else None


def _uses_noted() -> dict[int, datetime]:
    """The uses this process recorded, per token (what it keeps has the use at its lookup)."""
    return current_app.extensions.setdefault("qs_token_uses", {})


def touch_api_token(token_id: int, last_used: datetime | None | EllipsisType = ...) -> None:
    """Record a token's use; writes at most once a minute per token (cheap to call, never waits
    for another request recording it: auth/usage.py).
    ``last_used``: the value known to this request, which saves reading it."""
    now = clock.now()
    used = (
        db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
        if last_used is ...
        else last_used
    )
    if not usage.is_recent(used, now):
        usage.record_use(ApiToken.last_used_at, token_id, now)
        # written now, or found recent or being written by another process: either way not
        # due again for a minute
        _uses_noted()[token_id] = now


def list_api_tokens(user_id: int, *, include_revoked: bool = False) -> list[TokenInfo]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [_info(row) for row in db.session.scalars(query).all()]


def revoke_tokens_of(
    session, user: User, token_id: int | None = None, *, actor: User | None, audit: bool = True
) -> list[str]:
    """Revoke the user's tokens (or one of them) in the caller's unit of work, audited unless the
    caller audits it as part of a larger change; returns the revoked tokens' names."""
    from ..audit.services import record_about_user

    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    rows = list(session.scalars(query.order_by(ApiToken.created_at)).all())
    if token_id is not None and not rows:
        raise NotFound(N_("This token does not exist or is already revoked."))
    now = clock.now()
    for row in rows:
        row.revoked_at = now
    names = [row.name for row in rows]
    if names and audit:
        record_about_user(
            "staff.tokens_revoked",
            actor=actor,
            user=user,
            details={"username": user.username, "tokens": names},
        )
    return names


def revoke_user_tokens(username: str) -> list[str]:
    """Revoke every token of ``username`` (the CLI's revoke-token); the revoked tokens' names."""
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ValidationFailed(
                N_("There is no user %(username)s."),
                field="username",
                params={"username": repr(username)},
            )
        return revoke_tokens_of(session, user, actor=None)
