"""GET /api/v1/status: all offices at once, cache-friendly (ETag, 304, max-age 15)."""

from __future__ import annotations

from flask import Response, request
from flask_babel import get_locale

from ..stats import live
from . import bp


@bp.get("/v1/status")
def city_status():
    body, etag = live.cached_city_status(str(get_locale() or "de"))
    headers = {"ETag": etag, "Cache-Control": "public, max-age=15", "Vary": "Accept-Language"}
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers=headers)
    return Response(body, status=200, mimetype="application/json", headers=headers)
