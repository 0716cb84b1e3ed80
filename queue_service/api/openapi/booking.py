"""OpenAPI description of the routes in ``api/booking.py``."""

from __future__ import annotations

from . import add_paths, add_schemas, json_response, problem_responses

_CSRF_NOTE = (
    " Browser clients with a session cookie send X-CSRFToken (from GET /api/v1/csrf-token, same "
    "cookie jar); clients with `Authorization: Bearer` need no CSRF token and are exempt from the "
    "per-address rate limit."
)

add_schemas(
    {
        "Slot": {
            "type": "object",
            "required": ["start", "end"],
            "properties": {
                "start": {
                    "type": "string",
                    "format": "date-time",
                    "example": "2026-11-26T08:00:00+01:00",
                },
                "end": {
                    "type": "string",
                    "format": "date-time",
                    "example": "2026-11-26T08:15:00+01:00",
                },
            },
        },
        "SlotList": {
            "type": "object",
            "properties": {
                "office": {"$ref": "#/components/schemas/OfficeSummary"},
                "services": {"type": "array", "items": {"type": "string"}},
                "persons": {"type": "integer"},
                "duration_minutes": {"type": "integer"},
                "bookable_from": {"type": "string", "format": "date-time"},
                "bookable_until": {
                    "type": "string",
                    "format": "date",
                    "description": "last released day (a new day is released at 08:00 local time)",
                },
                "slots": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}},
            },
        },
        "EarliestSlots": {
            "type": "object",
            "properties": {
                "services": {"type": "array", "items": {"type": "string"}},
                "persons": {"type": "integer"},
                "duration_minutes": {"type": "integer"},
                "offices": {
                    "type": "array",
                    "description": "the first free slot of every office offering the services, earliest first",
                    "items": {
                        "allOf": [
                            {"$ref": "#/components/schemas/Slot"},
                            {
                                "type": "object",
                                "properties": {
                                    "office": {"$ref": "#/components/schemas/OfficeSummary"}
                                },
                            },
                        ]
                    },
                },
            },
        },
        "HoldRequest": {
            "type": "object",
            "required": ["office", "services", "start"],
            "properties": {
                "office": {"type": "string", "example": "aegi"},
                "services": {"type": "array", "items": {"type": "string"}, "example": ["PA", "MB"]},
                "persons": {"type": "integer", "minimum": 1, "default": 1},
                "start": {
                    "type": "string",
                    "format": "date-time",
                    "example": "2026-11-26T08:00:00+01:00",
                },
            },
        },
        "Hold": {
            "type": "object",
            "properties": {
                "hold": {"type": "string", "description": "pass as `hold` when booking"},
                "expires_at": {"type": "string", "format": "date-time"},
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "office": {"type": "string"},
                "services": {"type": "array", "items": {"type": "string"}},
                "persons": {"type": "integer"},
            },
        },
        "AppointmentRequest": {
            "type": "object",
            "required": ["office", "services", "start", "name", "email"],
            "properties": {
                "office": {"type": "string", "example": "aegi"},
                "services": {"type": "array", "items": {"type": "string"}, "example": ["RP"]},
                "persons": {"type": "integer", "minimum": 1, "default": 1},
                "start": {
                    "type": "string",
                    "format": "date-time",
                    "example": "2026-11-26T08:00:00+01:00",
                },
                "name": {"type": "string", "maxLength": 100},
                "email": {"type": "string", "format": "email"},
                "phone": {"type": "string"},
                "lang": {
                    "type": "string",
                    "enum": ["de", "en"],
                    "description": "language of the mails",
                },
                "hold": {
                    "type": "string",
                    "description": "a hold for the same office, services, persons and start",
                },
            },
        },
        "Appointment": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "booking code for the kiosk (6 characters)",
                    "example": "K7M4PX",
                },
                "manage_url": {
                    "type": "string",
                    "description": "page to view, move or cancel (contains the manage token)",
                },
                "status": {
                    "type": "string",
                    "enum": [
                        "pending",
                        "confirmed",
                        "cancelled",
                        "expired",
                        "checked_in",
                        "no_show",
                    ],
                },
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "office": {"$ref": "#/components/schemas/OfficeSummary"},
                "services": {"type": "array", "items": {"type": "object"}},
                "persons": {"type": "integer"},
                "lang": {"type": "string"},
                "name": {"type": "string"},
                "email": {"type": "string"},
                "phone": {"type": ["string", "null"]},
                "documents": {"type": "array", "items": {"type": "string"}},
                "expires_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "pending (double opt-in): confirm before this",
                },
                "changeable": {"type": "boolean"},
            },
        },
        "RescheduleRequest": {
            "type": "object",
            "required": ["start"],
            "properties": {"start": {"type": "string", "format": "date-time"}},
        },
    }
)

