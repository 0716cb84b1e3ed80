"""booking: the seat revision bumped once per transaction at its commit (PostgreSQL)

Until now a BEFORE-statement trigger on ``slot_seats`` bumped the city's seat revision row, so
every seat writer held that row from its first seat write to its commit and the city's bookings
queued there. Now a deferred constraint trigger per row bumps it once per transaction at the
commit (and a statement trigger on TRUNCATE): the row is held only through the commit. SQLite's
triggers are unchanged (one writer at a time there anyway).

Revision ID: seatrev2
Revises: seatrev1
Create Date: 2026-12-06 05:00:00

"""

from alembic import op

from queue_service.booking.models import SEATS
from queue_service.offices.revision import install_triggers

# revision identifiers, used by Alembic.
revision = "seatrev2"
down_revision = "seatrev1"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        install_triggers(op.get_bind(), ("slot_seats",), kind=SEATS)  # drops the old ones first


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS qs_seats_revision_slot_seats_truncate ON slot_seats")
    op.execute("DROP TRIGGER IF EXISTS qs_seats_revision_slot_seats ON slot_seats")
    op.execute(
        "CREATE OR REPLACE FUNCTION qs_bump_seats_revision() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO seat_revisions (id, epoch, number) "
        "VALUES (1, floor(random() * 2147483647)::integer, 1) "
        "ON CONFLICT (id) DO UPDATE SET number = seat_revisions.number + 1; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER qs_seats_revision_slot_seats BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON slot_seats FOR EACH STATEMENT EXECUTE FUNCTION qs_bump_seats_revision()"
    )
