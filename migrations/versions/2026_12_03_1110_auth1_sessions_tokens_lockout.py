"""staff sessions that end, API token expiry, per-account login lockout

Revision ID: auth1
Revises: walkins1
Create Date: 2026-12-03 11:10:00

"""
from alembic import op
import sqlalchemy as sa

import queue_service.db


# revision identifiers, used by Alembic.
revision = 'auth1'
down_revision = 'walkins1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('login_locked_until', queue_service.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', queue_service.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('login_locked_until')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('session_version')
