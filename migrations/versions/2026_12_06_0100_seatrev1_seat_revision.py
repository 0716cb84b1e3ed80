"""booking: the seat revision, bumped by triggers on every write to the seats

Each process keeps a slot search's answer under it (booking/slots.py), so every write to
``slot_seats`` must move it. On PostgreSQL the trigger runs before the statement (the revision
row is every seat writer's first lock: no deadlock with the seat rows' locks).

Revision ID: seatrev1
Revises: authrev2
Create Date: 2026-12-06 01:00:00

"""

from alembic import op
import sqlalchemy as sa

from queue_service.booking.models import SEATS
from queue_service.offices.revision import drop_triggers, install_triggers


# revision identifiers, used by Alembic.
revision = "seatrev1"
down_revision = "authrev2"
branch_labels = None
depends_on = None

SEAT_TABLES = ("slot_seats",)


def upgrade():
    op.create_table(
        "seat_revisions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    install_triggers(op.get_bind(), SEAT_TABLES, kind=SEATS)


def downgrade():
    drop_triggers(op.get_bind(), kind=SEATS)
    op.drop_table("seat_revisions")
