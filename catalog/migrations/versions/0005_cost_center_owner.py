"""cost center owners: the budget line names who answers for the cost center"""

from __future__ import annotations

from catalog.migrations.columns import add_columns, drop_columns, string

revision = "0005_cost_center_owner"
down_revision = "0004_approval_chain"

COLUMNS = {"budget": [("owner_email", string(320))]}


def upgrade() -> None:
    add_columns(COLUMNS)


def downgrade() -> None:
    drop_columns(COLUMNS)
