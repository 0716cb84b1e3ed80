from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_service.errors import CatalogueError
from queue_service.extensions import db
from queue_service.offices.catalogue import load_catalogue_file, load_catalogue_text
from queue_service.offices.models import Counter, Office, OfficeService, Service

from ..conftest import DEMO_CATALOGUE

NINE = {
    "aegi",
    "bemerode",
    "doehren",
    "herrenhausen",
    "linden",
    "podbi",
    "ricklingen",
    "sahlkamp",
    "schuetzenplatz",
}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_catalogue_loads_the_nine_offices_and_the_mobile_one(app, catalogue):
    slugs = set(db.session.scalars(select(Office.slug)))
    assert slugs == NINE | {"mobil"}
    assert db.session.scalar(select(Office.is_mobile).where(Office.slug == "mobil")) is True
    assert catalogue.services == 17
    aegi = db.session.scalar(select(Office).where(Office.slug == "aegi"))
    assert {s.service.code for s in aegi.services} >= {"PA", "RP", "BPA", "FUN"}
    linden = db.session.scalar(select(Office).where(Office.slug == "linden"))
    assert "BPA" not in {s.service.code for s in linden.services}
    # Aegi's quick-matter counters serve only quick matters
    counter14 = db.session.scalar(
        select(Counter).where(Counter.office_id == aegi.id, Counter.number == 14)
    )
    assert {s.code for s in counter14.services} == {"AB", "EID", "MB", "BG"}


def test_reloading_the_catalogue_changes_nothing(app, catalogue):
    before = (_count(Office), _count(Service), _count(Counter), _count(OfficeService))
    load_catalogue_file(DEMO_CATALOGUE)
    assert (_count(Office), _count(Service), _count(Counter), _count(OfficeService)) == before


def test_unconfirmed_values_are_marked_as_demo(app, catalogue):
    bemerode = db.session.scalar(select(Office).where(Office.slug == "bemerode"))
    assert "address" in bemerode.demo_fields
    pa = db.session.scalar(select(Service).where(Service.code == "PA"))
    assert "minutes" in pa.demo_fields


BROKEN = """\
version: 1
services:
  - code: PA
    prefix: P
    name_de: Personalausweis
    name_en: ID card
    minutes: 15
  - code: RP
    prefix: Q
    name_de: Reisepass
    name_en: Passport
    minutes: zehn
hours_templates:
  std:
    appointment:
      mon: [["09:00", "08:00"]]
offices:
  - slug: aegi
    name: Bürgeramt Aegi
    counters: 3
    hours: std
    services: [PA, XX]
"""


def test_a_broken_file_reports_every_problem_by_line_and_field_and_loads_nothing(app):
    with pytest.raises(CatalogueError) as info:
        load_catalogue_text(BROKEN, "broken.yaml")
    problems = info.value.problems
    assert "line 9: services[1].prefix: 'Q': one capital letter (not I, O, Q)" in problems
    assert any(
        p.startswith("line 12: services[1].minutes: must be a whole number") for p in problems
    )
    assert "line 16: hours_templates.std.appointment.mon[0]: start must be before end" in problems
    assert "line 22: offices[0].services[1]: unknown service code 'XX'" in problems
    assert _count(Office) == 0 and _count(Service) == 0


def test_a_broken_file_leaves_a_loaded_catalogue_untouched(app, catalogue):
    before = _count(Office)
    with pytest.raises(CatalogueError):
        load_catalogue_text(BROKEN)
    assert _count(Office) == before


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "the file is empty"),
        ("version: 1\nservices: [\n", "not valid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_unreadable_files_get_a_clear_message(sqlite_app, text, expected):
    with pytest.raises(CatalogueError) as info:
        load_catalogue_text(text)
    assert expected in info.value.detail


def test_a_missing_file_is_reported(sqlite_app, tmp_path):
    with pytest.raises(CatalogueError, match="file not found"):
        load_catalogue_file(tmp_path / "nope.yaml")
