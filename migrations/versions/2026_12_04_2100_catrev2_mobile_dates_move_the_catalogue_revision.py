"""offices: the mobile Bürgeramt's dates and their services move the catalogue revision too

The slot search keeps the mobile dates per process under the catalogue revision (as it keeps
the stationary offices' hours), so a write to them must move it.

Revision ID: catrev2
Revises: catrev1
Create Date: 2026-12-04 21:00:00

"""

from alembic import op

from queue_service.offices.revision import drop_triggers, install_triggers


# revision identifiers, used by Alembic.
revision = "catrev2"
down_revision = "catrev1"
branch_labels = None
depends_on = None

MOBILE_TABLES = ("mobile_events", "mobile_event_services")


def upgrade():
    install_triggers(op.get_bind(), MOBILE_TABLES)


def downgrade():
    drop_triggers(op.get_bind(), MOBILE_TABLES)
