"""Staff accounts: create (the generated password is shown once), reset, (de)activate, offices.

Administrators manage every account. Managers manage clerk accounts whose offices are all among
their own, and may only give them those offices; nobody can lock themselves out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..audit.services import record, record_about_user
from ..auth.login import end_sessions, lift_login_lock
from ..auth.models import Role, User
from ..auth.services import add_user, generate_password, set_password
from ..auth.tokens import TokenInfo, list_api_tokens, revoke_tokens_of
from ..db import unit_of_work
from ..errors import N_, Conflict, Forbidden, NotFound, Refused, ValidationFailed
from ..extensions import db
from ..offices.models import Office
from .access import load_actor


@dataclass(frozen=True)
class NewAccount:
    """A created or reset account with its password, to be shown once and never stored.

    After a reset: every session ended; ``revoked_tokens`` were revoked with it, ``kept_tokens``
    (API tokens) still work.
    """

    id: int
    username: str
    password: str
    revoked_tokens: tuple[str, ...] = ()
    kept_tokens: tuple[str, ...] = ()


def _may_manage(actor: User, target: User) -> bool:
    if actor.role == Role.ADMIN:
        return True
    allowed = actor.office_ids() or set()
    return (
        target.role == Role.CLERK
        and bool(target.offices)
        and {o.id for o in target.offices} <= allowed
    )


def _target(session, actor: User, user_id: int) -> User:
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(N_("This account does not exist."))
    if not _may_manage(actor, target):
        raise Forbidden(N_("You cannot manage this account."))
    return target


def _offices(session, actor: User, role: Role, slugs: list[str]) -> list[Office]:
    offices = (
        list(session.scalars(select(Office).where(Office.slug.in_(slugs))).all()) if slugs else []
    )
    if len(offices) != len(set(slugs)):
        raise ValidationFailed(N_("Unknown office."), field="offices")
    allowed = actor.office_ids()
    if allowed is not None and any(o.id not in allowed for o in offices):
        raise Forbidden(N_("You can only give accounts your own offices."))
    if role != Role.ADMIN and not offices:
        raise ValidationFailed(N_("Choose at least one office."), field="offices")
    return offices if role != Role.ADMIN else []


def _role(actor: User, value: str) -> Role:
    try:
        role = Role(value)
    except ValueError as exc:
        raise ValidationFailed(N_("Choose a role."), field="role") from exc
    if actor.role != Role.ADMIN and role != Role.CLERK:
        raise Forbidden(N_("Managers can only create clerk accounts."))
    return role


def list_staff(*, actor: User) -> list[User]:
    """Accounts the actor may see: all for administrators, those of their offices for managers."""
    actor = load_actor(actor.id)
    users = db.session.scalars(select(User).order_by(User.username)).all()
    allowed = actor.office_ids()
    if allowed is None:
        return list(users)
    return [u for u in users if u.role != Role.ADMIN and {o.id for o in u.offices} & allowed]


def staff_for(user_id: int, *, actor: User) -> User:
    actor = load_actor(actor.id)
    return _target(db.session, actor, user_id)


def may_manage(user_id: int, *, actor: User) -> bool:
    actor = load_actor(actor.id)
    target = db.session.get(User, user_id)
    return target is not None and _may_manage(actor, target)


def create_staff_account(
    username: str,
    role: str,
    office_slugs: list[str],
    display_name: str | None = None,
    *,
    actor: User,
) -> NewAccount:
    """Create an account with a generated password (returned once, stored only as a hash)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        role_value = _role(actor, role)
        offices = _offices(session, actor, role_value, office_slugs)
        username = (username or "").strip()
        if not username or len(username) > 80 or any(ch.isspace() for ch in username):
            raise ValidationFailed(
                N_("Enter a user name of up to 80 characters without spaces."), field="username"
            )
        if session.scalar(select(User.id).where(User.username == username)):
            raise Conflict(
                N_("The user name %(name)s is taken."), field="username", params={"name": username}
            )
        display_name = (display_name or "").strip() or None
        if display_name and len(display_name) > 120:
            raise ValidationFailed(
                N_("The display name may have up to 120 characters."), field="display_name"
            )
        user, password = add_user(
            session, username, role_value.value, offices, display_name=display_name
        )
        concerned: list[Office | None] = [*offices] if offices else [None]
        for office in concerned:
            record(
                "staff.created",
                actor=actor,
                object_type="user",
                object_id=user.id,
                office_id=office.id if office else None,
                details={
                    "username": username,
                    "role": role_value.value,
                    "offices": sorted(o.slug for o in offices),
                },
            )
        created = NewAccount(user.id, user.username, password)
    return created


