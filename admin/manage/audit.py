"""The audit log page: filter by office, person and action; paginated."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from queue_service.audit import services as audit
from queue_service.errors import N_, Forbidden
from queue_service.management.access import managed_offices

from . import bp
from .common import actor, managers_only


@bp.get("/audit")
@managers_only
def audit_log():
    offices = managed_offices(actor=actor())
    by_slug = {o.slug: o for o in offices}
    office_slug = request.args.get("office") or ""
    office = by_slug.get(office_slug)
    if office_slug and office is None:
        raise Forbidden(N_("Your account has no access to this office."))
    page = request.args.get("page", type=int) or 1
    entries = audit.list_entries(
        current_user,
        office_id=office.id if office else None,
        actor_name=request.args.get("actor") or None,
        action=request.args.get("action") or None,
        page=page,
    )
    names = {o.id: o.name for o in offices}
    filters = {k: v for k, v in request.args.items() if k in ("office", "actor", "action") and v}
    return render_template(
        "admin/manage/audit.html",
        page=entries,
        offices=offices,
        office_names=names,
        actions=audit.known_actions(current_user),
        filters=filters,
    )
