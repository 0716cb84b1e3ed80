"""Who would be stranded by a change to when an office is open.

The catalogue does not know about appointments: packages that hold them (booking) register an
*impact provider* here. Before a closure (or another change that removes opening time) is made,
the management services ask every provider which of its items would be affected, show them and
ask for confirmation; once confirmed, the providers are told inside the same unit of work, so they
can cancel and notify (mails go out after the commit). Dependency direction: booking imports this
module, never the other way round.

A provider is any object with two methods::

    def affected(self, change: AvailabilityChange) -> list[AffectedItem]: ...
    def apply(self, change: AvailabilityChange, items: list[AffectedItem], *, notify: bool) -> None: ...

Both run inside the caller's transaction: never commit, and send mail with after_commit.
``summary`` is shown to managers and written to the audit log, so it names the time, service and
booking reference, never a resident's name or contact data (data minimisation).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AvailabilityChange:
    """Opening time an office (or every office) is about to lose."""

    kind: str  # "closure", "hours_changed", "service_removed", "office_deactivated", ...
    office_ids: tuple[int, ...] | None  # None: every office (a city-wide closure)
    days: tuple[date, ...]  # local days concerned
    reason: str = ""
    # Only items for one of these services are concerned (a service the office stops offering);
    # None: every service.
    service_codes: tuple[str, ...] | None = None
    # For partial changes: (office_id, start, end) -> True when an item at that time still fits.
    # None: nothing stays open on these days (a closure).
    still_open: Callable[[int, datetime, datetime], bool] | None = field(
        default=None, compare=False
    )

    def concerns(self, office_id: int) -> bool:
        return self.office_ids is None or office_id in self.office_ids

    def concerns_services(self, codes: list[str]) -> bool:
        return self.service_codes is None or bool(set(codes) & set(self.service_codes))


@dataclass(frozen=True)
class AffectedItem:
    """One thing that would be stranded, e.g. an appointment."""

    provider: str
    key: str  # stable id within the provider, e.g. "appointment:42"
    office_id: int
    starts_at: datetime  # aware UTC
    summary: str  # what staff see: time, service, booking reference; no name or contact data
    notifiable: bool = True  # the resident left a contact to tell them

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.key}"


class ImpactProvider(Protocol):
    def affected(self, change: AvailabilityChange) -> list[AffectedItem]: ...

    def apply(
        self, change: AvailabilityChange, items: list[AffectedItem], *, notify: bool
    ) -> None: ...


_providers: dict[str, ImpactProvider] = {}
_lock = threading.Lock()


def register_impact_provider(name: str, provider: ImpactProvider) -> None:
    """Register (or replace) the provider called ``name``."""
    with _lock:
        _providers[name] = provider


def unregister_impact_provider(name: str) -> None:
    with _lock:
        _providers.pop(name, None)


def providers() -> dict[str, ImpactProvider]:
    with _lock:
        return dict(_providers)


def affected_by(change: AvailabilityChange) -> list[AffectedItem]:
    """Everything the registered providers would strand, earliest first."""
    items: list[AffectedItem] = []
    for provider in providers().values():
        items.extend(provider.affected(change))
    return sorted(items, key=lambda item: (item.starts_at, item.ref))


def apply_change(change: AvailabilityChange, items: list[AffectedItem], *, notify: bool) -> None:
    """Tell each provider about its confirmed items (inside the caller's unit of work)."""
    by_provider: dict[str, list[AffectedItem]] = {}
    for item in items:
        by_provider.setdefault(item.provider, []).append(item)
    registered = providers()
    for name, provider in registered.items():
        provider.apply(change, by_provider.get(name, []), notify=notify)
