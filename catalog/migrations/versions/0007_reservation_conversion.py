"""budget reservations record the amount in the budget line's currency and the rate used

Revision ID: 0007_reservation_conversion
Revises: 0006_renewal_decisions
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_reservation_conversion"
down_revision = "0006_renewal_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("budget_reservation", sa.Column("budget_cents", sa.BigInteger(), nullable=True))
    op.add_column(
        "budget_reservation", sa.Column("budget_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True)
    )
    op.add_column("budget_reservation", sa.Column("rate", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    # In the line's own currency the amount added to `committed` was the amount itself, at 1.
    op.execute(
        "UPDATE budget_reservation SET budget_cents = amount_cents, budget_currency = currency, rate = '1' "
        "WHERE EXISTS (SELECT 1 FROM budget WHERE budget.cost_center = budget_reservation.cost_center "
        "AND budget.fiscal_year = budget_reservation.fiscal_year AND budget.currency = budget_reservation.currency)"
    )
    # In another currency its cents were added unconverted (the defect this fixes): no rate is
    # known for them, so they stay NULL and name the line's currency, for ITAM to find.
    op.execute(
        "UPDATE budget_reservation SET budget_currency = (SELECT budget.currency FROM budget "
        "WHERE budget.cost_center = budget_reservation.cost_center "
        "AND budget.fiscal_year = budget_reservation.fiscal_year) WHERE budget_cents IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("budget_reservation") as batch_op:
        batch_op.drop_column("rate")
        batch_op.drop_column("budget_currency")
        batch_op.drop_column("budget_cents")
