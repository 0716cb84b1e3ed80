"""Every error page a person can meet is in their language (German first, English when chosen)
and in the site's layout; never the framework's English page."""

from __future__ import annotations

import re

import pytest

from .conftest import login
from .support.html import csrf_from

FRAMEWORK_TEXTS = (
    "Not Found",
    "Forbidden",
    "Method Not Allowed",
    "Bad Request",
    "Internal Server Error",
    "The requested URL",
    "Internal error",
    "CSRF",
)
CLERK_PASSWORD = "a long enough password 1"
GERMAN_WORDS = re.compile(r"\b(Seite|Sie|nicht|gibt|Bitte|Kein|Zugriff)\b")

# what is asked -> status, German heading and text, English heading and text
CASES = {
    "unknown address": (
        "GET",
        "/gibt-es-nicht",
        404,
        ("Seite nicht gefunden", "Unter dieser Adresse gibt es keine Seite."),
        ("Page not found", "There is no page at this address."),
    ),
    "bad day in the booking URL": (
        "GET",
        "/termin/zeiten?office=linden&services=PA&persons=1&day=2026-13-45",
        404,
        ("Seite nicht gefunden", "Diesen Tag gibt es nicht."),
        ("Page not found", "There is no such day."),
    ),
    "bad manage link": (
        "GET",
        "/termin/verwalten/" + "x" * 43,
        404,
        ("Seite nicht gefunden", "Zu diesem Link gibt es keinen Termin"),
        ("Page not found", "No appointment belongs to this link."),
    ),
    "bad ticket link": (
        "GET",
        "/t/abcdefghijklmnop",
        404,
        ("Seite nicht gefunden", "Zu diesem Code gibt es keine Wartenummer."),
        ("Page not found", "There is no ticket with this code."),
    ),
    "unknown office in the booking flow": (
        "GET",
        "/termin/kalender?office=atlantis&services=PA&persons=1",
        404,
        ("Seite nicht gefunden", "Unter dieser Adresse gibt es kein Bürgeramt."),
        ("Page not found", "There is no office at this address."),
    ),
    "wrong method": (
        "GET",
        "/termin/halten",
        405,
        ("So nicht möglich", "Bitte gehen Sie zurück"),
        ("Not possible this way", "Please go back"),
    ),
    "form without its CSRF token": (
        "POST",
        "/termin/halten",
        400,
        ("Bitte versuchen Sie es noch einmal", "Das Formular war abgelaufen."),
        ("Please try again", "The form had expired."),
    ),
    "broken form": (
        "POST+csrf",
        "/termin/halten",
        400,
        ("Die Anfrage konnte nicht bearbeitet werden", "im Formular fehlte etwas"),
        ("The request could not be processed", "in the address or the form was missing"),
    ),
    "error on our side": (
        "GET",
        "/boom",
        500,
        ("Etwas ist schiefgegangen", "Es wurde nichts geändert."),
        ("Something went wrong", "Nothing was changed."),
    ),
    "a clerk on a manager page": (
        "clerk",
        "/admin/manage/",
        403,
        ("Kein Zugriff", "Nur Leitungen"),
        ("No access", "Only managers and administrators"),
    ),
}


@pytest.fixture
def pages(sqlite_app, monkeypatch):
    from werkzeug.security import generate_password_hash

    from queue_service.auth.services import create_user
    from queue_service.offices.catalogue import load_catalogue_file

    from .conftest import DEMO_CATALOGUE

    def boom():
        raise RuntimeError("a bug")

    sqlite_app.add_url_rule("/boom", "boom", boom)
    monkeypatch.setattr(
        "queue_service.auth.services.generate_password_hash",
        lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:1000"),
    )
    load_catalogue_file(DEMO_CATALOGUE)
    create_user("sb-linden", "clerk", ["linden"], password=CLERK_PASSWORD)
    return sqlite_app


def _ask(client, how: str, url: str):
    if how == "clerk":
        assert login(client, "sb-linden", CLERK_PASSWORD).status_code == 302
        return client.get(url)
    if how == "POST+csrf":
        token = csrf_from(client.get("/admin/login").get_data(as_text=True))
        return client.post(url, data={"csrf_token": token, "start": "gestern"})
    return client.open(url, method=how)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("lang", ["de", "en"])
def test_error_pages_speak_the_visitors_language_in_the_site_layout(pages, case, lang):
    how, url, status, german, english = CASES[case]
    client = pages.test_client()
    client.get(f"/?lang={lang}")  # the visitor's choice, remembered in the session
    response = _ask(client, how, url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    heading, text = german if lang == "de" else english
    assert f'<html lang="{lang}"' in html
    assert re.search(r"<h1>\s*" + re.escape(heading) + r"\s*</h1>", html), html
    assert text in html
    assert f"<title>{heading} – " in html
    # the site's layout: header with the language switch, footer links, the way back
    assert 'class="site-header"' in html and 'href="/datenschutz"' in html
    for framework in FRAMEWORK_TEXTS:
        assert framework not in html
    if lang == "en":
        main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        assert not GERMAN_WORDS.search(main), main
