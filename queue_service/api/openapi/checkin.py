"""OpenAPI description of the routes in ``api/checkin.py``."""

from __future__ import annotations

from . import add_paths, problem_responses

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
