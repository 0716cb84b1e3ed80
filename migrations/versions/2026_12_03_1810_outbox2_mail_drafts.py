"""outbox: a mail may wait as a draft (what to compose, JSON) until it is composed after the
commit of the change it reports

Revision ID: outbox2
Revises: walkins2
Create Date: 2026-12-03 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'outbox2'
down_revision = 'walkins2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.drop_column('draft')
