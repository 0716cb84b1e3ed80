"""Who am I, and a CSRF token for scripts running in our own pages."""

from __future__ import annotations

from flask import jsonify
from flask_wtf.csrf import generate_csrf

from ..auth.web import signed_in_staff, staff_required
from . import bp


@bp.get("/v1/me")
@staff_required()
def me():
    user = signed_in_staff()
    return jsonify(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "offices": [o.slug for o in user.offices] if user.office_ids() is not None else "all",
        }
    )


@bp.get("/v1/csrf-token")
def csrf_token():
    """A CSRF token bound to the caller's session cookie (send it back as X-CSRFToken)."""
    return jsonify({"csrf_token": generate_csrf()})
