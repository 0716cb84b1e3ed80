"""turn alerts: a visitor's "alert me when N people are ahead" with an optional e-mail

Revision ID: notify1
Revises: visit1
Create Date: 2026-12-03 13:40:00

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'notify1'
down_revision = 'visit1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'turn_alerts',
        sa.Column('ticket_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('ahead', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('lang', sa.String(length=5), nullable=False),
        sa.Column('created_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('mailed_at', queue_service.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('ahead >= 1 AND ahead <= 10', name='ck_turn_alerts_ahead'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id'),
    )


def downgrade():
    op.drop_table('turn_alerts')
