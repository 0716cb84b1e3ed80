"""Signing staff in and out: passwords, the per-account lockout, and sessions that end.

Every session carries the user's ``session_version`` (``User.get_id``); raising it ends all of
that user's sessions at their next request. The per-account lockout sits on top of the
per-address rate limit: it slows a guesser spread over many addresses, is time-limited, audited,
and an administrator can lift it; it is never told apart from a wrong password or an unknown
name (same answer, same cost), so it does not reveal which names exist.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..db import after_commit, unit_of_work
from ..extensions import db
from .models import User

# a dummy hash so that a login with an unknown name costs as much as one with a wrong password
_DUMMY_HASH = generate_password_hash("not-a-password")


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

    Every refusal looks the same to the caller, and costs the same one password hash: a wrong
    password, an unknown name, an inactive account, and an account whose sign-in is paused
    (even with the right password). So neither the answer nor its time tells whether a name
    exists. The pause is skipped for ``known_user_ids`` (this browser signed in as that user
    before), so that a guesser cannot lock a clerk out of their own counter PC. Wrong passwords
    count towards the pause (not while it lasts); a right one after it resets the count.
    """
    name = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    right = check_password_hash(user.password_hash, password or "")  # paused or not
    if is_paused(user) and user.id not in known_user_ids:
        return None
    if not right:
        _count_failure(user.id)
        return None
    if not user.active:
        return None
    return user


def is_paused(user: User) -> bool:
    """Sign-in for this account is paused after too many wrong passwords."""
    return user.login_locked_until is not None and user.login_locked_until > clock.now()


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


def lift_login_lock(session, target: User, *, actor: User) -> bool:
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


# told, after the commit, the id of a user whose sessions just ended (realtime cuts the user's
# open Socket.IO connections in this process); auth knows nothing of its listeners
_sessions_ended_listeners: list[Callable[[int], None]] = []


def on_sessions_ended(listener: Callable[[int], None]) -> None:
    """Call ``listener(user_id)`` after every commit that ended a user's sessions."""
    if listener not in _sessions_ended_listeners:
        _sessions_ended_listeners.append(listener)


def end_sessions(user: User) -> None:
    """End every session of ``user`` at its next request (inside the caller's unit of work)."""
    user.session_version = (user.session_version or 1) + 1
    user_id = user.id
    for listener in _sessions_ended_listeners:
        after_commit(partial(listener, user_id))


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
