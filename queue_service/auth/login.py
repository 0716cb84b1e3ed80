"""Signing staff in and out: passwords, the per-account lockout, and sessions that end.

Every session carries the user's ``session_version`` (``User.get_id``); raising it ends all of
that user's sessions at their next request. The per-account lockout sits on top of the
per-address rate limit: it slows a guesser spread over many addresses, is time-limited, audited,
and an administrator can lift it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..db import unit_of_work
from ..errors import Refused
from ..extensions import db
from .models import User

# a dummy hash so that a login with an unknown name costs as much as one with a wrong password
_DUMMY_HASH = generate_password_hash("not-a-password")


class LoginLocked(Refused):
    """Too many wrong passwords for this account: sign-in waits until ``until``."""

    status = 429
    title = "Sign-in paused"
    slug = "login-locked"

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(
            "Too many wrong passwords for this account; sign-in is paused for a few minutes."
        )


@dataclass(frozen=True)
class LockState:
    failed_logins: int
    locked_until: datetime | None


def lock_duration(failed_logins: int) -> timedelta | None:
    """How long sign-in pauses after ``failed_logins`` wrong passwords in a row (None: not)."""
    cfg = current_app.config
    threshold = cfg["LOGIN_LOCKOUT_THRESHOLD"]
    if threshold <= 0 or failed_logins < threshold:
        return None
    minutes = cfg["LOGIN_LOCKOUT_MINUTES"] * 2 ** min(failed_logins - threshold, 16)
    return timedelta(minutes=min(minutes, cfg["LOGIN_LOCKOUT_MAX_MINUTES"]))


def authenticate(
    username: str, password: str, *, known_user_ids: Collection[int] = ()
) -> User | None:
    """The active user with this name and password, else None.

    Raises LoginLocked while the account's sign-in is paused, unless its id is among
    ``known_user_ids`` (this browser signed in as that user before), so that a guesser cannot lock
    a clerk out of their own counter PC. Wrong passwords count towards the pause; a right one
    resets the count.
    """
    name = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    now = clock.now()
    if (
        user.login_locked_until is not None
        and user.login_locked_until > now
        and user.id not in known_user_ids
    ):
        raise LoginLocked(user.login_locked_until)
    if not check_password_hash(user.password_hash, password or ""):
        _count_failure(user.id)
        return None
    if not user.active:
        return None
    return user


def _count_failure(user_id: int) -> None:
    from ..audit.services import record_about_user

    with unit_of_work() as session:
        # one UPDATE: concurrent wrong passwords from many addresses all count
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(failed_logins=User.failed_logins + 1)
            .execution_options(synchronize_session=False)
        )
        user = session.get(User, user_id)
        session.refresh(user)
        pause = lock_duration(user.failed_logins)
        if pause is None:
            return
        user.login_locked_until = clock.now() + pause
        record_about_user(
            "staff.login_locked",
            actor=None,
            user=user,
            details={
                "username": user.username,
                "failed_logins": user.failed_logins,
                "minutes": int(pause.total_seconds() // 60),
            },
        )


def record_login(user_id: int) -> None:
    """A successful sign-in: remember when, and forget earlier wrong passwords."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user:
            user.last_login_at = clock.now()
            user.failed_logins = 0
            user.login_locked_until = None


def lock_state(user_id: int) -> LockState:
    user = db.session.get(User, user_id)
    locked = user.login_locked_until if user else None
    if locked is not None and locked <= clock.now():
        locked = None
    return LockState(user.failed_logins if user else 0, locked)


def lift_login_lock(session, actor: User, target: User) -> bool:
    """Let ``target`` sign in again at once (inside the caller's unit of work); audited."""
    from ..audit.services import record_about_user

    if target.failed_logins == 0 and target.login_locked_until is None:
        return False
    target.failed_logins = 0
    target.login_locked_until = None
    record_about_user(
        "staff.login_unlocked", actor=actor, user=target, details={"username": target.username}
    )
    return True


def end_sessions(user: User) -> None:
    """End every session of ``user`` at its next request (inside the caller's unit of work)."""
    user.session_version = (user.session_version or 1) + 1


def sign_out_everywhere(user_id: int) -> None:
    """Logout: this session and every other session of the same user end."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is not None:
            end_sessions(user)


def user_for_session(user_id: str) -> User | None:
    """The user a session names (``"<id>.<session_version>"``), if that session is still valid."""
    ident, _, version = (user_id or "").partition(".")
    if not ident.isdigit() or not version.isdigit():
        return None  # a session from before session versions: it ends
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
