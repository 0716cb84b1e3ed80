"""A service's refusal in a management form reads in the visitor's language (errors.translate)."""

from __future__ import annotations

from ..support.html import csrf_from
from .conftest import logged_in


def test_a_management_form_error_reads_in_the_visitors_language(web):
    """A service's refusal shown next to the form field, in German and in English."""
    client = logged_in(web.app, web.staff.admin)
    for lang, expected in [
        ("de", "Höchstens 366 Tage auf einmal schließen."),
        ("en", "Close at most 366 days at once."),
    ]:
        form = client.get(f"/admin/manage/closures?lang={lang}").get_data(as_text=True)
        data = {"csrf_token": csrf_from(form), "start": "2027-01-04", "end": "2029-01-04"}
        data["reason"] = "Umbau"
        page = client.post("/admin/manage/closures", data=data)
        assert page.status_code == 422, lang
        assert expected in page.get_data(as_text=True), lang
