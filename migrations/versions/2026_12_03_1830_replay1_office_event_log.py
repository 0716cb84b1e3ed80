"""realtime: the office's recent calls by seq, replayed to a display that reconnects

Revision ID: replay1
Revises: outbox2
Create Date: 2026-12-03 18:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "replay1"
down_revision = "outbox2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "office_event_log",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("office_id", "seq"),
    )


def downgrade():
    op.drop_table("office_event_log")
