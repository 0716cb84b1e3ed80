"""OpenAPI description of the routes in ``api/status.py``."""

from __future__ import annotations

from . import add_paths, add_schemas, json_response

add_schemas(
    {
        "CityStatus": {
            "type": "object",
            "required": ["server_time", "offices"],
            "properties": {
                "server_time": {"type": ["string", "null"], "format": "date-time"},
                "offices": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            {"$ref": "#/components/schemas/OfficeStatus"},
                            {
                                "type": "object",
                                "properties": {
                                    "longest_wait_minutes": {
                                        "type": "integer",
                                        "description": "Longest current wait of anyone waiting",
                                    },
                                },
                            },
                        ]
                    },
                },
            },
        },
    }
)

add_paths(
    {
        "/api/v1/status": {
            "get": {
                "summary": "Public live status of every office at once",
                "description": "Per office: open or closed, open counters, people waiting and the estimated "
                "wait per service, the longest current wait, the next walk-in window and the "
                "next free appointment (per office and per service). No "
                "personal data. Cache-friendly: `Cache-Control: public, max-age=15` and an "
                "ETag; send `If-None-Match` to get 304 when nothing changed. The server "
                "reuses one computation for a few seconds.",
                "tags": ["queue"],
                "responses": {
                    "200": json_response("Live figures of all offices", "CityStatus"),
                    "304": {"description": "Not modified (the ETag still matches)"},
                },
            }
        },
    }
)
