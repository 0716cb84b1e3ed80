"""offices: what residents need to know about the building's accessibility (de, en)

Revision ID: visitp1
Revises: ops1
Create Date: 2026-12-03 10:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'visitp1'
down_revision = 'ops1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accessibility_de', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('accessibility_en', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_column('accessibility_en')
        batch_op.drop_column('accessibility_de')
