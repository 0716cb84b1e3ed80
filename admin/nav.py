"""The staff navigation: one list, filtered by role and by which pages exist in this build."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from queue_service.auth.models import Role

EVERYONE = (Role.ADMIN, Role.MANAGER, Role.CLERK)
MANAGERS = (Role.ADMIN, Role.MANAGER)
ADMINS = (Role.ADMIN,)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: tuple[Role, ...]


NAV = [
    NavItem("admin.index", _l("Start"), EVERYONE),
    # the clerk desk appears once a view is registered as "admin.desk"
    NavItem("admin.desk", _l("Counter desk"), EVERYONE),
    NavItem("admin.overview", _l("City overview"), MANAGERS),
    NavItem("admin.statistics", _l("Statistics"), MANAGERS),
    NavItem("admin.manage.home", _l("Offices"), MANAGERS),
    NavItem("admin.manage.services", _l("Services"), MANAGERS),
    NavItem("admin.manage.staff", _l("Staff accounts"), MANAGERS),
    NavItem("admin.manage.city_closures", _l("City-wide closures"), ADMINS),
    NavItem("admin.manage.audit_log", _l("Audit log"), MANAGERS),
    NavItem("admin.manage.jobs", _l("Scheduled jobs"), ADMINS),
]


def nav_for(user) -> list[dict]:
    """The entries ``user`` may open, with the current one marked."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    items = []
    for item in NAV:
        if user.role not in item.roles or item.endpoint not in current_app.view_functions:
            continue
        url = url_for(item.endpoint)
        current = request.endpoint == item.endpoint or (
            item.endpoint != "admin.index" and request.path.startswith(url) and url != "/admin/"
        )
        items.append({"url": url, "label": item.label, "current": current})
    # only the most specific entry is "current"
    marked = [i for i in items if i["current"]]
    for extra in marked[:-1]:
        extra["current"] = False
    return items
