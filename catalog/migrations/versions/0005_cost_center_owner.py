"""cost center owners: the budget line names who answers for the cost center

Revision ID: 0005_cost_center_owner
Revises: 0004_approval_chain
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_cost_center_owner"
down_revision = "0004_approval_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("budget", sa.Column("owner_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget") as batch:
        batch.drop_column("owner_email")
