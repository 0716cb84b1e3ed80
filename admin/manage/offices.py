"""Offices: list, overview, details, services offered, counters."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from queue_service.errors import N_, ConfirmationRequired, DomainError, Forbidden
from queue_service.management import offices as management
from queue_service.management.access import managed_office, managed_offices
from queue_service.management.offices import OfficeDetails

from . import bp
from .common import (
    actor,
    confirmation_page,
    confirmed_args,
    form_status,
    is_admin,
    managers_only,
    show_error,
)
from .forms import CounterForm, NewOfficeForm, OfficeForm


@bp.get("/")
@managers_only
def home():
    offices = managed_offices(actor=actor())
    return render_template("admin/manage/home.html", offices=offices)


@bp.get("/offices/<slug>")
@managers_only
def office(slug: str):
    return render_template("admin/manage/office.html", office=managed_office(slug, actor=actor()))


def _details(form) -> OfficeDetails:
    return OfficeDetails(
        name=form.name.data,
        address=form.address.data,
        phone=form.phone.data,
        email=form.email.data,
        walkin_daily_cap=form.walkin_daily_cap.data,
        accessibility_de=form.accessibility_de.data,
        accessibility_en=form.accessibility_en.data,
    )


@bp.route("/offices/new", methods=["GET", "POST"])
@managers_only
def office_new():
    if not is_admin():
        raise Forbidden(N_("Only administrators can do this."))
    form = NewOfficeForm(active=True)
    if form.validate_on_submit():
        try:
            created = management.create_office(
                form.slug.data, _details(form), actor=actor(), is_mobile=form.is_mobile.data
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(
                _(
                    "The office %(name)s was created. Now add its services, counters and hours.",
                    name=created.name,
                ),
                "success",
            )
            return redirect(url_for(".office", slug=created.slug))
    return render_template("admin/manage/office_form.html", form=form, office=None), form_status(
        form
    )


@bp.route("/offices/<slug>/edit", methods=["GET", "POST"])
@managers_only
def office_edit(slug: str):
    office = managed_office(slug, actor=actor())
    form = OfficeForm(obj=office)
    if form.validate_on_submit():
        try:
            management.update_office(
                slug,
                _details(form),
                actor=actor(),
                active=form.active.data if is_admin() else None,
                **confirmed_args(),
            )
        except ConfirmationRequired as error:
            return confirmation_page(
                error,
                title=_("Take %(office)s out of service?", office=office.name),
                back_url=url_for(".office_edit", slug=slug),
                action_label=_("Take the office out of service and cancel these appointments"),
                explanation=_(
                    "These appointments are booked at this office. If you go ahead they "
                    "are cancelled."
                ),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".office", slug=slug))
    return render_template("admin/manage/office_form.html", form=form, office=office), form_status(
        form
    )


@bp.route("/offices/<slug>/services", methods=["GET", "POST"])
@managers_only
def office_services(slug: str):
    office, rows = management.offered_services(slug, actor=actor())
    errors: dict[str, str] = {}
    if request.method == "POST":
        offer: dict[str, int | None] = {}
        for svc, _offer in rows:
            if request.form.get(f"offer-{svc.code}") != "1":
                continue
            raw = (request.form.get(f"cap-{svc.code}") or "").strip()
            if raw and (not raw.isdigit() or not 1 <= int(raw) <= 999):
                errors[svc.code] = _("Enter a whole number between 1 and 999, or leave it empty.")
            offer[svc.code] = int(raw) if raw.isdigit() else None
        if not errors:
            try:
                management.set_offered_services(slug, offer, actor=actor(), **confirmed_args())
            except ConfirmationRequired as error:
                return confirmation_page(
                    error,
                    title=_("Stop offering these services at %(office)s?", office=office.name),
                    back_url=url_for(".office_services", slug=slug),
                    action_label=_("Save and cancel these appointments"),
                    explanation=_(
                        "These appointments are booked for a service the office would no "
                        "longer offer. If you go ahead they are cancelled."
                    ),
                )
            except DomainError as error:
                errors[(error.field or "").removeprefix("cap-") or "_"] = error.detail
            else:
                flash(_("Saved."), "success")
                return redirect(url_for(".office", slug=slug))
    return render_template(
        "admin/manage/office_services.html",
        office=office,
        rows=rows,
        errors=errors,
        posted=request.form if request.method == "POST" else None,
    ), (422 if errors else 200)


@bp.get("/offices/<slug>/counters")
@managers_only
def counters(slug: str):
    office, rows = management.office_counters(slug, actor=actor())
    return render_template("admin/manage/counters.html", office=office, counters=rows)


def _service_choices(office) -> list[tuple[str, str]]:
    return [
        SelectChoice(o.service.code, f"{o.service.code} – {o.service.name_de}")
        for o in sorted(office.services, key=lambda o: o.service.sort_order)
    ]


@bp.route("/offices/<slug>/counters/new", methods=["GET", "POST"])
@managers_only
def counter_new(slug: str):
    office = managed_office(slug, actor=actor())
    form = CounterForm()
    form.services.choices = _service_choices(office)
    if request.method == "GET":
        form.services.data = [choice.value for choice in form.services.choices]
    if form.validate_on_submit():
        try:
            counter = management.add_counter(
                slug, form.label.data, form.services.data, actor=actor()
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Counter %(number)d was added.", number=counter.number), "success")
            return redirect(url_for(".counters", slug=slug))
    return render_template(
        "admin/manage/counter_form.html", office=office, form=form, counter=None
    ), form_status(form)


@bp.route("/offices/<slug>/counters/<int:counter_id>", methods=["GET", "POST"])
@managers_only
def counter_edit(slug: str, counter_id: int):
    office, counter = management.counter_for(slug, counter_id, actor=actor())
    form = CounterForm(obj=counter)
    form.services.choices = _service_choices(office)
    if request.method == "GET":
        form.services.data = [s.code for s in counter.services]
    if form.validate_on_submit():
        try:
            management.update_counter(
                slug,
                counter_id,
                actor=actor(),
                label=form.label.data,
                service_codes=form.services.data,
                active=form.active.data,
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".counters", slug=slug))
    return render_template(
        "admin/manage/counter_form.html", office=office, form=form, counter=counter
    ), form_status(form)
