"""auth: the auth revision, bumped by triggers on every write to tokens (but their last use),
users and their offices

Each process keeps what a bearer token's lookup found under it (auth/tokens.py), so a write to
them must move it.

Revision ID: authrev1
Revises: catrev2
Create Date: 2026-12-05 00:00:00

"""

from alembic import op
import sqlalchemy as sa

from queue_service.auth.models import AUTH
from queue_service.offices.revision import drop_triggers, install_triggers


# revision identifiers, used by Alembic.
revision = "authrev1"
down_revision = "catrev2"
branch_labels = None
depends_on = None

# the tables it watched then (AUTH has watched the devices too since authrev2)
AUTH_TABLES = ("api_tokens", "users", "user_offices")


def upgrade():
    op.create_table(
        "auth_revisions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    install_triggers(op.get_bind(), AUTH_TABLES, kind=AUTH)


def downgrade():
    drop_triggers(op.get_bind(), kind=AUTH)
    op.drop_table("auth_revisions")
