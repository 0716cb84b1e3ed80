"""The services of the catalogue (administrators edit, managers read)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from queue_service.errors import N_, DomainError, Forbidden
from queue_service.management import catalogue as management
from queue_service.management.catalogue import ServiceData

from . import bp
from .common import actor, form_status, is_admin, managers_only, show_error
from .forms import NewServiceForm, ServiceForm


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _data(form) -> ServiceData:
    return ServiceData(
        name_de=form.name_de.data,
        name_en=form.name_en.data,
        prefix=form.prefix.data,
        duration_minutes=form.duration_minutes.data,
        extra_person_minutes=form.extra_person_minutes.data or 0,
        description_de=form.description_de.data,
        description_en=form.description_en.data,
        walk_in_allowed=form.walk_in_allowed.data,
        online_bookable=form.online_bookable.data,
        short_matter=form.short_matter.data,
        documents_de=_lines(form.documents_de.data),
        documents_en=_lines(form.documents_en.data),
        online_alternative_url=form.online_alternative_url.data,
    )


@bp.get("/services")
@managers_only
def services():
    return render_template(
        "admin/manage/services.html", services=management.list_services(actor=actor())
    )


@bp.route("/services/new", methods=["GET", "POST"])
@managers_only
def service_new():
    if not is_admin():
        raise Forbidden(N_("Only administrators can do this."))
    form = NewServiceForm()
    if form.validate_on_submit():
        try:
            created = management.create_service(form.code.data, _data(form), actor=actor())
        except DomainError as error:
            show_error(form, error)
        else:
            flash(
                _("The service %(code)s was added. Offices can now offer it.", code=created.code),
                "success",
            )
            return redirect(url_for(".services"))
    return render_template("admin/manage/service_form.html", form=form, service=None), form_status(
        form
    )


@bp.route("/services/<code>", methods=["GET", "POST"])
@managers_only
def service_edit(code: str):
    existing = management.service_for(code, actor=actor())
    if request.method == "POST" and not is_admin():
        raise Forbidden(N_("Only administrators can do this."))
    form = ServiceForm(obj=existing)
    if not form.is_submitted():
        form.documents_de.data = "\n".join(existing.documents_de or [])
        form.documents_en.data = "\n".join(existing.documents_en or [])
    if form.validate_on_submit():
        try:
            management.update_service(code, _data(form), actor=actor())
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".services"))
    return render_template(
        "admin/manage/service_form.html", form=form, service=existing
    ), form_status(form)
