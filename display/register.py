"""GET/POST /display/register: a manager or admin registers this browser as a waiting-room display."""

from __future__ import annotations

from admin.devices import registration_page
from queue_service.auth.models import DeviceKind
from queue_service.auth.web import login_required

from . import bp


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register():
    return registration_page(DeviceKind.DISPLAY)
