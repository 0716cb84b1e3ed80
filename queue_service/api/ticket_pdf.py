"""GET /api/v1/tickets/{token}/pdf: the printable ticket (public by token, no personal data)."""

from __future__ import annotations

from flask import Response, current_app, request

from ..errors import ValidationFailed
from ..printing import PAPERS
from ..tickets import printouts
from . import bp
from .openapi import add_paths, problem_responses
from .tickets import _absolute, _lang


def _choice(name: str, allowed, default: str) -> str:
    value = request.args.get(name) or default
    if value not in allowed:
        raise ValidationFailed(f"{name} must be one of {', '.join(allowed)}.", field=name)
    return value


@bp.get("/v1/tickets/<token>/pdf")
def ticket_pdf(token: str):
    paper = _choice("paper", tuple(PAPERS), current_app.config["KIOSK_PAPER"])
    lang = _choice("lang", printouts.LANGUAGES, request.args.get("lang") or _lang())
    large = request.args.get("large", "") in ("1", "true", "yes")
    number, pdf = printouts.ticket_pdf(
        token, _absolute(f"/t/{token}"), paper=paper, lang=lang, large_print=large
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="ticket-{number}.pdf"'
    # people ahead and the wait are printed as of now; the token must not leak via Referer
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


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
