"""Detached views of waitlist requests and offers for the API, the pages and the mails (built
inside the transaction, so an after-commit mail never touches the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from .. import clock
from ..booking.models import Appointment
from ..booking.payloads import ServiceInfo, service_infos
from ..extensions import db
from ..offices.models import Office
from .links import offer_token, offer_url, request_url
from .models import OfferStatus, WaitlistOffer, WaitlistRequest


@dataclass(frozen=True)
class OfferView:
    token: str
    status: str
    office_slug: str
    office_name: str
    office_address: str | None
    start: datetime
    end: datetime
    expires_at: datetime
    services: tuple[ServiceInfo, ...]
    persons: int
    lang: str
    email: str | None
    moves_appointment: bool
    current_start: datetime | None = None  # the appointment an accepted offer would move

    @property
    def is_open(self) -> bool:
        return self.status == OfferStatus.OPEN.value and self.expires_at > clock.now()

    def to_api(self) -> dict:
        tz = clock.LOCAL_TZ
        return {
            "status": self.status if self.status != "open" or self.is_open else "lapsed",
            "office": {
                "slug": self.office_slug,
                "name": self.office_name,
                "address": self.office_address,
            },
            "start": self.start.astimezone(tz).isoformat(),
            "end": self.end.astimezone(tz).isoformat(),
            "expires_at": self.expires_at.astimezone(tz).isoformat(),
            "services": [{"code": s.code, "name": s.name(self.lang)} for s in self.services],
            "persons": self.persons,
            "moves_appointment": self.moves_appointment,
            "offer_url": offer_url(self.token),
        }


@dataclass(frozen=True)
class WaitlistView:
    token: str
    status: str
    services: tuple[ServiceInfo, ...]
    persons: int
    offices: tuple[tuple[str, str], ...]  # (slug, name); empty: any office
    first_day: date
    last_day: date
    weekdays: tuple[int, ...] | None
    earliest: time | None
    latest: time | None
    lang: str
    name: str | None
    email: str | None
    created_at: datetime
    queued_at: datetime | None
    moves_appointment: bool
    open_offer: OfferView | None = None

    @property
    def manage_url(self) -> str:
        return request_url(self.token)

    def to_api(self) -> dict:
        tz = clock.LOCAL_TZ
        return {
            "code": self.token[:8],
            "status": self.status,
            "manage_url": self.manage_url,
            "services": [{"code": s.code, "name": s.name(self.lang)} for s in self.services],
            "persons": self.persons,
            "offices": [{"slug": slug, "name": name} for slug, name in self.offices] or None,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "weekdays": list(self.weekdays) if self.weekdays is not None else None,
            "earliest": self.earliest.strftime("%H:%M") if self.earliest else None,
            "latest": self.latest.strftime("%H:%M") if self.latest else None,
            "lang": self.lang,
            "queued_at": self.queued_at.astimezone(tz).isoformat() if self.queued_at else None,
            "moves_appointment": self.moves_appointment,
            "offer": self.open_offer.to_api() if self.open_offer else None,
        }


def _offices(ids: list[int] | None) -> tuple[tuple[str, str], ...]:
    if not ids:
        return ()
    found = {o.id: o for o in db.session.scalars(select(Office).where(Office.id.in_(ids)))}
    return tuple((found[i].slug, found[i].name) for i in ids if i in found)


def build_offer(offer: WaitlistOffer, row: WaitlistRequest, token: str) -> OfferView:
    office = db.session.get_one(Office, offer.office_id)
    current = db.session.get(Appointment, row.appointment_id) if row.appointment_id else None
    return OfferView(
        token=token,
        status=offer.status.value,
        office_slug=office.slug,
        office_name=office.name,
        office_address=office.address,
        start=offer.start,
        end=offer.end,
        expires_at=offer.expires_at,
        services=service_infos(list(row.service_codes)),
        persons=row.persons,
        lang=row.lang,
        email=row.email,
        moves_appointment=row.appointment_id is not None,
        current_start=current.start if current is not None else None,
    )


def build(row: WaitlistRequest, token: str) -> WaitlistView:
    offer = db.session.scalar(
        select(WaitlistOffer).where(
            WaitlistOffer.request_id == row.id, WaitlistOffer.status == OfferStatus.OPEN
        )
    )
    return WaitlistView(
        token=token,
        status=row.status.value,
        services=service_infos(list(row.service_codes)),
        persons=row.persons,
        offices=_offices(row.office_ids),
        first_day=row.first_day,
        last_day=row.last_day,
        weekdays=tuple(row.weekdays) if row.weekdays is not None else None,
        earliest=row.earliest,
        latest=row.latest,
        lang=row.lang,
        name=row.name,
        email=row.email,
        created_at=row.created_at,
        queued_at=row.queued_at,
        moves_appointment=row.appointment_id is not None,
        open_offer=build_offer(offer, row, offer_token(offer.token_salt)) if offer else None,
    )
