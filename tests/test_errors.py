"""Domain errors carry an English message id and its values; ``errors.translate`` alone makes
text of them, in the request's language, for the API, the pages and the forms alike."""

from __future__ import annotations

import pytest

from queue_service.errors import N_, ConfirmationRequired, SlotTaken, ValidationFailed, translate
from queue_service.management.changes import STRANDED

CAP = N_("Close at most %(n)d days at once.")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("de", "Höchstens 62 Tage auf einmal schließen."), ("en", "Close at most 62 days at once.")],
)
def test_an_error_reads_in_the_language_of_the_request(sqlite_app, lang, expected):
    error = ValidationFailed(CAP, field="end", params={"n": 62})
    with sqlite_app.test_request_context(f"/api/v1/closures?lang={lang}"):
        problem = error.to_problem()
        assert problem["detail"] == error.detail == expected
    assert problem["field"] == "end" and "params" not in problem


@pytest.mark.parametrize(
    ("lang", "invalid", "taken"),
    [
        ("de", "Ungültige Eingabe", "Termin nicht mehr frei"),
        ("en", "Invalid input", "Slot no longer available"),
    ],
)
def test_a_problems_title_reads_in_the_language_of_the_request(sqlite_app, lang, invalid, taken):
    with sqlite_app.test_request_context(f"/api/v1/appointments?lang={lang}"):
        assert ValidationFailed(CAP, params={"n": 62}).to_problem()["title"] == invalid
        assert SlotTaken().to_problem()["title"] == taken
    assert SlotTaken.title == "Slot no longer available"  # the class keeps the English id


def test_the_message_id_and_its_values_stay_apart_until_shown():
    error = ValidationFailed(CAP, params={"n": 62})
    assert (error.message, error.params) == (CAP, {"n": 62})
    assert str(error) == "Close at most 62 days at once."  # logs: English
    assert translate(CAP, {"n": 3}) == "Close at most 3 days at once."  # no application: English


@pytest.mark.parametrize(
    ("lang", "one", "three"),
    [
        ("de", "1 Termin wäre betroffen.", "3 Termine wären betroffen."),
        ("en", "1 appointment would be stranded.", "3 appointments would be stranded."),
    ],
)
def test_a_plural_message_takes_the_form_for_its_count_when_shown(sqlite_app, lang, one, three):
    errors = [ConfirmationRequired(STRANDED, params={"num": n}, items=[]) for n in (1, 3)]
    with sqlite_app.test_request_context(f"/manage/closures?lang={lang}"):
        assert [e.detail for e in errors] == [one, three]
    assert str(errors[1]) == "3 appointments would be stranded."  # logs: English
    assert errors[1].message == STRANDED.singular and errors[1].plural == STRANDED.plural
