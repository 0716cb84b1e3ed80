"""Creating and checking staff accounts, API tokens and device tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from types import EllipsisType

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .. import clock
from ..db import unit_of_work
from ..errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from ..extensions import db
from ..offices.models import Office
from ..offices.services import get_office
from . import devices, usage
from .models import Device, DeviceKind, Role, User, hash_token


def generate_password() -> str:
    """A random password that is easy to read out loud (about 95 bits)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479"
    groups = ["".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(3)]
    return "-".join(groups)


@dataclass(frozen=True)
class CreatedUser:
    id: int
    username: str
    role: Role
    password: str


def create_user(
    username: str,
    role: str,
    office_slugs: list[str] | None = None,
    password: str | None = None,
    display_name: str | None = None,
) -> CreatedUser:
    """Create a staff account; returns the (generated) password once."""
    with unit_of_work() as session:
        user, password = add_user(
            session,
            username,
            role,
            [get_office(slug) for slug in office_slugs or []],
            password=password,
            display_name=display_name,
        )
        created = CreatedUser(user.id, user.username, user.role, password)
    return created


def add_user(
    session,
    username: str,
    role: str,
    offices: list[Office],
    *,
    password: str | None = None,
    display_name: str | None = None,
) -> tuple[User, str]:
    """Add a staff account inside the caller's unit of work; returns it and its password."""
    username = (username or "").strip()
    if not username or len(username) > 80:
        raise ValidationFailed(
            N_("A user name of 1 to 80 characters is required."), field="username"
        )
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise ValidationFailed(
            N_("Unknown role %(role)s; use admin, manager or clerk."),
            field="role",
            params={"role": repr(role)},
        ) from exc
    if role_value != Role.ADMIN and not offices:
        raise ValidationFailed(N_("Managers and clerks need at least one office."), field="office")
    password = password or generate_password()
    if len(password) < 10:
        raise ValidationFailed(N_("Passwords need at least 10 characters."), field="password")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(
            N_("The user name %(username)s is taken."),
            field="username",
            params={"username": repr(username)},
        )
    user = User(
        username=username,
        role=role_value,
        password_hash=generate_password_hash(password),
        display_name=display_name or username,
        offices=list(offices),
    )
    session.add(user)
    session.flush()
    return user, password


def set_password(user: User, password: str) -> None:
    """Replace ``user``'s password inside the caller's unit of work (only its hash is stored).

    Every session of the user ends with it; API tokens are left to the caller (see
    management.staff.reset_staff_password, which says which ones stay valid)."""
    user.password_hash = generate_password_hash(password)
    user.session_version = (user.session_version or 1) + 1


def user_exists(username: str) -> bool:
    return db.session.scalar(select(User.id).where(User.username == username)) is not None


def reset_password(username: str) -> str:
    """Give an existing account a new generated password; returns it once."""
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(
                N_("No staff account named %(username)s."), params={"username": username}
            )
        password = generate_password()
        set_password(user, password)
    return password


def create_device(
    office_slug: str, kind: str, name: str | None = None, printer: str | None = None
) -> str:
    """Register a kiosk or display for an office; returns its device token once."""
    with unit_of_work() as session:
        _device, token = add_device(session, get_office(office_slug), kind, name, printer=printer)
    return token


def add_device(
    session, office: Office, kind: str, name: str | None = None, *, printer: str | None = None
) -> tuple[Device, str]:
    """Register a device inside the caller's unit of work; returns it and its token (once)."""
    try:
        kind_value = DeviceKind(kind)
    except ValueError as exc:
        raise ValidationFailed(
            N_("Unknown device kind %(kind)s; use kiosk or display."),
            field="kind",
            params={"kind": repr(kind)},
        ) from exc
    name = (name or "").strip() or None
    if name is not None and len(name) > 80:
        raise ValidationFailed(N_("A device name has at most 80 characters."), field="name")
    printer = _valid_printer(printer)
    token = "dev_" + secrets.token_urlsafe(32)
    count = len(session.scalars(select(Device.id).where(Device.office_id == office.id)).all())
    device = Device(
        office_id=office.id,
        kind=kind_value,
        name=name or f"{kind_value.value}-{office.slug}-{count + 1}",
        token_hash=hash_token(token),
        printer=printer,
    )
    session.add(device)
    session.flush()
    return device, token


def device_for_token(token: str) -> Device | None:
    """The registered, unrevoked device of ``token`` (kept per process: auth/devices.py)."""
    return devices.device_for_token(token)


def _valid_printer(printer: str | None) -> str | None:
    from ..printing.cups import PrinterError, check_printer_name

    printer = (printer or "").strip() or None
    if printer is None:
        return None
    try:
        return check_printer_name(printer)
    except PrinterError as exc:  # printing stays free of Flask: its message is for the log
        raise ValidationFailed(
            N_(
                "%(printer)s is not a valid CUPS printer name (printable characters, no spaces, "
                "slashes, '#' or quotes, at most 127 characters)."
            ),
            field="printer",
            params={"printer": repr(printer)},
        ) from exc


def _device(session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(N_("There is no device %(id)s."), params={"id": device_id})
    return device


def revoke_device(device_id: int) -> None:
    """Withdraw a device's token: from now on it is an unregistered browser. Idempotent."""
    with unit_of_work() as session:
        device = _device(session, device_id)
        if device.revoked_at is None:
            device.revoked_at = clock.now()


def set_device_printer(device_id: int, printer: str | None) -> None:
    """Name the CUPS printer a kiosk's tickets go to (server-side printing), or clear it."""
    printer = _valid_printer(printer)
    with unit_of_work() as session:
        device = _device(session, device_id)
        if device.kind != DeviceKind.KIOSK and printer is not None:
            raise ValidationFailed(N_("Only kiosks print tickets."), field="printer")
        device.printer = printer


def touch_device_last_seen(device_id: int, last_seen: datetime | None | EllipsisType = ...) -> None:
    """Record that a device is alive; writes at most once a minute per device (cheap to call,
    never waits for another request recording it: auth/usage.py).
    ``last_seen``: the value known to this request, which saves reading it."""
    now = clock.now()
    seen = (
        db.session.scalar(select(Device.last_seen_at).where(Device.id == device_id))
        if last_seen is ...
        else last_seen
    )
    if not usage.is_recent(seen, now):
        usage.record_use(Device.last_seen_at, device_id, now)
        # written now, or found recent or being written by another process: either way not
        # due again for a minute (what this process keeps has the sighting of its lookup)
        devices.note_sighting(device_id, now)


def require_office_access(user: User | None, office: Office) -> None:
    """Raise Forbidden unless ``user`` may act on ``office``."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden(N_("Staff login required."))
    if not user.can_access(office.id):
        raise Forbidden(
            N_("Your account has no access to %(office)s."), params={"office": office.name}
        )


def require_role(user: User | None, *roles: Role) -> None:
    if user is None or not getattr(user, "is_authenticated", False) or user.role not in roles:
        raise Forbidden(N_("Your role does not allow this."))


# signing in and API tokens live in their own modules; these names stay importable from here
from .login import authenticate, record_login  # noqa: E402,F401
from .tokens import create_api_token, user_for_api_token  # noqa: E402,F401
