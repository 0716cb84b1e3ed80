"""Satisfaction: once per ticket, only when done, CSRF, no personal data, shown in statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_service.errors import Conflict, ValidationFailed
from queue_service.extensions import db
from queue_service.stats import ratings
from queue_service.stats.models import RatedTicket, Rating
from queue_service.tickets import services as queue

from ..conftest import login
from ..support.html import csrf_from
from .conftest import PASSWORD, THURSDAY


def _served(clerk) -> str:
    queue.open_counter("aegi", 1, actor=clerk)
    token = queue.issue_ticket("aegi", "PA")["token"]
    queue.call_next("aegi", 1, actor=clerk)
    queue.start_serving(token, actor=clerk)
    queue.finish_ticket(token, actor=clerk)
    return token


def _rate(client, token, csrf=None, **form):
    csrf = csrf or csrf_from(client.get(f"/t/{token}").get_data(as_text=True))
    return client.post(f"/t/{token}/rating", data={"csrf_token": csrf, **form})


def test_the_status_page_invites_a_rating_only_once_the_visit_is_done(client, clerk):
    queue.open_counter("aegi", 1, actor=clerk)
    token = queue.issue_ticket("aegi", "PA")["token"]
    assert 'id="rating"' not in client.get(f"/t/{token}").get_data(as_text=True)
    queue.call_next("aegi", 1, actor=clerk)
    queue.start_serving(token, actor=clerk)
    assert 'action="/t/' not in client.get(f"/t/{token}").get_data(as_text=True)
    queue.finish_ticket(token, actor=clerk)
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert (
        f'action="/t/{token}/rating"' in page
        and 'name="score"' in page
        and 'maxlength="500"' in page
    )


def test_a_done_visit_can_be_rated_once_and_the_rating_holds_no_ticket_or_contact(client, clerk):
    token = _served(clerk)
    csrf = csrf_from(client.get(f"/t/{token}").get_data(as_text=True))
    response = _rate(
        client,
        token,
        csrf,
        score="4",
        comment="Sehr freundlich! Rückfragen an max.muster@example.org oder 0511 123 4567",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/t/{token}#rating"
    )
    rating = db.session.scalar(select(Rating))
    assert (rating.score, rating.day) == (4, THURSDAY)
    assert "example.org" not in rating.comment and "4567" not in rating.comment
    assert rating.comment.startswith("Sehr freundlich!")
    assert token not in str({c.name: getattr(rating, c.name) for c in Rating.__table__.columns})
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert f'action="/t/{token}/rating"' not in page
    again = _rate(client, token, csrf, score="1")
    assert again.status_code == 303
    assert db.session.scalar(select(db.func.count()).select_from(Rating)) == 1
    with pytest.raises(Conflict):
        ratings.submit_rating(token, 2)


def test_a_rating_needs_the_csrf_token(client, clerk):
    token = _served(clerk)
    response = client.post(f"/t/{token}/rating", data={"score": "5"})
    assert response.status_code == 400
    assert db.session.scalar(select(RatedTicket)) is None


def test_waiting_tickets_cannot_rate_and_scores_must_be_one_to_five(client, clerk):
    done = _served(clerk)
    waiting = queue.issue_ticket("aegi", "PA")["token"]
    with pytest.raises(Conflict):
        ratings.submit_rating(waiting, 5)
    for bad in ("0", "6", "gut", None):
        with pytest.raises(ValidationFailed):
            ratings.submit_rating(done, bad)
    with pytest.raises(ValidationFailed):
        ratings.submit_rating(done, 5, "x" * 501)
    assert db.session.scalar(select(Rating)) is None


def test_managers_see_average_distribution_and_latest_comments(client, clerk):
    for score in (5, 4):
        ratings.submit_rating(_served_again(clerk), score, f"Kommentar {score}")
    login(client, "manager-aegi", PASSWORD)
    page = client.get("/admin/statistics", query_string={"office": "aegi"}).get_data(as_text=True)
    assert "Kommentar 5" in page and "Kommentar 4" in page and "4,5" in page  # German decimal comma


def _served_again(clerk) -> str:
    token = queue.issue_ticket("aegi", "PA")["token"]
    queue.open_counter("aegi", 1, actor=clerk)
    queue.call_next("aegi", 1, actor=clerk)
    queue.start_serving(token, actor=clerk)
    queue.finish_ticket(token, actor=clerk)
    return token


def test_scrubbing_removes_contact_details_but_keeps_dates_and_times():
    text = ratings.scrub("Am 26.11.2026 um 10:30, Tel. +49 511 168-12345, mail a.b@stadt.de")
    assert "26.11.2026" in text and "10:30" in text
    assert "12345" not in text and "stadt.de" not in text


def test_an_arabic_visitor_rates_in_arabic_and_returns_to_the_arabic_page(client, clerk):
    queue.open_counter("aegi", 1, actor=clerk)
    token = queue.issue_ticket("aegi", "PA", lang="ar")["token"]
    queue.call_next("aegi", 1, actor=clerk)
    queue.start_serving(token, actor=clerk)
    queue.finish_ticket(token, actor=clerk)
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "تقييمك (1 = سيئ، 5 = جيد جدًا)" in page and "Your rating" not in page
    assert '<input type="hidden" name="lang" value="ar">' in page
    csrf = csrf_from(page)
    response = _rate(client, token, csrf, score="5", lang="ar")
    assert response.headers["Location"].endswith(f"/t/{token}?lang=ar#rating")
    thanked = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in thanked and "شكرًا لتقييمك." in thanked
    again = _rate(client, token, csrf, score="3", lang="ar")
    refused = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "تم تقييم هذه الزيارة بالفعل. شكرًا لك!" in refused
