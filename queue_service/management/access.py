"""Who may manage what: administrators everything, managers their offices, clerks nothing."""

from __future__ import annotations

from sqlalchemy import select

from ..auth.models import Role, User
from ..errors import N_, Forbidden, UnknownOffice
from ..extensions import db
from ..offices.models import Office

MANAGING_ROLES = (Role.ADMIN, Role.MANAGER)


def load_actor(actor_id: int, session=None) -> User:
    """The acting manager or administrator; Forbidden for clerks and unknown or inactive accounts."""
    session = session or db.session
    user = session.get(User, actor_id)
    if user is None or not user.active:
        raise Forbidden(N_("Your account is not active."))
    if user.role not in MANAGING_ROLES:
        raise Forbidden(N_("Only managers and administrators can manage offices."))
    return user


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(N_("Only administrators can do this."))


def office_for(actor: User, slug: str, *, for_update: bool = False) -> Office:
    """The office ``slug`` (active or not) if ``actor`` may manage it."""
    query = select(Office).where(Office.slug == slug)
    if for_update:
        query = query.with_for_update()
    office = db.session.scalar(query)
    if office is None:
        raise UnknownOffice(N_("There is no office with the slug %(slug)s."), params={"slug": slug})
    if not actor.can_access(office.id):
        raise Forbidden(
            N_("Your account has no access to %(office)s."), params={"office": office.name}
        )
    return office


def managed_offices(*, actor: User) -> list[Office]:
    """The offices ``actor_id`` may manage, by name (administrators also see inactive ones)."""
    actor = load_actor(actor.id)
    query = select(Office).order_by(Office.is_mobile, Office.name)
    allowed = actor.office_ids()
    if allowed is not None:
        query = query.where(Office.id.in_(allowed or {-1}))
    return list(db.session.scalars(query))


def managed_office(slug: str, *, actor: User) -> Office:
    """Read access to one office for its managers and the administrators (403 otherwise)."""
    return office_for(load_actor(actor.id), slug)
