"""asset register import: a stable external key per imported asset"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import add_columns, drop_columns

revision = "0003_asset_external_id"
down_revision = "0001"

# A nullable column and a unique index: assets the bot records itself have no external key,
# and both SQLite and PostgreSQL allow many NULLs under a unique index.
COLUMNS = {"asset": [("external_id", sa.String(length=64))]}


def upgrade() -> None:
    add_columns(COLUMNS)
    op.create_index("ix_asset_external_id", "asset", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_asset_external_id", table_name="asset")
    drop_columns(COLUMNS)
