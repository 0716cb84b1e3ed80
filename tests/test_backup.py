"""``queue-service backup`` and ``restore`` on both profiles: a backup taken by another process
while tickets are being issued is consistent; after changes, a restore brings back exactly the
backed-up data, and the after-restore steps keep new ticket numbers clear of those handed out
after the backup and make the displays resync."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from queue_service import clock, create_app
from queue_service.extensions import db
from queue_service.offices.services import cached_office
from queue_service.realtime.models import OfficeEventSeq
from queue_service.tickets import issuing
from queue_service.tickets.models import Ticket, TicketStatus

from .conftest import DEMO_CATALOGUE, THURSDAY_10, _test_config, _throwaway_pg_database
from .support.servers import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.sqlite3'}"
    else:
        yield from _throwaway_pg_database()


def _numbers() -> list[str]:
    db.session.rollback()  # a fresh snapshot
    return sorted(db.session.scalars(select(Ticket.number)))


def _seq() -> int:
    db.session.rollback()
    return db.session.scalar(select(OfficeEventSeq.seq).limit(1)) or 0


def test_backup_while_serving_then_restore_brings_back_the_data_and_skips_numbers(
    database, tmp_path
):
    from flask_migrate import upgrade

    from queue_service.offices.catalogue import load_catalogue_file

    clock.freeze(THURSDAY_10)
    app = create_app(_test_config(database))
    env = dict(
        os.environ,
        DATABASE_URL=database,
        CLOCK_START="2026-11-26T10:00",
        SECRET_KEY="backup-test",
        LOG_LEVEL="WARNING",
    )
    backup_file = tmp_path / "backup.dump"
    with app.app_context():
        upgrade()
        load_catalogue_file(DEMO_CATALOGUE)
        first = [issuing.issue_ticket("aegi", "PA")["number"] for _ in range(3)]

        # another process backs up while this one keeps issuing tickets
        stop = threading.Event()
        issued_meanwhile: list[str] = []

        def keep_issuing():
            with app.app_context():
                while not stop.is_set() and len(issued_meanwhile) < 200:
                    issued_meanwhile.append(issuing.issue_ticket("aegi", "AB")["number"])
                db.session.remove()

        writer = threading.Thread(target=keep_issuing)
        writer.start()
        try:
            made = run_cli(["backup", str(backup_file)], env)
        finally:
            stop.set()
            writer.join(30)
        assert made.returncode == 0, made.stderr
        assert "Backup written" in made.stdout and backup_file.stat().st_size > 0
        assert issued_meanwhile  # the backup did not stop the service
        again = run_cli(["backup", str(backup_file)], env)
        assert again.returncode == 2 and "exists" in again.stderr  # never overwritten

        # after the backup: more tickets, one served, and a display event counter moved on
        before_changes = set(_numbers())
        # ... and a catalogue change this process keeps
        cached_office("linden").name = "Bürgeramt Linden (nach der Sicherung)"
        db.session.commit()
        assert cached_office("linden").name == "Bürgeramt Linden (nach der Sicherung)"
        db.session.commit()
        later = [issuing.issue_ticket("aegi", "PA")["number"] for _ in range(4)]
        seq_before_restore = _seq()
        assert seq_before_restore > 0
        db.session.remove()
        db.engine.dispose()

        refused = run_cli(["restore", str(backup_file)], env)
        assert refused.returncode == 2 and "--yes" in refused.stderr
        restored = run_cli(["restore", "--yes", "--skip-numbers", "50", str(backup_file)], env)
        assert restored.returncode == 0, restored.stderr
        assert "moved on by 50" in restored.stdout

        db.engine.dispose()
        numbers = set(_numbers())
        # the backup is one consistent moment: the first three, and a gapless run of AB tickets
        ab = sorted(int(n[1:]) for n in numbers if n.startswith("AB"))
        assert ab == list(range(1, len(ab) + 1))
        assert set(first) <= numbers
        assert numbers <= before_changes
        assert not numbers & set(later)
        assert all(t.status == TicketStatus.WAITING for t in db.session.scalars(select(Ticket)))
        # a new ticket does not repeat a number handed out after the backup
        fresh = issuing.issue_ticket("aegi", "PA")["number"]
        assert fresh not in later
        prefix = fresh[0]
        highest_before = max(int(n[1:]) for n in before_changes | set(later) if n[0] == prefix)
        assert int(fresh[1:]) > highest_before
        # displays see a jump and fetch a fresh snapshot
        assert _seq() > seq_before_restore + 100_000
        # a catalogue change after the restore: the name kept from after the backup is not current
        db.session.rollback()
        cached_office("aegi").phone = "0511 168-0"
        db.session.commit()
        assert cached_office("linden").name == "Bürgeramt Linden"
        db.session.remove()
        db.engine.dispose()