_services_param = {
    "name": "services",
    "in": "query",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
    "example": "PA,MB",
    "description": "comma-separated service codes (their durations add up)",
}
_persons_param = {
    "name": "persons",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "default": 1},
}
_token_param = {
    "name": "token",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the manage token from the manage link (never the booking code)",
}


def _body_of(schema: str) -> dict:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


add_paths(
    {
        "/api/v1/offices/{slug}/slots": {
            "get": {
                "summary": "Free slots of an office for services and persons",
                "tags": ["booking"],
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                    _services_param,
                    _persons_param,
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                    },
                ],
                "responses": {
                    "200": json_response("Free slots, local time with offset", "SlotList"),
                    **problem_responses(404, 422, 429),
                },
            }
        },
        "/api/v1/slots/earliest": {
            "get": {
                "summary": "The earliest free slot in every Bürgeramt offering the services",
                "tags": ["booking"],
                "parameters": [_services_param, _persons_param],
                "responses": {
                    "200": json_response("One slot per office, earliest first", "EarliestSlots"),
                    **problem_responses(422, 429),
                },
            }
        },
        "/api/v1/holds": {
            "post": {
                "summary": "Hold a free slot for HOLD_MINUTES (10) while the resident fills in the form",
                "description": "The hold expires by itself." + _CSRF_NOTE,
                "tags": ["booking"],
                "requestBody": _body_of("HoldRequest"),
                "responses": {
                    "201": json_response("The hold", "Hold"),
                    **problem_responses(400, 404, 409, 422, 429),
                },
            }
        },
        "/api/v1/appointments": {
            "post": {
                "summary": "Book an appointment",
                "description": (
                    "409 when the slot is gone (or the address has too many appointments). "
                    "With double opt-in the status is `pending` until the mail link is used."
                )
                + _CSRF_NOTE,
                "tags": ["booking"],
                "requestBody": _body_of("AppointmentRequest"),
                "responses": {
                    "201": json_response("The booked appointment", "Appointment"),
                    **problem_responses(400, 404, 409, 422, 429),
                },
            }
        },
        "/api/v1/appointments/{token}": {
            "get": {
                "summary": "An appointment by its manage token",
                "tags": ["booking"],
                "parameters": [_token_param],
                "responses": {
                    "200": json_response("The appointment", "Appointment"),
                    **problem_responses(404),
                },
            }
        },
        "/api/v1/appointments/{token}/confirm": {
            "post": {
                "summary": "Confirm a pending appointment (double opt-in)",
                "description": "Confirming twice is harmless." + _CSRF_NOTE,
                "tags": ["booking"],
                "parameters": [_token_param],
                "responses": {
                    "200": json_response("The confirmed appointment", "Appointment"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
        "/api/v1/appointments/{token}/cancel": {
            "post": {
                "summary": "Cancel an appointment",
                "description": "The time returns to the pool after RELEASE_DELAY_MINUTES."
                + _CSRF_NOTE,
                "tags": ["booking"],
                "parameters": [_token_param],
                "responses": {
                    "200": json_response("The cancelled appointment", "Appointment"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
        "/api/v1/appointments/{token}/reschedule": {
            "post": {
                "summary": "Move an appointment to another free time at the same office",
                "description": "Name, e-mail and services stay as booked." + _CSRF_NOTE,
                "tags": ["booking"],
                "parameters": [_token_param],
                "requestBody": _body_of("RescheduleRequest"),
                "responses": {
                    "200": json_response("The moved appointment", "Appointment"),
                    **problem_responses(400, 404, 409, 422, 429),
                },
            }
        },
    }
)
