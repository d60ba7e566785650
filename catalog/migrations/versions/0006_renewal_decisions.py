"""renewal decisions: the next term's seats and price, and the deadline a decision was taken against

Revision ID: 0006_renewal_decisions
Revises: 0005_cost_center_owner
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_renewal_decisions"
down_revision = "0005_cost_center_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Renew's new seats and price apply from the renewal date on; until then the asset keeps
    # the current term's. All NULL: no renewal has changed the next term.
    with op.batch_alter_table("contract") as batch_op:
        batch_op.add_column(sa.Column("next_term_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("next_term_seats", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_term_unit_price_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("next_term_annual_cost_cents", sa.BigInteger(), nullable=True))
    # The deadline recomputed from the contract when the decision was taken (NULL for
    # decisions recorded before this column existed).
    with op.batch_alter_table("renewal_term") as batch_op:
        batch_op.add_column(sa.Column("deadline", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("renewal_term") as batch_op:
        batch_op.drop_column("deadline")
    with op.batch_alter_table("contract") as batch_op:
        batch_op.drop_column("next_term_annual_cost_cents")
        batch_op.drop_column("next_term_unit_price_cents")
        batch_op.drop_column("next_term_seats")
        batch_op.drop_column("next_term_from")
