"""The audit log: written inside the change's unit of work, never with residents' personal data,
readable by managers for their offices only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from queue_service.audit import services as audit
from queue_service.audit.models import AuditEntry
from queue_service.audit.services import PersonalDataInAudit, record
from queue_service.auth.models import User
from queue_service.db import unit_of_work
from queue_service.extensions import db
from queue_service.management import offices
from queue_service.offices.models import Counter, Office

from ..manage.conftest import logged_in


def _count(**where) -> int:
    query = select(AuditEntry)
    for key, value in where.items():
        query = query.where(getattr(AuditEntry, key) == value)
    return len(db.session.scalars(query).all())


def test_an_entry_commits_and_rolls_back_with_its_change(staff, monkeypatch):
    manager = staff.aegi_manager
    offices.add_counter("aegi", "Express", ["AB"], actor=manager)
    assert _count(action="counter.added") == 1

    def record_then_fail(*args, **kwargs):
        record(*args, **kwargs)
        db.session.flush()  # the entry is written to the database ...
        raise RuntimeError("the disk is full")  # ... and the change fails after it

    monkeypatch.setattr("queue_service.management.offices.record", record_then_fail)
    with pytest.raises(RuntimeError):
        offices.add_counter("aegi", "Zweiter Express", ["AB"], actor=manager)
    assert _count(action="counter.added") == 1
    aegi = db.session.scalar(select(Office).where(Office.slug == "aegi"))
    assert (
        db.session.scalar(
            select(Counter).where(Counter.office_id == aegi.id, Counter.label == "Zweiter Express")
        )
        is None
    )

    with pytest.raises(RuntimeError), unit_of_work():
        record("test.rolled_back", actor=None, object_type="office", object_id=aegi.id)
        raise RuntimeError("later step failed")
    assert _count(action="test.rolled_back") == 0


def test_entries_refuse_personal_data_and_need_a_unit_of_work(staff):
    admin = db.session.get(User, staff.admin.id)
    db.session.commit()
    with pytest.raises(RuntimeError, match="inside the unit of work"):
        record("test.outside", actor=admin, object_type="office")
    for details in (
        {"email": "a@b.de"},
        {"items": [{"phone": "0511"}]},
        {"changes": {"Name": "Erika"}},
    ):
        with pytest.raises(PersonalDataInAudit), unit_of_work():
            record(
                "test.personal",
                actor=admin,
                object_type="appointment",
                object_id=1,
                details=details,
            )
    assert _count(action="test.personal") == 0
    audit.record_view(
        actor=admin,
        object_type="appointment",
        object_id=42,
        office_id=None,
        details={"fields": ["email"]},
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "personal_data.viewed")
    ).one()
    assert (entry.actor_name, entry.object_id, entry.details) == (
        "admin",
        "42",
        {"fields": ["email"]},
    )


def test_the_audit_page_filters_pages_and_keeps_managers_to_their_offices(web):
    admin = db.session.get(User, web.staff.admin.id)
    ids = dict(db.session.execute(select(Office.slug, Office.id)).all())
    with unit_of_work():
        for i in range(55):
            record(
                "test.aegi", actor=admin, object_type="counter", object_id=i, office_id=ids["aegi"]
            )
        record("test.other", actor=None, object_type="office", object_id=1, office_id=ids["aegi"])
        for i in range(3):
            record(
                "test.linden",
                actor=admin,
                object_type="counter",
                object_id=i,
                office_id=ids["linden"],
            )

    manager = logged_in(web.app, web.staff.aegi_manager)
    first = manager.get("/admin/manage/audit?lang=de").get_data(as_text=True)
    assert "56 Einträge" in first and "Seite 1 von 2" in first
    assert first.count("<code>test.aegi</code>") + first.count("<code>test.other</code>") == 50
    assert "test.linden" not in first
    second = manager.get("/admin/manage/audit?page=2").get_data(as_text=True)
    assert second.count("<tr>") - 1 == 6  # header row + 6 entries
    only = manager.get("/admin/manage/audit?action=test.other").get_data(as_text=True)
    assert "1 Eintrag" in only and "system" in only
    by_actor = manager.get("/admin/manage/audit?actor=admin&office=aegi").get_data(as_text=True)
    assert "55 Einträge" in by_actor
    everything = (
        logged_in(web.app, web.staff.admin).get("/admin/manage/audit").get_data(as_text=True)
    )
    assert re.search(r"\b59 Einträge", everything) and "test.linden" in everything
