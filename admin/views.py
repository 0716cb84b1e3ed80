from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from queue_service.auth import services as auth
from queue_service.extensions import limiter
from queue_service.offices import services as catalogue

from . import bp
from .forms import LoginForm


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: __import__("flask").current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.username.data, form.password.data)
        if user is None:
            flash(_("User name or password is wrong."), "error")
        else:
            login_user(user)
            auth.record_login(user.id)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", form=form), (401 if form.errors or request.method == "POST" else 200)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You are logged out."), "success")
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index():
    allowed = current_user.office_ids()
    offices = [o for o in catalogue.list_offices() if allowed is None or o.id in allowed]
    return render_template("admin/index.html", offices=offices)
