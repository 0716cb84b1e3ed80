"""Staff looking at a resident's personal data of an appointment is written to the audit log.

No staff page lists residents' names or contact data (the desk, closure and change previews show
time, services and booking code only). The one way staff see them is the appointment itself, by
its manage link (``/termin/verwalten/<token>``, ``GET /api/v1/appointments/<token>``), e.g. when a
clerk helps a resident on the phone or an integration acts for one. Those views are logged: who,
when, which appointment and booking code, which fields; never the data itself.
"""

from __future__ import annotations

from typing import Any

from ..audit.services import record_view
from .payloads import AppointmentView

PERSONAL_FIELDS = ("name", "email", "phone")


def log_staff_view(view: AppointmentView, via: str, *, actor: Any | None) -> bool:
    """Record that ``actor`` (a logged-in or token user; None: a resident) saw ``view``'s
    personal data through ``via``. Returns whether an entry was written."""
    shown = [f for f in PERSONAL_FIELDS if getattr(view, f)]
    if actor is None or not shown:
        return False
    record_view(
        actor=actor,
        object_type="appointment",
        object_id=view.id,
        office_id=view.office.id,
        details={"booking_code": view.code, "via": via, "fields": shown},
    )
    return True
