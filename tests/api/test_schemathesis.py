"""Schemathesis over /api/openapi.json against the app in-process: no server error and no answer
that breaks the document, with and without a bearer token."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from queue_service import clock, create_app
from queue_service.auth.services import create_api_token, create_device, create_user
from queue_service.extensions import db

from ..conftest import DEMO_CATALOGUE, THURSDAY_10, _test_config

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    from queue_service.offices.catalogue import load_catalogue_file

    path = tmp_path_factory.mktemp("schemathesis") / "api.sqlite3"
    app = create_app(_test_config(f"sqlite:///{path}", MAIL_BACKEND="memory", MAIL_ASYNC=False))
    with app.app_context():
        db.create_all()
        load_catalogue_file(DEMO_CATALOGUE)
        create_user("clerk-aegi", "clerk", ["aegi"])
        app.config["TEST_BEARER"] = create_api_token("clerk-aegi")
        app.config["TEST_KIOSK"] = create_device("aegi", "kiosk")
        db.session.remove()
    clock.freeze(THURSDAY_10)
    yield app
    clock.reset()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


# positive_data_acceptance expects 2xx for any schema-valid input; an unknown office or service
# code, a time in the past or a missing CSRF token are schema-valid and rightly refused (404, 409,
# 422, 400), and the document says so per operation (status_code_conformance checks that)
EXCLUDED = [positive_data_acceptance]
# the stateful run keeps every check of the stateless runs, ignored_auth included: each step made
# with the clerk's token is replayed without it and with a made-up one of each scheme (bearer,
# device header, session cookie), and must be refused with 401 (before any CSRF check)
STATEFUL_EXCLUDED = EXCLUDED
# per operation and generation mode: bounded (about a minute per run on a quiet machine)
EXAMPLES = 3


def _check_operation(operation, mode, headers: dict, failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        clock.freeze(THURSDAY_10)
        try:
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        except (AssertionError, BaseExceptionGroup) as exc:  # collected, reported together
            failures.append(f"{operation.label} [{mode.value}]: {exc}"[:1500])

    try:
        check()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE  # nothing in this operation can be made invalid


def _run(schema, headers: dict) -> list[str]:
    """Every operation, positive and negative data; the failures as readable lines."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _check_operation(result.ok(), mode, headers, failures)
    return failures


def test_the_api_keeps_its_contract_without_a_token(api_schema):
    failures = _run(api_schema, {})
    assert not failures, "\n\n".join(failures)


def test_the_api_keeps_its_contract_with_a_token(api_schema, api_app):
    failures = _run(api_schema, {"Authorization": f"Bearer {api_app.config['TEST_BEARER']}"})
    assert not failures, "\n\n".join(failures)


def _positive(case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


def test_stateful_runs_follow_the_ticket_links_without_a_failure(api_schema, api_app):
    """Issue a ticket, follow its links (status, PDF, cancel, transfer), call it and follow the
    counter's links (start, recall, park, no-show, finish), as a clerk with a bearer token."""
    headers = {"Authorization": f"Bearer {api_app.config['TEST_BEARER']}"}
    failures: list[str] = []
    answered: set[tuple[str, int]] = set()

    # the queue's operations, and the office list: without a producer of office slugs Schemathesis
    # does not start from issuing a ticket (it would guess tokens instead)
    queue = api_schema.include(
        path_regex=r"^/api/v1/(offices$|offices/\{slug\}/(tickets|counters/\{number\}/call-next)|tickets/)"
    )

    class Workflow(queue.as_state_machine()):
        def get_call_kwargs(self, case):
            clock.freeze(THURSDAY_10)
            # a negative case keeps what it generated (its invalid part may be the header)
            return {"headers": headers} if _positive(case) else {}

        def before_call(self, case):
            # random slugs and codes find nothing: the workflow runs in the clerk's own office,
            # on real services (the stateless runs above fuzz these); negative cases stay invalid
            if not _positive(case):
                return
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = "aegi"
            if "number" in (case.path_parameters or {}):
                case.path_parameters["number"] = 1
            if case.operation.label == "POST /api/v1/offices/{slug}/tickets":
                case.body = {"service": "PA"}

        def after_call(self, response, case):
            answered.add((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(
                    response,
                    excluded_checks=STATEFUL_EXCLUDED,
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs,
                )
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{case.operation.label}: {exc}"[:1500])

    def followed() -> set[str]:
        # a random token finds no ticket (404): a 2xx on a ticket's own operation means a link
        # to a real ticket was followed
        return {label for label, status in answered if "{token}" in label and 200 <= status < 300}

    # Schemathesis steers its stateful runs with adaptive probabilities and true randomness, which
    # Hypothesis now and then reports as an inconsistent strategy; that says nothing about the API,
    # so such a run is started again (the API's failures collected so far are kept). So is a run
    # whose random walk never reached a ticket's own operation with a valid request (seen once in
    # about twenty: every token operation answered 401, 404, 409 or 422): it tested the API, but
    # not the links this test is about.
    inconsistent = 0
    for _attempt in range(3):
        try:
            Workflow.run(
                settings=settings(
                    max_examples=30,
                    stateful_step_count=8,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
            )
        except FlakyStrategyDefinition:
            inconsistent += 1
            continue
        if followed():
            break
    if inconsistent == 3:
        pytest.fail("three stateful runs in a row stopped on an inconsistent strategy")
    assert not failures, "\n\n".join(failures)
    assert followed(), "; ".join(f"{label} {status}" for label, status in sorted(answered))
