"""waitlist requests and offers

Revision ID: waitlist1
Revises: mgmt1
Create Date: 2026-12-03 09:56:08.362429

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'waitlist1'
down_revision = 'mgmt1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'active', 'offered', 'fulfilled', 'cancelled', 'expired', name='requeststatus', native_enum=False, length=20), nullable=False),
    sa.Column('service_codes', sa.JSON(), nullable=False),
    sa.Column('persons', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('office_ids', sa.JSON(), nullable=True),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=True),
    sa.Column('earliest', sa.Time(), nullable=True),
    sa.Column('latest', sa.Time(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('token_salt', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('queued_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('baseline_start', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('first_day <= last_day', name='ck_waitlist_requests_range'),
    sa.CheckConstraint('persons >= 1', name='ck_waitlist_requests_persons'),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('waitlist_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_requests_email'), ['email'], unique=False)
        batch_op.create_index('ix_waitlist_requests_queue', ['status', 'queued_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_requests_status'), ['status'], unique=False)

    op.create_table('waitlist_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('start', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'declined', 'lapsed', 'withdrawn', name='offerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('token_salt', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('offered_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['waitlist_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_offers_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index('ix_waitlist_offers_open_expiry', ['status', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_offers_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_offers_status'), ['status'], unique=False)
        batch_op.create_index('uq_waitlist_offers_one_open', ['request_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))



def downgrade():
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_offers_one_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_waitlist_offers_status'))
        batch_op.drop_index(batch_op.f('ix_waitlist_offers_request_id'))
        batch_op.drop_index('ix_waitlist_offers_open_expiry')
        batch_op.drop_index(batch_op.f('ix_waitlist_offers_appointment_id'))

    op.drop_table('waitlist_offers')
    with op.batch_alter_table('waitlist_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_requests_status'))
        batch_op.drop_index('ix_waitlist_requests_queue')
        batch_op.drop_index(batch_op.f('ix_waitlist_requests_email'))

    op.drop_table('waitlist_requests')
