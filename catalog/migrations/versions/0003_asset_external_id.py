"""asset register import: a stable external key per imported asset

Revision ID: 0003_asset_external_id
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_asset_external_id"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column and a unique index: assets the bot records itself have no external key,
    # and both SQLite and PostgreSQL allow many NULLs under a unique index.
    op.add_column("asset", sa.Column("external_id", sa.String(length=64), nullable=True))
    op.create_index("ix_asset_external_id", "asset", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_asset_external_id", table_name="asset")
    with op.batch_alter_table("asset") as batch_op:
        batch_op.drop_column("external_id")
