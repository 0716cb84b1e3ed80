"""Office management pages (/admin/manage): managers for their offices, administrators for all.

Views only parse forms, call queue_service.management services and render.
"""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

from . import (  # noqa: E402,F401  (routes register on bp)
    audit,
    catalogue,
    closures,
    devices,
    hours,
    jobs,
    mobile,
    offices,
    staff,
    walkins,
)
