"""Writing and reading the audit log.

``record(...)`` adds an entry to the CURRENT unit of work, so the entry commits with the change it
describes and rolls back with it. Details carry ids and changed settings; residents' personal data
(names, contact data, birth dates...) never goes in: the keys below are refused outright.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from .. import clock
from ..db import in_unit_of_work, unit_of_work
from ..errors import N_, Forbidden
from ..extensions import db
from .models import AuditEntry

SYSTEM_ACTOR = "system"

# Keys that would carry a resident's personal data. Refer to residents by id only.
PERSONAL_DATA_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "resident",
        "resident_name",
        "customer_name",
        "email",
        "e_mail",
        "mail",
        "phone",
        "telephone",
        "mobile_phone",
        "address",
        "street",
        "birth_date",
        "date_of_birth",
        "birthday",
        "comment",
        "ip",
        "ip_address",
    }
)


class PersonalDataInAudit(ValueError):
    """A programming error: an audit entry was about to store personal data."""


def _check_details(value: Any, path: str = "details") -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() in PERSONAL_DATA_KEYS:
                raise PersonalDataInAudit(
                    f"{path}.{key}: audit entries must not hold personal data; refer to ids"
                )
            _check_details(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            _check_details(inner, f"{path}[{i}]")


def record(
    action: str,
    *,
    actor: Any | None,
    object_type: str,
    object_id: int | str | None = None,
    office_id: int | None = None,
    details: dict | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (call it inside the change's unit of work).

    ``actor`` is the staff User (or None for the system); ``details`` must not hold personal data.
    """
    if not in_unit_of_work():
        raise RuntimeError("audit.record() must run inside the unit of work of the change")
    details = dict(details or {})
    _check_details(details)
    entry = AuditEntry(
        at=clock.now(),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name or (getattr(actor, "username", None) or SYSTEM_ACTOR),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        office_id=office_id,
        details=details,
    )
    db.session.add(entry)
    return entry


def record_about_user(action: str, *, actor: Any | None, user: Any, details: dict) -> None:
    """Audit a change to a staff account once per office of that account (so each office's
    managers see it), or once without an office for administrators."""
    for office in user.offices or [None]:
        record(
            action,
            actor=actor,
            object_type="user",
            object_id=user.id,
            office_id=office.id if office else None,
            details=details,
        )


def record_view(
    *,
    actor: Any,
    object_type: str,
    object_id: int | str,
    office_id: int | None,
    details: dict | None = None,
) -> None:
    """Log that staff viewed a resident's personal data (its own unit of work; for read pages)."""
    with unit_of_work():
        record(
            "personal_data.viewed",
            actor=actor,
            object_type=object_type,
            object_id=object_id,
            office_id=office_id,
            details=details,
        )


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _readable_offices(reader: Any) -> set[int] | None:
    """The offices whose entries ``reader`` may read (None: all). Clerks read nothing."""
    # roles by value: audit is imported by auth, so it does not import auth's Role
    if reader is None or getattr(reader, "role", None) not in ("admin", "manager"):
        raise Forbidden(N_("Only managers and administrators can read the audit log."))
    return reader.office_ids()


def list_entries(
    reader: Any,
    *,
    office_id: int | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Entries newest first; managers see the entries of their offices only."""
    office_ids = _readable_offices(reader)
    if office_id is not None and office_ids is not None and office_id not in office_ids:
        raise Forbidden(N_("Your account has no access to this office."))
    query = select(AuditEntry)
    if office_ids is not None:
        query = query.where(AuditEntry.office_id.in_(office_ids or {-1}))
    if office_id is not None:
        query = query.where(AuditEntry.office_id == office_id)
    if actor_name:
        query = query.where(AuditEntry.actor_name == actor_name.strip())
    if action:
        query = query.where(AuditEntry.action == action)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    entries = db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AuditPage(list(entries), page, pages, total, per_page)


def known_actions(reader: Any) -> list[str]:
    """The actions that occur in the entries this reader may see (for the filter)."""
    office_ids = _readable_offices(reader)
    query = select(AuditEntry.action).distinct()
    if office_ids is not None:
        query = query.where(AuditEntry.office_id.in_(office_ids or {-1}))
    return sorted(db.session.scalars(query).all())
