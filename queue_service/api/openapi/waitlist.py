"""OpenAPI description of the routes in ``api/waitlist.py``."""

from __future__ import annotations

from . import add_paths, add_schemas, json_response, problem_responses

_CSRF_NOTE = (
    " Browser clients with a session cookie send X-CSRFToken (from GET /api/v1/csrf-token, same "
    "cookie jar); clients with `Authorization: Bearer` need no CSRF token."
)
_DAY = {"type": "string", "format": "date", "example": "2026-11-26"}
_CLOCK = {"type": ["string", "null"], "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "08:00"}
_WEEKDAYS = {
    "type": ["array", "null"],
    "items": {"type": "integer", "minimum": 0, "maximum": 6},
    "description": "0 = Monday ... 6 = Sunday; null or missing: any day",
}

add_schemas(
    {
        "WaitlistRequest": {
            "type": "object",
            "required": ["services", "name", "email"],
            "properties": {
                "services": {"type": "array", "items": {"type": "string"}, "example": ["PA"]},
                "persons": {"type": "integer", "minimum": 1, "default": 1},
                "offices": {
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                    "description": "office slugs; null or missing: any office offering them",
                    "example": ["aegi", "linden"],
                },
                "first_day": {**_DAY, "description": "default: today"},
                "last_day": {**_DAY, "description": "default: first_day + WAITLIST_MAX_RANGE_DAYS"},
                "weekdays": _WEEKDAYS,
                "earliest": {**_CLOCK, "description": "earliest local start time"},
                "latest": {**_CLOCK, "description": "latest local start time"},
                "name": {"type": "string", "example": "Erika Mustermann"},
                "email": {"type": "string", "format": "email"},
                "phone": {"type": ["string", "null"]},
                "lang": {"type": "string", "enum": ["de", "en"], "default": "de"},
            },
        },
        "EarlierRequest": {
            "type": "object",
            "properties": {
                "first_day": _DAY,
                "weekdays": _WEEKDAYS,
                "earliest": _CLOCK,
                "latest": _CLOCK,
            },
        },
        "WaitlistOffer": {
            "type": "object",
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["open", "accepted", "declined", "lapsed", "withdrawn"],
                },
                "office": {"$ref": "#/components/schemas/OfficeSummary"},
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "expires_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "the time is kept until then (WAITLIST_OFFER_MINUTES)",
                },
                "services": {"type": "array", "items": {"type": "object"}},
                "persons": {"type": "integer"},
                "moves_appointment": {"type": "boolean"},
                "offer_url": {"type": "string", "format": "uri"},
            },
        },
        "WaitlistEntry": {
            "type": "object",
            "required": ["code", "status", "manage_url"],
            "properties": {
                "code": {"type": "string", "description": "a short reference for support"},
                "status": {
                    "type": "string",
                    "enum": ["pending", "active", "offered", "fulfilled", "cancelled", "expired"],
                },
                "manage_url": {"type": "string", "format": "uri"},
                "services": {"type": "array", "items": {"type": "object"}},
                "persons": {"type": "integer"},
                "offices": {"type": ["array", "null"], "items": {"type": "object"}},
                "first_day": _DAY,
                "last_day": _DAY,
                "weekdays": _WEEKDAYS,
                "earliest": _CLOCK,
                "latest": _CLOCK,
                "lang": {"type": "string"},
                "queued_at": {"type": ["string", "null"], "format": "date-time"},
                "moves_appointment": {"type": "boolean"},
                "offer": {
                    "oneOf": [{"$ref": "#/components/schemas/WaitlistOffer"}, {"type": "null"}]
                },
            },
        },
    }
)

_request_token = {
    "name": "token",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the token from the waitlist link",
}
_offer_token = {**_request_token, "description": "the token from the offer link"}
_appointment_token = {**_request_token, "description": "the appointment's manage token"}


def _body_of(schema: str, required: bool = True) -> dict:
    return {
        "required": required,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


add_paths(
    {
        "/api/v1/waitlist": {
            "post": {
                "summary": "Join the waitlist for a time that is not free yet",
                "description": "When a matching time becomes free, the longest-waiting request "
                "gets it offered by mail. With BOOKING_DOUBLE_OPT_IN the request waits (status "
                "pending) until the address is confirmed from the mail." + _CSRF_NOTE,
                "tags": ["waitlist"],
                "requestBody": _body_of("WaitlistRequest"),
                "responses": {
                    "201": json_response("The waitlist request", "WaitlistEntry"),
                    **problem_responses(400, 404, 409, 422, 429),
                },
            }
        },
        "/api/v1/appointments/{token}/waitlist": {
            "post": {
                "summary": "Wait for an earlier time for a booked appointment",
                "description": "Accepting an offer moves the appointment and keeps its booking "
                "code." + _CSRF_NOTE,
                "tags": ["waitlist"],
                "parameters": [_appointment_token],
                "requestBody": _body_of("EarlierRequest", required=False),
                "responses": {
                    "201": json_response("The waitlist request", "WaitlistEntry"),
                    **problem_responses(400, 404, 409, 422, 429),
                },
            }
        },
        "/api/v1/waitlist/{token}": {
            "get": {
                "summary": "A waitlist request and its open offer",
                "tags": ["waitlist"],
                "parameters": [_request_token],
                "responses": {
                    "200": json_response("The waitlist request", "WaitlistEntry"),
                    **problem_responses(404),
                },
            }
        },
        "/api/v1/waitlist/{token}/confirm": {
            "post": {
                "summary": "Confirm the address of a waitlist request (double opt-in)",
                "tags": ["waitlist"],
                "parameters": [_request_token],
                "responses": {
                    "200": json_response("The waitlist request", "WaitlistEntry"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
        "/api/v1/waitlist/{token}/cancel": {
            "post": {
                "summary": "Leave the waitlist",
                "description": "An open offer is withdrawn and goes to the next in line."
                + _CSRF_NOTE,
                "tags": ["waitlist"],
                "parameters": [_request_token],
                "responses": {
                    "200": json_response("The cancelled request", "WaitlistEntry"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
        "/api/v1/waitlist/offers/{token}": {
            "get": {
                "summary": "An offered time",
                "tags": ["waitlist"],
                "parameters": [_offer_token],
                "responses": {
                    "200": json_response("The offer", "WaitlistOffer"),
                    **problem_responses(404),
                },
            }
        },
        "/api/v1/waitlist/offers/{token}/accept": {
            "post": {
                "summary": "Take the offered time",
                "description": "Books the time (or moves the appointment the request is for)."
                + _CSRF_NOTE,
                "tags": ["waitlist"],
                "parameters": [_offer_token],
                "responses": {
                    "200": json_response("The booked or moved appointment", "Appointment"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
        "/api/v1/waitlist/offers/{token}/decline": {
            "post": {
                "summary": "Let the next in line have the offered time",
                "description": "The request stays on the list." + _CSRF_NOTE,
                "tags": ["waitlist"],
                "parameters": [_offer_token],
                "responses": {
                    "200": json_response("The declined offer", "WaitlistOffer"),
                    **problem_responses(404, 409, 429),
                },
            }
        },
    }
)
