"""Every state-changing route needs a CSRF token and a login.

The test walks app.url_map, so routes added later by anyone are covered. A route that must work
without a login (a resident booking, the login form itself) goes into PUBLIC with the reason;
routes called with a header token (Authorization: Bearer, X-Device-Token) skip the CSRF check
by design: a browser cannot send such a header cross-site without CORS consent.
"""

from __future__ import annotations

from werkzeug.routing import converters

from queue_service.auth.services import create_api_token

from .conftest import logged_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# endpoint -> why it changes state without a staff login (keep this list short and explained)
PUBLIC = {
    "admin.login": "the login form itself (CSRF-protected and rate-limited)",
    "api.cancel_ticket": "the visitor cancels their own ticket; the 192-bit token is the capability",
    "web.cancel_ticket": "the visitor's cancel confirmation page (POST with CSRF); the token is the capability",
    # online booking (docs/booking.md): residents have no account; a hold or a booking is
    # open to anyone (rate-limited per address), managing one needs its 256-bit manage token
    "api.create_hold": "a resident holds a free time while filling in the form",
    "api.create_appointment": "a resident books an appointment",
    "api.confirm_appointment": "double opt-in, by the manage token from the mail",
    "api.cancel_appointment": "by the manage token from the mail",
    "api.reschedule_appointment": "by the manage token from the mail",
    "booking_web.hold": "the booking pages: hold the chosen time",
    "booking_web.submit_details": "the booking pages: book the held time",
    "booking_web.confirm": "manage page (token in the URL): confirm",
    "booking_web.cancel": "manage page (token in the URL): cancel",
    "booking_web.reschedule_confirm": "manage page (token in the URL): move",
    "web.rate_visit": "the visitor rates their own finished visit once; the token is the capability",
    "web.set_turn_alert": "the visitor sets or removes their own turn alert (POST with CSRF); the token is the capability",
    # waitlist (docs/waitlist.md): like booking, no account; a request or an offer is managed by
    # its 256-bit token from the mail, an earlier time by the appointment's manage token
    "api.create_waitlist_request": "a resident joins the waitlist",
    "api.create_earlier_request": "by the appointment's manage token: wait for an earlier time",
    "api.confirm_waitlist_request": "double opt-in, by the request's token from the mail",
    "api.cancel_waitlist_request": "by the request's token from the mail",
    "api.accept_waitlist_offer": "by the offer's token from the mail",
    "api.decline_waitlist_offer": "by the offer's token from the mail",
    "booking_web.waitlist_form": "the waitlist form in the booking pages",
    "booking_web.waitlist_confirm": "waitlist page (token in the URL): confirm",
    "booking_web.waitlist_cancel": "waitlist page (token in the URL): leave",
    "booking_web.offer_accept": "offer page (token in the URL): take the time",
    "booking_web.offer_decline": "offer page (token in the URL): let the next have it",
    "booking_web.earlier": "manage page (token in the URL): wait for an earlier time",
}


def _dummy(converter):
    """A value the converter accepts (the route need not find anything: login and CSRF come first)."""
    if isinstance(converter, converters.NumberConverter):  # int and float
        return 999999
    if isinstance(converter, converters.UUIDConverter):
        return "00000000-0000-0000-0000-000000000000"
    if isinstance(converter, converters.AnyConverter):
        return next(iter(converter.items)) if hasattr(converter, "items") else "x"
    return "aegi"


def _state_changing(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted(UNSAFE & rule.methods):
            values = {arg: _dummy(rule._converters[arg]) for arg in rule.arguments}
            yield rule, method, _build(rule, values)


def _build(rule, values) -> str:
    from flask import url_for

    return url_for(rule.endpoint, **values)


def test_every_state_changing_route_requires_csrf_and_login(web):
    app, staff = web.app, web.staff
    with app.test_request_context():
        routes = list(_state_changing(app))
    assert len(routes) >= 20, "the walk found too few routes to prove anything"

    anonymous = app.test_client()
    token = anonymous.get("/api/v1/csrf-token").get_json()["csrf_token"]
    admin = logged_in(app, staff.admin)
    for rule, method, url in routes:
        # logged in, but no CSRF token: refused before the view runs
        response = admin.open(url, method=method, data={})
        assert response.status_code == 400, (
            f"{method} {url} without CSRF gave {response.status_code}"
        )
        if rule.endpoint in PUBLIC:
            continue
        # a valid CSRF token but no login: 401 (API) or a redirect to the login page
        response = anonymous.open(url, method=method, headers={"X-CSRFToken": token}, data={})
        assert response.status_code in (401, 302), (
            f"{method} {url} without login gave {response.status_code}"
        )
        if response.status_code == 302:
            assert "/admin/login" in response.headers["Location"]


def test_header_tokens_skip_csrf_but_still_authenticate(web):
    app, staff = web.app, web.staff
    client = app.test_client()
    bearer = create_api_token(staff.admin.username)
    api_routes = [
        r for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and UNSAFE & r.methods
    ]
    for rule in api_routes:
        with app.test_request_context():
            url = _build(rule, {a: _dummy(rule._converters[a]) for a in rule.arguments})
        for method in UNSAFE & rule.methods:
            good = client.open(
                url, method=method, headers={"Authorization": f"Bearer {bearer}"}, json={}
            )
            assert not (good.status_code == 400 and "CSRF" in good.get_data(as_text=True)), url
            bad = client.open(
                url, method=method, headers={"Authorization": "Bearer qs_forged"}, json={}
            )
            assert bad.status_code in (401, 403), url
    # the rule itself: a bearer token is checked, a forged one is not a way around the login
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    )
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer qs_forged"}).status_code == 401
    )
