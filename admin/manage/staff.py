"""Staff accounts: create, edit, reset the password, deactivate."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from queue_service.auth.login import lock_state
from queue_service.auth.models import Role
from queue_service.errors import DomainError
from queue_service.management import staff as management
from queue_service.management.access import managed_offices

from . import bp
from .common import actor, form_status, is_admin, managers_only, no_store, show_error
from .forms import ConfirmActionForm, NewStaffForm, StaffForm


def role_names() -> dict[str, str]:
    return {
        Role.ADMIN.value: _("Administrator"),
        Role.MANAGER.value: _("Manager"),
        Role.CLERK.value: _("Clerk"),
    }


def _prepare(form) -> None:
    names = role_names()
    roles = [Role.ADMIN, Role.MANAGER, Role.CLERK] if is_admin() else [Role.CLERK]
    form.role.choices = [SelectChoice(r.value, names[r.value]) for r in roles]
    form.offices.choices = [SelectChoice(o.slug, o.name) for o in managed_offices(actor=actor())]


@bp.get("/staff")
@managers_only
def staff():
    users = management.list_staff(actor=actor())
    manageable = {u.id for u in users if management.may_manage(u.id, actor=actor())}
    paused = {u.id for u in users if lock_state(u.id).locked_until is not None}
    return render_template(
        "admin/manage/staff.html",
        users=users,
        manageable=manageable,
        paused=paused,
        role_names=role_names(),
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@managers_only
def staff_new():
    form = NewStaffForm(role=Role.CLERK.value)
    _prepare(form)
    if form.validate_on_submit():
        try:
            created = management.create_staff_account(
                form.username.data,
                form.role.data,
                form.offices.data or [],
                form.display_name.data,
                actor=actor(),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            return no_store(
                render_template("admin/manage/staff_password.html", account=created, new=True)
            )
    return render_template("admin/manage/staff_form.html", form=form, user=None), form_status(form)


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@managers_only
def staff_edit(user_id: int):
    user = management.staff_for(user_id, actor=actor())
    form = StaffForm(obj=user, role=user.role.value)
    _prepare(form)
    if not form.is_submitted():
        form.offices.data = [o.slug for o in user.offices]
    if form.validate_on_submit():
        try:
            management.update_staff_account(
                user_id,
                actor=actor(),
                role=form.role.data,
                office_slugs=form.offices.data or [],
                display_name=form.display_name.data,
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".staff"))
    return render_template(
        "admin/manage/staff_form.html",
        form=form,
        user=user,
        action_form=ConfirmActionForm(),
        tokens=management.staff_tokens(user_id, actor=actor()),
        lock=lock_state(user_id),
    ), form_status(form)


@bp.post("/staff/<int:user_id>/password")
@managers_only
def staff_password(user_id: int):
    account = management.reset_staff_password(
        user_id, actor=actor(), revoke_tokens=request.form.get("revoke_tokens") == "1"
    )
    return no_store(render_template("admin/manage/staff_password.html", account=account, new=False))


@bp.post("/staff/<int:user_id>/tokens/revoke")
@managers_only
def staff_revoke_tokens(user_id: int):
    token_id = request.form.get("token", type=int)
    names = management.revoke_staff_token(user_id, token_id, actor=actor())
    flash(
        _(
            "Revoked: %(names)s. Programs using these tokens are refused from now on.",
            names=", ".join(names),
        )
        if names
        else _("There was no token to revoke."),
        "success",
    )
    return redirect(url_for(".staff_edit", user_id=user_id))


@bp.post("/staff/<int:user_id>/unlock")
@managers_only
def staff_unlock(user_id: int):
    user = management.staff_for(user_id, actor=actor())
    lifted = management.unlock_staff_login(user_id, actor=actor())
    flash(
        _("%(name)s can sign in again now.", name=user.username)
        if lifted
        else _("Sign-in of %(name)s was not paused.", name=user.username),
        "success",
    )
    return redirect(url_for(".staff_edit", user_id=user_id))


@bp.post("/staff/<int:user_id>/active")
@managers_only
def staff_active(user_id: int):
    active = request.form.get("active") == "1"
    user = management.set_staff_active(user_id, active, actor=actor())
    flash(
        _("%(name)s can sign in again.", name=user.username)
        if active
        else _("%(name)s can no longer sign in.", name=user.username),
        "success",
    )
    return redirect(url_for(".staff_edit", user_id=user_id))
