"""Appointment check-in at a kiosk or by staff: booking code in, queue ticket out."""

from __future__ import annotations

from flask import jsonify, request

from ..auth.web import current_device, staff_user
from ..booking.checkin import check_in
from ..errors import Unauthorized, ValidationFailed
from . import bp
from .openapi import add_paths, problem_responses
from .tickets import _lang, _with_links


@bp.post("/v1/offices/<slug>/check-in")
def check_in_appointment(slug: str):
    user = staff_user()
    device = None if user else current_device()
    if user is None and device is None:
        raise Unauthorized("Check-in is done at a registered kiosk or by staff.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(
            'The request body must be a JSON object with a "code".', field="body"
        )
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("Enter the booking code from your confirmation.", field="code")
    view = check_in(slug, code, user=user, device=device, lang=_lang())
    return jsonify(_with_links(view)), 200 if view.get("already_checked_in") else 201


add_paths(
    {
        "/api/v1/offices/{slug}/check-in": {
            "post": {
                "summary": "Check in an appointment: the booking code becomes a queue ticket",
                "description": (
                    "Allowed for a registered kiosk of the office (X-Device-Token or device cookie) "
                    "and for staff. Within the check-in window (CHECKIN_EARLY_MINUTES before to "
                    "CHECKIN_LATE_MINUTES after the start) the appointment becomes a ticket of kind "
                    "appointment (prefix APPOINTMENT_TICKET_PREFIX), called before walk-ins once its "
                    "time has come. A repeated check-in returns the same ticket (200). Refusals are "
                    "409 problems with reason too_early, too_late, wrong_office or not_booked; an "
                    "unknown code is 404 with reason unknown_code."
                ),
                "tags": ["booking", "queue"],
                "security": [{"device": []}, {"bearer": []}, {"session": []}],
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["code"],
                                "properties": {"code": {"type": "string", "example": "K7M-4PX"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "The new ticket (same fields as a walk-in ticket, plus appointment_start)"
                    },
                    "200": {"description": "Already checked in: the same ticket again"},
                    **problem_responses(401, 403, 404, 409, 422),
                },
            }
        }
    }
)
