"""office messages, audit log and scheduled job runs

Revision ID: manage01
Revises: 0001
Create Date: 2026-11-25 23:01:21.662509

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'manage01'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # ### reviewed: three new tables, no change to existing ones ###
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=80), nullable=False),
    sa.Column('scheduled_for', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('running', 'succeeded', 'failed', 'abandoned', name='runstatus', native_enum=False, length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('runner', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job', 'scheduled_for', name='uq_job_runs_job_scheduled_for')
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_entries_actor_at', ['actor_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_office_at', ['office_id', 'at'], unique=False)

    op.create_table('office_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('text_de', sa.String(length=280), nullable=False),
    sa.Column('text_en', sa.String(length=280), nullable=True),
    sa.Column('active_from', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active_until', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('office_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_messages_active_until'), ['active_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_office_messages_office_id'), ['office_id'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    # ### reviewed: three new tables, no change to existing ones ###
    with op.batch_alter_table('office_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_messages_office_id'))
        batch_op.drop_index(batch_op.f('ix_office_messages_active_until'))

    op.drop_table('office_messages')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_office_at')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index('ix_audit_entries_actor_at')
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))

    op.drop_table('audit_entries')
    op.drop_table('job_runs')
    # ### end Alembic commands ###
