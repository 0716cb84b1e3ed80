"""Staff users with roles, their offices, bearer API tokens and registered devices."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, str_enum, utcnow_default
from ..extensions import Model, db
from ..offices import revision
from ..offices.models import Office

user_offices = Table(
    "user_offices",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


def hash_token(token: str) -> str:
    """What is stored of an API or device token (the token itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Role(enum.StrEnum):
    ADMIN = "admin"  # all offices, all settings
    MANAGER = "manager"  # configures and reads statistics for their offices
    CLERK = "clerk"  # works the counter in their offices


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # part of every session of this user; raising it ends them all (logout, password, role...)
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # wrong passwords in a row; from LOGIN_LOCKOUT_THRESHOLD on, sign-in waits until locked_until
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    login_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offices: Mapped[list[Office]] = relationship(secondary=user_offices, order_by="Office.name")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session stores
        return f"{self.id}.{self.session_version}"

    def office_ids(self) -> set[int] | None:
        """The offices this user may act on; None means all (admin)."""
        if self.role == Role.ADMIN:
            return None
        return {o.id for o in self.offices}

    def can_access(self, office_id: int) -> bool:
        allowed = self.office_ids()
        return allowed is None or office_id in allowed


class ApiToken(Model):
    """A bearer token for integrations, acting as its user. Only a hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuthRevision(Model):
    """Which version of the tokens, users and their offices and the devices the database holds:
    one row, bumped by triggers in the transaction of every write to them (a token's last use and
    a device's last sighting excepted), so a process may keep what a bearer token's or a device
    token's lookup found until it changes (``auth/tokens.py``, ``auth/devices.py``).
    ``epoch`` is random when the row is (re)created, as the catalogue revision's."""

    __tablename__ = "auth_revisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)


# what a bearer token's or a device's authentication depends on; a token's last use and a
# device's last sighting (written once a minute each, auth/usage.py) do not move it
AUTH = revision.Tracked(
    "auth",
    "auth_revisions",
    {
        "api_tokens": ("id", "user_id", "token_hash", "expires_at", "revoked_at"),
        "users": None,
        "user_offices": None,
        "devices": (
            "id",
            "office_id",
            "kind",
            "name",
            "token_hash",
            "printer",
            "created_at",
            "revoked_at",
        ),
    },
    setting="AUTH_CACHE",
    depends_on=("catalogue",),  # the kept users' offices are catalogue rows
)
revision.track(AUTH)


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"


class Device(Model):
    """A kiosk or display registered for one office. Only a hash of its token is stored."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind))
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    printer: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship()
