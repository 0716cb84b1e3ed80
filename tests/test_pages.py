from __future__ import annotations

from .conftest import login


def test_front_end_placeholders_name_their_office(client, catalogue):
    response = client.get("/display/aegi")
    assert response.status_code == 200
    assert "Bürgeramt Aegi" in response.get_data(as_text=True)
    # the kiosk names its office to an unregistered browser too (tests/kiosk has the rest)
    response = client.get("/kiosk/aegi")
    assert response.status_code == 403 and "Bürgeramt Aegi" in response.get_data(as_text=True)


def test_unknown_office_page_is_a_friendly_404(client, catalogue):
    response = client.get("/kiosk/atlantis", headers={"Accept": "text/html"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "atlantis" in html and "Traceback" not in html


def test_pages_are_german_first_and_english_on_request(client, catalogue):
    german = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="de"' in german and "Datenschutz" in german
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in english and "Privacy" in english
    # the choice is remembered
    assert '<html lang="en"' in client.get("/barrierefreiheit").get_data(as_text=True)


def test_privacy_and_accessibility_pages_are_linked_from_public_pages(client, catalogue):
    for url in ("/", "/kiosk/aegi", "/datenschutz"):
        html = client.get(url).get_data(as_text=True)
        assert 'href="/datenschutz"' in html and 'href="/barrierefreiheit"' in html


def test_admin_requires_login(client, catalogue):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_login_with_csrf_and_office_scope(client, catalogue, make_user):
    clerk = make_user("clerk-aegi", "clerk", ["aegi"])
    response = login(client, "clerk-aegi", clerk.password)
    assert response.status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    assert "Bürgeramt Aegi" in html and "Bürgeramt Linden" not in html


def test_login_rejects_a_wrong_password_and_a_missing_csrf_token(client, catalogue, make_user):
    make_user("clerk-aegi", "clerk", ["aegi"])
    assert login(client, "clerk-aegi", "wrong-password-123").status_code == 401
    no_csrf = client.post("/admin/login", data={"username": "clerk-aegi", "password": "x"})
    assert no_csrf.status_code == 400


def test_every_layout_links_an_svg_favicon_served_with_its_type(client, catalogue):
    icon = '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">'
    for url in ("/", "/standorte", "/termin/", "/kiosk/aegi", "/display/aegi", "/admin/login"):
        assert icon in client.get(url).get_data(as_text=True), url
    assert icon in client.get("/gibt-es-nicht").get_data(as_text=True)  # error pages too
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).startswith("<svg")
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 301 and legacy.headers["Location"].endswith("/static/favicon.svg")
