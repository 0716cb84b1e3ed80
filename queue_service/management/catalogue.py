"""The city-wide list of services (administrators change it; managers read it)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select

from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, Conflict, UnknownService, ValidationFailed
from ..extensions import db
from ..offices.models import Service
from .access import load_actor, require_admin
from .changes import apply_changes

_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
# I, O and Q look like digits on a ticket
_PREFIX = re.compile(r"^[A-HJ-NPR-Z]$")


@dataclass(frozen=True)
class ServiceData:
    name_de: str
    name_en: str
    prefix: str
    duration_minutes: int
    extra_person_minutes: int = 0
    description_de: str | None = None
    description_en: str | None = None
    walk_in_allowed: bool = True
    online_bookable: bool = True
    short_matter: bool = False
    documents_de: list[str] = field(default_factory=list)
    documents_en: list[str] = field(default_factory=list)
    online_alternative_url: str | None = None


def _validated(data: ServiceData) -> dict:
    values = asdict(data)
    _check_names(values)
    values["prefix"] = (values["prefix"] or "").strip().upper()
    if not _PREFIX.match(values["prefix"]):
        raise ValidationFailed(N_("One capital letter; not I, O or Q."), field="prefix")
    if not 1 <= data.duration_minutes <= 240:
        raise ValidationFailed(N_("Enter between 1 and 240 minutes."), field="duration_minutes")
    if not 0 <= data.extra_person_minutes <= 120:
        raise ValidationFailed(N_("Enter between 0 and 120 minutes."), field="extra_person_minutes")
    _check_texts(values)
    if not values["walk_in_allowed"] and not values["online_bookable"]:
        raise ValidationFailed(
            N_("A service must allow walk-ins, online appointments or both."),
            field="walk_in_allowed",
        )
    return values


def _check_names(values: dict) -> None:
    for key in ("name_de", "name_en"):
        values[key] = (values[key] or "").strip()
        if not values[key] or len(values[key]) > 120:
            raise ValidationFailed(N_("Enter a name of up to 120 characters."), field=key)


def _check_texts(values: dict) -> None:
    """Descriptions, the online alternative's address and the documents, trimmed."""
    for key in ("description_de", "description_en", "online_alternative_url"):
        values[key] = (values[key] or "").strip() or None
    url = values["online_alternative_url"]
    if url and (len(url) > 300 or not url.startswith(("https://", "http://"))):
        raise ValidationFailed(
            N_("Enter a web address starting with https://."), field="online_alternative_url"
        )
    for key in ("documents_de", "documents_en"):
        values[key] = [d.strip() for d in values[key] if d and d.strip()]


def list_services(*, actor: User) -> list[Service]:
    load_actor(actor.id)
    return list(db.session.scalars(select(Service).order_by(Service.sort_order, Service.code)))


def service_for(code: str, *, actor: User) -> Service:
    load_actor(actor.id)
    service = db.session.scalar(select(Service).where(Service.code == code))
    if service is None:
        raise UnknownService(
            N_("There is no service with the code %(code)s."), params={"code": code}
        )
    return service


def create_service(code: str, data: ServiceData, *, actor: User) -> Service:
    """Add a service to the catalogue (administrators); offices then choose to offer it."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        require_admin(actor)
        code = (code or "").strip().upper()
        if not _CODE.match(code):
            raise ValidationFailed(
                N_("Capital letters and digits, starting with a letter, at most 10."), field="code"
            )
        values = _validated(data)
        if session.scalar(select(Service.id).where(Service.code == code)):
            raise Conflict(
                N_("There is already a service with the code %(code)s."),
                field="code",
                params={"code": code},
            )
        order = (session.scalar(select(func.max(Service.sort_order))) or 0) + 1
        service = Service(code=code, sort_order=order, demo_fields=[], group="other", **values)
        session.add(service)
        session.flush()
        record(
            "service.created",
            actor=actor,
            object_type="service",
            object_id=code,
            details={"prefix": values["prefix"], "minutes": values["duration_minutes"]},
        )
    return service


def update_service(code: str, data: ServiceData, *, actor: User) -> Service:
    """Change a service of the catalogue (administrators); it changes for every office."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        require_admin(actor)
        service = session.scalar(select(Service).where(Service.code == code).with_for_update())
        if service is None:
            raise UnknownService(
                N_("There is no service with the code %(code)s."), params={"code": code}
            )
        changes = apply_changes(service, _validated(data))
        if changes:
            record(
                "service.updated",
                actor=actor,
                object_type="service",
                object_id=code,
                details={"changes": changes},
            )
    return service
