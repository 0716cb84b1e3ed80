"""The unit of work after a request's reads: one transaction on PostgreSQL (READ COMMITTED reads
current rows per statement), a fresh IMMEDIATE one on SQLite; and whatever the reads left to
commit is committed before the work, as ever."""

from __future__ import annotations

import pytest
from sqlalchemy import event, inspect, select, update

from queue_service.db import unit_of_work
from queue_service.extensions import db
from queue_service.offices.models import Office
from queue_service.offices.services import get_office


@pytest.fixture
def begun(app, catalogue):
    """The transactions begun on the app's engine."""
    seen: list = []

    def note(conn) -> None:
        seen.append(conn)

    event.listen(db.engine, "begin", note)
    yield seen
    event.remove(db.engine, "begin", note)


def _name(slug: str) -> str:
    with db.engine.connect() as conn:  # another connection: what is committed
        return conn.scalar(select(Office.name).where(Office.slug == slug))


def test_a_change_after_reads_continues_their_transaction_on_postgresql(app, begun):
    with app.test_request_context():
        office = get_office("aegi")
        with unit_of_work() as session:
            assert "name" not in inspect(office).dict  # expired: the work reads it anew
            session.execute(update(Office).where(Office.slug == "aegi").values(phone="0511 1"))
        assert len(begun) == (2 if db.engine.dialect.name == "sqlite" else 1)
    assert get_office("aegi").phone == "0511 1"


def test_the_work_sees_a_change_committed_after_the_reads(app, begun):
    with app.test_request_context():
        office = get_office("aegi")
        with db.engine.begin() as other:
            other.execute(update(Office).where(Office.slug == "aegi").values(name="Neu"))
        with unit_of_work():
            assert get_office("aegi") is office and office.name == "Neu"


@pytest.mark.parametrize("flushed", [False, True])
def test_what_the_reads_left_to_commit_is_committed_before_a_failed_work(app, begun, flushed):
    with app.test_request_context():
        office = get_office("aegi")
        office.name = "Vor der Arbeit"
        if flushed:
            db.session.flush()
        with pytest.raises(RuntimeError), unit_of_work():
            raise RuntimeError("the work fails")
        assert _name("aegi") == "Vor der Arbeit"
        assert len(begun) == 2  # the reads' transaction was committed, the work had its own


def test_a_work_that_starts_over_runs_again_from_a_rolled_back_transaction(app, catalogue):
    from queue_service.db import StartOver, run_in_transaction

    names: list[str] = []

    def work(session) -> str:
        names.append(session.scalar(select(Office.name).where(Office.slug == "aegi")))
        session.execute(
            update(Office).where(Office.slug == "aegi").values(name=f"Try {len(names)}")
        )
        if len(names) < 3:
            raise StartOver()
        return names[-1]

    with app.test_request_context():
        original = names[0] if names else _name("aegi")
        assert run_in_transaction(work) == original  # the earlier tries' writes rolled back
    assert len(names) == 3 and _name("aegi") == "Try 3"

    def never_done(session) -> None:
        raise StartOver()

    with app.test_request_context(), pytest.raises(StartOver):
        run_in_transaction(never_done)  # three times at most
