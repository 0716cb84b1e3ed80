"""Kiosks and displays of an office: register (the token is shown once), revoke, last seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import clock
from ..audit.services import record
from ..auth.models import Device, DeviceKind, User
from ..auth.services import add_device
from ..db import unit_of_work
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from ..offices.models import Office
from .access import load_actor, office_for


@dataclass(frozen=True)
class RegisteredDevice:
    id: int
    name: str
    kind: DeviceKind
    token: str  # shown once; only its hash is stored


def office_devices(slug: str, *, actor: User) -> tuple[Office, list[Device]]:
    office = office_for(load_actor(actor.id), slug)
    devices = db.session.scalars(
        select(Device)
        .where(Device.office_id == office.id)
        .order_by(Device.revoked_at.is_not(None), Device.kind, Device.name)
    ).all()
    return office, list(devices)


def register_device(
    slug: str, kind: str, name: str | None, *, actor: User, printer: str | None = None
) -> RegisteredDevice:
    """Register a kiosk or display (the token is returned once; admin/devices.py puts it into
    the device browser's cookie)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug)
        if kind not in {k.value for k in DeviceKind}:
            raise ValidationFailed(N_("Choose kiosk or display."), field="kind")
        name = (name or "").strip() or None
        if name and len(name) > 80:
            raise ValidationFailed(N_("The name may have up to 80 characters."), field="name")
        device, token = add_device(session, office, kind, name, printer=printer)
        record(
            "device.registered",
            actor=actor,
            object_type="device",
            object_id=device.id,
            office_id=office.id,
            details={"kind": kind, "device_name": device.name, "printer": device.printer},
        )
        registered = RegisteredDevice(device.id, device.name, device.kind, token)
    return registered


def revoke_device(slug: str, device_id: int, *, actor: User) -> Device:
    """The device's token stops working at once."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug)
        device = session.get(Device, device_id)
        if device is None or device.office_id != office.id:
            raise NotFound(N_("This device does not exist."))
        if device.revoked_at is None:
            device.revoked_at = clock.now()
            record(
                "device.revoked",
                actor=actor,
                object_type="device",
                object_id=device.id,
                office_id=office.id,
                details={"kind": device.kind.value, "device_name": device.name},
            )
    return device
