"""tickets: further services, persons and language of a ticket; statistics count them

Revision ID: visit1
Revises: auth1
Create Date: 2026-12-03 11:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'visit1'
down_revision = 'auth1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('persons', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('lang', sa.String(length=5), server_default='de', nullable=False))
        batch_op.create_check_constraint('ck_tickets_persons', 'persons >= 1')
    op.create_table(
        'ticket_services',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['service_id'], ['services.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'position'),
    )
    with op.batch_alter_table('stats_rollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('persons', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('requests', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('stats_rollup', schema=None) as batch_op:
        batch_op.drop_column('requests')
        batch_op.drop_column('persons')
    op.drop_table('ticket_services')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('ck_tickets_persons', type_='check')
        batch_op.drop_column('lang')
        batch_op.drop_column('persons')
