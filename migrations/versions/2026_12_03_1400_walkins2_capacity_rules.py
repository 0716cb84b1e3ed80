"""offices: capacity rules a manager sets (walk-in share of appointment windows, online booking
closing before the day)

Revision ID: walkins2
Revises: notify1
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'walkins2'
down_revision = 'notify1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('walkin_share_percent', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(sa.Column('online_closes_days_before', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('online_closes_at', sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_column('online_closes_at')
        batch_op.drop_column('online_closes_days_before')
        batch_op.drop_column('walkin_share_percent')
