"""Appointment check-in at a kiosk or by staff: booking code in, queue ticket out."""

from __future__ import annotations

from flask import jsonify

from ..auth.web import current_device, staff_or_device, staff_user
from ..booking.checkin import check_in
from ..errors import N_, Unauthorized, ValidationFailed
from . import bp
from .contract import json_body
from .tickets import _lang, _with_links


@bp.post("/v1/offices/<slug>/check-in")
@staff_or_device
def check_in_appointment(slug: str):
    user = staff_user()
    device = None if user else current_device()
    if user is None and device is None:
        raise Unauthorized(N_("Check-in is done at a registered kiosk or by staff."))
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed(N_("Enter the booking code from your confirmation."), field="code")
    view = check_in(slug, code, actor=user, device=device, lang=_lang())
    return jsonify(_with_links(view)), 200 if view.get("already_checked_in") else 201
