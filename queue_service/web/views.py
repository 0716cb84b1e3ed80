"""Public pages. Views only call services and render."""

from __future__ import annotations

from flask import render_template

from ..offices import services as catalogue
from . import bp


@bp.get("/")
def home():
    return render_template("web/home.html", offices=catalogue.list_offices())


@bp.get("/datenschutz")
def privacy():
    return render_template("web/privacy.html")


@bp.get("/barrierefreiheit")
def accessibility():
    return render_template("web/accessibility.html")


@bp.get("/impressum")
def imprint():
    return render_template("web/imprint.html")
