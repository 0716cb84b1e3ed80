"""online booking: appointments and slot seats

Appointments (with only name, e-mail and optional phone as personal data) and one seat row per
5-minute unit they occupy; the primary key of slot_seats is what prevents double booking.

Revision ID: 0006
Revises: tickets1
Create Date: 2026-11-25 23:01:15.942034

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = 'tickets1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('held', 'pending', 'confirmed', 'cancelled', 'expired', 'checked_in', 'no_show', name='appointmentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('start', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('persons', sa.Integer(), nullable=False),
    sa.Column('service_codes', sa.JSON(), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('code', sa.String(length=8), nullable=True),
    sa.Column('token_salt', sa.String(length=32), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('booked_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('no_show_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('persons >= 1', name='ck_appointments_persons'),
    sa.CheckConstraint('start < "end"', name='ck_appointments_order'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('public_id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_email'), ['email'], unique=False)
        batch_op.create_index('ix_appointments_office_start', ['office_id', 'start'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_start'), ['start'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_status'), ['status'], unique=False)

    op.create_table('slot_seats',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('unit_start', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seat_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('occupied_until', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('seat_no >= 0', name='ck_slot_seats_seat_no'),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'unit_start', 'seat_no')
    )
    with op.batch_alter_table('slot_seats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slot_seats_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index('ix_slot_seats_live', ['office_id', 'unit_start', 'occupied_until'], unique=False)



def downgrade():
    with op.batch_alter_table('slot_seats', schema=None) as batch_op:
        batch_op.drop_index('ix_slot_seats_live')
        batch_op.drop_index(batch_op.f('ix_slot_seats_appointment_id'))

    op.drop_table('slot_seats')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointments_status'))
        batch_op.drop_index(batch_op.f('ix_appointments_start'))
        batch_op.drop_index('ix_appointments_office_start')
        batch_op.drop_index(batch_op.f('ix_appointments_email'))

    op.drop_table('appointments')
