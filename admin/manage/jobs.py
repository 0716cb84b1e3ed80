"""Geplante Aufgaben: the scheduled jobs, their next run and their last runs (administrators)."""

from __future__ import annotations

from flask import render_template

from queue_service.errors import N_, Forbidden
from queue_service.notify import outbox
from queue_service.scheduler import status

from . import bp
from .common import is_admin, managers_only


@bp.get("/jobs")
@managers_only
def jobs():
    if not is_admin():
        raise Forbidden(N_("Only administrators can do this."))
    return render_template(
        "admin/manage/jobs.html", overview=status.overview(), mail=outbox.summary()
    )
