"""Geplante Aufgaben: the scheduled jobs, their next run and their last runs (administrators)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from queue_service.errors import Forbidden
from queue_service.notify import outbox
from queue_service.scheduler import status

from . import bp
from .common import is_admin, managers_only


@bp.get("/jobs")
@managers_only
def jobs():
    if not is_admin():
        raise Forbidden(_("Only administrators can do this."))
    return render_template(
        "admin/manage/jobs.html", overview=status.overview(), mail=outbox.summary()
    )
