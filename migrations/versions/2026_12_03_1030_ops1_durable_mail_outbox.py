"""durable mail outbox

Revision ID: ops1
Revises: waitlist1
Create Date: 2026-12-03 10:07:19.725620

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'ops1'
down_revision = 'waitlist1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'rejected', name='outboxstatus', native_enum=False, length=20), nullable=False),
    sa.Column('message', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_mails_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mails_status_next_attempt_at')

    op.drop_table('outbox_mails')
