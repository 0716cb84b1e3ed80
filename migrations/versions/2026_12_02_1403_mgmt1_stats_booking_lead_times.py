"""statistics: booking lead times in the nightly roll-up

Revision ID: mgmt1
Revises: realtime1
Create Date: 2026-12-02 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'mgmt1'
down_revision = 'realtime1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stats_rollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_times', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('stats_rollup', schema=None) as batch_op:
        batch_op.drop_column('lead_times')