def update_staff_account(
    user_id: int, *, actor: User, role: str, office_slugs: list[str], display_name: str | None
) -> User:
    """Change an account's role, offices and display name."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        target = _target(session, actor, user_id)
        role_value = _role(actor, role)
        if target.id == actor.id and role_value != actor.role:
            raise Refused(N_("You cannot change your own role."))
        offices = _offices(session, actor, role_value, office_slugs)
        display_name = (display_name or "").strip() or target.username
        if len(display_name) > 120:
            raise ValidationFailed(
                N_("The display name may have up to 120 characters."), field="display_name"
            )
        before_office_ids = {o.id for o in target.offices}
        before = {
            "role": target.role.value,
            "offices": sorted(o.slug for o in target.offices),
            "display_name": target.display_name,
        }
        if role_value != target.role:
            end_sessions(target)  # signed in with the old role: sign in again
        target.role, target.offices, target.display_name = role_value, offices, display_name
        after = {
            "role": role_value.value,
            "offices": sorted(o.slug for o in offices),
            "display_name": display_name,
        }
        changes = [
            {"field": k, "old": before[k], "new": after[k]} for k in before if before[k] != after[k]
        ]
        if changes:
            # one entry per office concerned, so each office's managers see it
            office_ids: list[int | None] = [*sorted({o.id for o in offices} | before_office_ids)]
            for office_id in office_ids or [None]:
                record(
                    "staff.updated",
                    actor=actor,
                    object_type="user",
                    object_id=target.id,
                    office_id=office_id,
                    details={"username": target.username, "changes": changes},
                )
    return target


def reset_staff_password(user_id: int, *, actor: User, revoke_tokens: bool = False) -> NewAccount:
    """Give an account a new generated password (shown once); the old one stops working, every
    session of the account ends, and its API tokens are revoked when asked (else they are listed
    as still valid)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        target = _target(session, actor, user_id)
        password = generate_password()
        set_password(target, password)  # ends every session of the account
        revoked = (
            revoke_tokens_of(session, target, actor=actor, audit=False) if revoke_tokens else []
        )
        kept = [] if revoke_tokens else [t.name for t in list_api_tokens(target.id)]
        record_about_user(
            "staff.password_reset",
            actor=actor,
            user=target,
            details={
                "username": target.username,
                "sessions_ended": True,
                "tokens_revoked": revoked,
                "tokens_kept": kept,
            },
        )
        result = NewAccount(target.id, target.username, password, tuple(revoked), tuple(kept))
    return result


def staff_tokens(user_id: int, *, actor: User) -> list[TokenInfo]:
    """The account's API tokens that are not revoked (names, expiry, last use; never the token)."""
    staff_for(user_id, actor=actor)
    return list_api_tokens(user_id)


def revoke_staff_token(user_id: int, token_id: int | None = None, *, actor: User) -> list[str]:
    """Revoke one API token of the account, or all of them; returns the revoked tokens' names."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        target = _target(session, actor, user_id)
        return revoke_tokens_of(session, target, token_id, actor=actor)


def unlock_staff_login(user_id: int, *, actor: User) -> bool:
    """Lift the sign-in pause after wrong passwords (audited); False when there was none."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        target = _target(session, actor, user_id)
        return lift_login_lock(session, target, actor=actor)


def set_staff_active(user_id: int, active: bool, *, actor: User) -> User:
    """Deactivate (sign-in refused, sessions end) or reactivate an account."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        target = _target(session, actor, user_id)
        if target.id == actor.id:
            raise Refused(N_("You cannot deactivate your own account."))
        if target.active != active:
            target.active = active
            end_sessions(target)
            record_about_user(
                "staff.activated" if active else "staff.deactivated",
                actor=actor,
                user=target,
                details={"username": target.username},
            )
    return target
