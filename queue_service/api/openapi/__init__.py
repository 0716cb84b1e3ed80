"""The OpenAPI 3.1 document at /api/openapi.json.

Each route module ``api/<name>.py`` has its description in ``api/openapi/<name>.py`` (paths with
``add_paths``, schemas with ``add_schemas``), so a route module reads as its routes and the
document sits next to it. A test checks that every /api route is described.
"""

from __future__ import annotations

from flask import jsonify

from .. import bp

_paths: dict[str, dict] = {}
_schemas: dict[str, dict] = {}


def add_paths(paths: dict[str, dict]) -> None:
    for path, operations in paths.items():
        _paths.setdefault(path, {}).update(operations)


def add_schemas(schemas: dict[str, dict]) -> None:
    _schemas.update(schemas)


def problem_responses(*codes: int) -> dict:
    texts = {
        400: "Malformed request, or (session cookie without X-CSRFToken) the CSRF check failed",
        401: "Authentication required, or the bearer or device token sent is not valid",
        403: "Not allowed for this account or device",
        404: "Not found",
        409: "Conflict with the current state",
        413: "The request body is larger than MAX_CONTENT_LENGTH",
        422: "Invalid input (the problem names the field)",
        429: "Too many requests (Retry-After says when to try again)",
        503: "The database is not reachable for the moment (Retry-After says when to try again)",
    }
    return {
        str(code): {
            "description": texts.get(code, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in codes
    }


def _with_common_errors(paths: dict[str, dict]) -> dict[str, dict]:
    """Add the answers any operation can give, whatever its route does: a token that is sent
    must be valid (401) and the database may be down (503); a POST may carry a body that is too
    large (413), fails the CSRF check or is not JSON (400) or breaks its schema (422), and a
    parameter may not be as documented (422)."""
    out: dict[str, dict] = {}
    for path, operations in paths.items():
        out[path] = {}
        for method, op in operations.items():
            codes = [401, 503] + ([400, 413, 422] if method == "post" else [])
            if op.get("parameters"):
                codes.append(422)  # a parameter that is not as documented
            added = problem_responses(*[c for c in codes if str(c) not in op["responses"]])
            if "503" in added:
                added["503"]["headers"] = {"Retry-After": _RETRY_AFTER}
            out[path][method] = {**op, "responses": {**op["responses"], **added}}
    return out


_RETRY_AFTER = {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}


def json_response(description: str, schema_ref: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bürgerservice Hannover API",
            "version": "1",
            "description": (
                "Appointments and queues of the Bürgerämter of Hannover. Public endpoints carry no "
                "personal data. Staff endpoints take a session cookie (with X-CSRFToken) or a "
                "bearer token from `queue-service create-token`; kiosk endpoints take a device "
                "token in X-Device-Token. Errors are application/problem+json (RFC 9457)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": _with_common_errors(dict(sorted(_paths.items()))),
        "components": {
            "schemas": dict(sorted(_schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "device": {"type": "apiKey", "in": "header", "name": "X-Device-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


add_schemas(
    {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string", "description": "the input field at fault, if any"},
            },
        },
    }
)

add_paths(
    {
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "tags": ["meta"],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    }
)

# the fragments register their paths and schemas on import
from . import booking, checkin, display, offices, session, status, ticket_pdf, tickets, waitlist  # noqa: E402,F401
