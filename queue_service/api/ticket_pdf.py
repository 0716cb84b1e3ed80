"""GET /api/v1/tickets/{token}/pdf: the printable ticket (public by token, no personal data)."""

from __future__ import annotations

from flask import Response, current_app, request

from ..errors import N_, ValidationFailed
from ..printing import PAPERS
from ..tickets import printouts
from . import bp
from .tickets import _absolute, _lang


def _choice(name: str, allowed, default: str) -> str:
    value = request.args.get(name) or default
    if value not in allowed:
        raise ValidationFailed(
            N_("%(field)s must be one of %(values)s."),
            field=name,
            params={"field": name, "values": ", ".join(allowed)},
        )
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
