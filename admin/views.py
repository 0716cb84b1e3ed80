from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from queue_service.auth import services as auth
from queue_service.auth.models import Role
from queue_service.auth.web import known_user_ids, login_required, sign_in, sign_out
from queue_service.extensions import limiter
from queue_service.offices.services import list_offices

from . import bp
from .forms import LoginForm
from .nav import ADMINS, MANAGERS


def _safe_next(target: str | None, role: Role | None = None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    if role == Role.CLERK:  # a clerk's day starts at the counter desk
        return url_for("admin.desk")
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: __import__("flask").current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(
            form.username.data, form.password.data, known_user_ids=known_user_ids()
        )
        if user is not None:
            sign_in(user)
            auth.record_login(user.id)
            return redirect(_safe_next(request.args.get("next"), user.role))
        # one answer for a wrong password, an unknown name and a paused account: which of them
        # it was would tell a guesser which names exist
        flash(
            _(
                "User name or password is wrong. After several wrong passwords, sign-in to an "
                "account pauses for a few minutes; an administrator can lift the pause."
            ),
            "error",
        )
    status = 401 if form.errors or request.method == "POST" else 200
    return render_template("admin/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    sign_out()
    flash(_("You are logged out, on this and every other device."), "success")
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index():
    """The staff start page: what this role can open, and the user's offices."""
    allowed = current_user.office_ids()
    offices = [o for o in list_offices() if allowed is None or o.id in allowed]
    can_manage = current_user.role in MANAGERS
    links = [
        {"url": url_for(endpoint), "label": label, "text": text}
        for endpoint, label, text, roles in _start_links()
        if current_user.role in roles and endpoint in current_app.view_functions
    ]
    return render_template(
        "admin/index.html",
        offices=offices,
        can_manage=can_manage,
        manage_links=links,
        role_name=_role_name(current_user.role),
    )


def _role_name(role: Role) -> str:
    return {Role.ADMIN: _("administrator"), Role.MANAGER: _("manager"), Role.CLERK: _("clerk")}[
        role
    ]


def _start_links():
    return [
        (
            "admin.manage.home",
            _("Offices"),
            _(
                "Details, services, counters, opening hours, closures, devices and display messages."
            ),
            MANAGERS,
        ),
        ("admin.manage.services", _("Services"), _("The services of the catalogue."), MANAGERS),
        (
            "admin.manage.staff",
            _("Staff accounts"),
            _("Create accounts, reset passwords, deactivate."),
            MANAGERS,
        ),
        (
            "admin.manage.city_closures",
            _("City-wide closures"),
            _("Close every office on a day."),
            ADMINS,
        ),
        ("admin.manage.audit_log", _("Audit log"), _("Who changed what, and when."), MANAGERS),
        (
            "admin.manage.jobs",
            _("Scheduled jobs"),
            _("Nightly and regular jobs and their last runs."),
            ADMINS,
        ),
    ]
