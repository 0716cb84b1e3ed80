"""auth: a write to the devices (but their last sighting) moves the auth revision too

Each process keeps what a kiosk's or display's device token lookup found under the auth
revision (auth/devices.py), as it keeps a bearer token's, so registering, revoking or changing a
device must move it.

Revision ID: authrev2
Revises: authrev1
Create Date: 2026-12-05 22:00:00

"""

from alembic import op

from queue_service.auth.models import AUTH
from queue_service.offices.revision import drop_triggers, install_triggers


# revision identifiers, used by Alembic.
revision = "authrev2"
down_revision = "authrev1"
branch_labels = None
depends_on = None

DEVICE_TABLES = ("devices",)


def upgrade():
    install_triggers(op.get_bind(), DEVICE_TABLES, kind=AUTH)


def downgrade():
    drop_triggers(op.get_bind(), DEVICE_TABLES, kind=AUTH)
