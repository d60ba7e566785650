"""added seats join the running contract: which asset an approved request adds its seats to

Revision ID: 0010_request_expands_asset
Revises: 0009_step_status_length
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_request_expands_asset"
down_revision = "0009_step_status_length"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: requests planned before this migration (and every request that gets a contract
    # of its own) record a new asset, as before.
    op.add_column("purchase_request", sa.Column("expands_asset_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchase_request") as batch_op:
        batch_op.drop_column("expands_asset_id")
