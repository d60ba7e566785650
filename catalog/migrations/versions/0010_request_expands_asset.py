"""added seats join the running contract: which asset an approved request adds its seats to"""

from __future__ import annotations

import sqlalchemy as sa

from catalog.migrations.columns import add_columns, drop_columns

revision = "0010_request_expands_asset"
down_revision = "0009_step_status_length"

# Nullable: requests planned before this migration (and every request that gets a contract
# of its own) record a new asset, as before.
COLUMNS = {"purchase_request": [("expands_asset_id", sa.Integer())]}


def upgrade() -> None:
    add_columns(COLUMNS)


def downgrade() -> None:
    drop_columns(COLUMNS)
