"""statistics roll-up and satisfaction ratings

Revision ID: stats1
Revises: 0006
Create Date: 2026-11-26 00:20:00

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'stats1'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('served', sa.Integer(), nullable=False),
    sa.Column('no_show', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Integer(), nullable=False),
    sa.Column('not_served', sa.Integer(), nullable=False),
    sa.Column('walkin', sa.Integer(), nullable=False),
    sa.Column('appointment', sa.Integer(), nullable=False),
    sa.Column('waits', sa.JSON(), nullable=False),
    sa.Column('service_times', sa.JSON(), nullable=False),
    sa.Column('punctuality', sa.JSON(), nullable=False),
    sa.Column('computed_at', queue_service.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('office_id', 'service_id', 'day', 'hour', name='uq_stats_rollup_bucket')
    )
    op.create_index('ix_stats_rollup_office_day', 'stats_rollup', ['office_id', 'day'], unique=False)
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ratings_office_day', 'ratings', ['office_id', 'day'], unique=False)
    op.create_table('rated_tickets',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id')
    )


def downgrade():
    op.drop_table('rated_tickets')
    op.drop_index('ix_ratings_office_day', table_name='ratings')
    op.drop_table('ratings')
    op.drop_index('ix_stats_rollup_office_day', table_name='stats_rollup')
    op.drop_table('stats_rollup')
