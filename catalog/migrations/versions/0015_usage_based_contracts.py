"""usage-based contracts: an asset's seat count may be NULL (no seats; the contract value is its annual cost)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_usage_based_contracts"
down_revision = "0014_discovery_decisions"


def upgrade() -> None:
    # batch: SQLite cannot ALTER a column's nullability in place; batch copies the table there
    # and is a plain ALTER COLUMN on PostgreSQL.
    with op.batch_alter_table("asset") as batch:
        batch.alter_column("seats", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A usage-based asset has no seat count to go back to: it becomes one seat at its contract
    # value, so nothing is lost from the register's money.
    op.execute("UPDATE asset SET seats = 1, unit_price_cents = annual_cost_cents WHERE seats IS NULL")
    with op.batch_alter_table("asset") as batch:
        batch.alter_column("seats", existing_type=sa.Integer(), nullable=False)
