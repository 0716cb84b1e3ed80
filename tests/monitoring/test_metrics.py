"""GET /metrics: token-protected, Prometheus text format (read with prometheus_client's own
parser), with request latency per route, the queue per office and service, today's tickets,
connected displays, scheduler job runs and mail deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from queue_service import clock
from queue_service.extensions import socketio
from queue_service.scheduler.runner import run_occurrence
from queue_service.tickets import calling, issuing, services

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN, "MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


def scrape(client) -> dict[str, dict[tuple, float]]:
    """name -> {sorted label items: value} for every sample."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_need_the_token_and_do_not_exist_without_one(app, client):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_metrics_report_requests_queue_tickets_displays_jobs_and_mail(app, client, clerk):
    before = scrape(client)
    waiting = [issuing.issue_ticket("aegi", "PA", actor=clerk) for _ in range(3)]
    issuing.issue_ticket("aegi", "AN", actor=clerk)
    clock.freeze(clock.now() + timedelta(minutes=7))
    called = calling.call_next("aegi", 1, actor=clerk)
    services.start_serving(called["token"], actor=clerk)
    services.finish_ticket(called["token"], actor=clerk)
    # a status page: its token must not end up in a label
    assert client.get(f"/t/{waiting[1]['token']}").status_code == 200
    display = socketio.test_client(app, namespace="/display")
    display.emit("join_office", {"office": "aegi"}, namespace="/display", callback=True)
    run_occurrence("expire_office_messages", clock.real_now())

    after = scrape(client)
    assert value(after, "qs_queue_waiting", office="aegi", service="PA") == 2
    assert value(after, "qs_queue_waiting", office="aegi", service="AN") == 1
    assert 7 * 60 - 1 <= value(after, "qs_queue_oldest_wait_seconds", office="aegi", service="PA")
    assert value(after, "qs_tickets_issued_total", office="aegi") == 4
    assert value(after, "qs_tickets_called_total", office="aegi") == 1
    assert value(after, "qs_tickets_ended_total", office="aegi") == 1
    assert value(after, "qs_displays_connected", office="aegi") == 1
    ran = value(
        after, "qs_scheduler_job_runs_total", job="expire_office_messages", status="succeeded"
    )
    assert (
        ran
        - value(
            before, "qs_scheduler_job_runs_total", job="expire_office_messages", status="succeeded"
        )
        == 1
    )
    route = {"method": "GET", "route": "/t/<token>"}
    count = value(after, "qs_http_request_duration_seconds_count", **route)
    assert count - value(before, "qs_http_request_duration_seconds_count", **route) == 1
    assert value(after, "qs_http_requests_total", status="200", **route) >= 1
    assert "qs_mail_outbox_pending" in after and "qs_mail_outbox_oldest_seconds" in after
    # the figures notify and the scheduler register with monitoring (it imports neither)
    finished = value(
        after, "qs_scheduler_job_last_success_timestamp_seconds", job="expire_office_messages"
    )
    assert abs(finished - clock.real_now().timestamp()) < 300
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    assert waiting[1]["token"] not in text
    display.disconnect(namespace="/display")
    assert value(scrape(client), "qs_displays_connected", office="aegi") == 0


def test_the_sample_grafana_dashboard_uses_only_metrics_the_endpoint_serves(app, client, clerk):
    import json
    import re

    from queue_service.db import unit_of_work
    from queue_service.notify import mail, outbox

    from ..support.servers import ROOT

    issuing.issue_ticket("aegi", "PA", actor=clerk)
    run_occurrence("expire_office_messages", clock.real_now())
    with unit_of_work():
        outbox.enqueue(mail.compose("someone@example.org", "Test", "text"), "reminder")
    served = set(scrape(client))
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bqs_\w+", target["expr"])
    }
    assert len(used) >= 12
    assert used - served == set()


def test_the_connections_a_process_opens_are_counted_once_per_connection_not_per_request(
    app, client
):
    from queue_service.extensions import db

    with app.app_context():
        db.engine.dispose()  # the pool starts empty: the next request opens a connection
    before = value(scrape(client), "qs_db_connections_opened_total")
    assert before >= 1  # the scrape itself read the queue from a new connection
    for _ in range(5):
        assert client.get("/api/v1/offices/aegi").status_code == 200
    after = value(scrape(client), "qs_db_connections_opened_total")
    # sequential requests take the pooled connection again: none opened
    assert after == before
    with app.app_context():
        db.engine.dispose()
    assert value(scrape(client), "qs_db_connections_opened_total") == after + 1
