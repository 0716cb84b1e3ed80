"""Plain, detached views of appointments for the API, the pages and the mails.

A view is built inside the transaction and carries everything a mail needs, so an after-commit
hook never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..offices.models import Office, Service
from . import tokens
from .models import Appointment, AppointmentStatus


@dataclass(frozen=True)
class ServiceInfo:
    code: str
    name_de: str
    name_en: str
    documents_de: tuple[str, ...] = ()
    documents_en: tuple[str, ...] = ()
    online_alternative_url: str | None = None

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_de

    def documents(self, lang: str) -> list[str]:
        return list(self.documents_en if lang == "en" else self.documents_de)

    @classmethod
    def of(cls, service: Service) -> ServiceInfo:
        return cls(
            service.code,
            service.name_de,
            service.name_en,
            tuple(service.documents_de or ()),
            tuple(service.documents_en or ()),
            service.online_alternative_url,
        )


@dataclass(frozen=True)
class OfficeInfo:
    id: int
    slug: str
    name: str
    address: str | None
    timezone: str
    phone: str | None = None
    email: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "Europe/Berlin")

    @classmethod
    def of(cls, office: Office) -> OfficeInfo:
        return cls(
            office.id,
            office.slug,
            office.name,
            office.address,
            office.timezone or "Europe/Berlin",
            office.phone,
            office.email,
        )


@dataclass(frozen=True)
class AppointmentView:
    id: int
    public_id: str
    status: str  # effective status: a held or pending appointment past its expiry is "expired"
    office: OfficeInfo
    services: tuple[ServiceInfo, ...]
    persons: int
    start: datetime
    end: datetime
    lang: str
    revision: int
    code: str | None = None
    token: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    expires_at: datetime | None = None
    ticket_id: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.office.tz)

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(self.office.tz)

    @property
    def display_code(self) -> str | None:
        return tokens.format_code(self.code) if self.code else None

    @property
    def service_codes(self) -> list[str]:
        return [s.code for s in self.services]

    def documents(self, lang: str | None = None) -> list[str]:
        seen: list[str] = []
        for service in self.services:
            for doc in service.documents(lang or self.lang):
                if doc not in seen:
                    seen.append(doc)
        return seen

    def is_changeable(self, now: datetime | None = None) -> bool:
        """Can the resident still cancel or move it (booked, not yet begun)?"""
        return self.status in ("confirmed", "pending") and self.start > (now or clock.now())

    def to_api(self, manage_url: str | None = None) -> dict:
        tz = self.office.tz
        data = {
            "code": self.code,
            "status": self.status,
            "start": self.start.astimezone(tz).isoformat(),
            "end": self.end.astimezone(tz).isoformat(),
            "office": {
                "slug": self.office.slug,
                "name": self.office.name,
                "address": self.office.address,
            },
            "services": [{"code": s.code, "name": s.name(self.lang)} for s in self.services],
            "persons": self.persons,
            "lang": self.lang,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "documents": self.documents(),
            "expires_at": self.expires_at.astimezone(tz).isoformat() if self.expires_at else None,
            "changeable": self.is_changeable(),
        }
        if manage_url:
            data["manage_url"] = manage_url
        return data


def effective_status(appointment: Appointment, now: datetime | None = None) -> str:
    status = appointment.status
    if (
        status in (AppointmentStatus.HELD, AppointmentStatus.PENDING)
        and appointment.expires_at is not None
        and appointment.expires_at <= (now or clock.now())
    ):
        return AppointmentStatus.EXPIRED.value
    return status.value


def of_values(
    appointment_id: int,
    values: dict,
    office: OfficeInfo,
    services: tuple[ServiceInfo, ...],
    now: datetime,
    token: str | None,
) -> AppointmentView:
    """``build`` of an appointment just inserted from ``values`` (its columns as written;
    ``token``: the manage link's, from its salt), without loading it."""
    status = values["status"]
    expires_at = values["expires_at"]
    if (
        status in (AppointmentStatus.HELD, AppointmentStatus.PENDING)
        and expires_at is not None
        and expires_at <= now
    ):
        status = AppointmentStatus.EXPIRED
    return AppointmentView(
        id=appointment_id,
        public_id=values["public_id"],
        status=status.value,
        office=office,
        services=services,
        persons=values["persons"],
        start=values["start"],
        end=values["end"],
        lang=values["lang"],
        revision=values["revision"],
        code=values["code"],
        token=token,
        name=values["name"],
        email=values["email"],
        phone=values["phone"],
        expires_at=expires_at,
        ticket_id=None,
    )


def service_infos(codes: list[str]) -> tuple[ServiceInfo, ...]:
    found = {s.code: s for s in db.session.scalars(select(Service).where(Service.code.in_(codes)))}
    return tuple(ServiceInfo.of(found[c]) if c in found else ServiceInfo(c, c, c) for c in codes)


def build(
    appointment: Appointment,
    office: OfficeInfo | None = None,
    services: tuple[ServiceInfo, ...] | None = None,
    now: datetime | None = None,
) -> AppointmentView:
    office = office or OfficeInfo.of(db.session.get_one(Office, appointment.office_id))
    services = services if services is not None else service_infos(list(appointment.service_codes))
    token = tokens.manage_token(appointment.token_salt) if appointment.token_salt else None
    return AppointmentView(
        id=appointment.id,
        public_id=appointment.public_id,
        status=effective_status(appointment, now),
        office=office,
        services=services,
        persons=appointment.persons,
        start=appointment.start,
        end=appointment.end,
        lang=appointment.lang,
        revision=appointment.revision or 0,
        code=appointment.code,
        token=token,
        name=appointment.name,
        email=appointment.email,
        phone=appointment.phone,
        expires_at=appointment.expires_at,
        ticket_id=appointment.ticket_id,
    )
