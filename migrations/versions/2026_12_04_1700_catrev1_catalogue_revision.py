"""offices: the catalogue revision, bumped by triggers on every catalogue write

Revision ID: catrev1
Revises: replay1
Create Date: 2026-12-04 17:00:00

"""

from alembic import op
import sqlalchemy as sa

from queue_service.offices.revision import drop_triggers, install_triggers


# revision identifiers, used by Alembic.
revision = "catrev1"
down_revision = "replay1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "catalogue_revisions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    install_triggers(op.get_bind())


def downgrade():
    drop_triggers(op.get_bind())
    op.drop_table("catalogue_revisions")
