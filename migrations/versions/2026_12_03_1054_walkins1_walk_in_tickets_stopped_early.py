"""walk-in tickets stopped early

Revision ID: walkins1
Revises: visitp1
Create Date: 2026-12-03 10:54:27.816354

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'walkins1'
down_revision = 'visitp1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walkins_closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('walkins_closed_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('walkins_closed_message_id', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_column('walkins_closed_message_id')
        batch_op.drop_column('walkins_closed_reason')
        batch_op.drop_column('walkins_closed_on')

