"""OpenAPI description of the routes in ``api/ticket_pdf.py``."""

from __future__ import annotations

from ...printing import PAPERS
from ...tickets import printouts
from . import add_paths, problem_responses

add_paths(
    {
        "/api/v1/tickets/{token}/pdf": {
            "get": {
                "summary": "The printable ticket as PDF (80 mm or 58 mm roll, or A6)",
                "description": (
                    "Public: the ticket's token is the capability, and the PDF holds no personal data "
                    "(number, service, office, time issued, people ahead and estimated wait as of now, "
                    "and a QR code of the ticket's status page). Text is real, extractable text. Arabic "
                    "tickets are printed in English (the PDF renderer cannot shape Arabic script)."
                ),
                "tags": ["queue"],
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "paper",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(PAPERS), "default": "80mm"},
                        "description": "paper size; the default is KIOSK_PAPER",
                    },
                    {
                        "name": "lang",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(printouts.LANGUAGES)},
                        "description": "language of the printed words (default: the request's language)",
                    },
                    {
                        "name": "large",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean"},
                        "description": "large print (bigger text, same QR code)",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The ticket",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **problem_responses(404, 422),
                },
            }
        },
    }
)
