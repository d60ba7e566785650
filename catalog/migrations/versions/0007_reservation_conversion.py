"""budget reservations record the amount in the budget line's currency and the rate used"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import add_columns, drop_columns, string

revision = "0007_reservation_conversion"
down_revision = "0006_renewal_decisions"

COLUMNS = {
    "budget_reservation": [
        ("budget_cents", sa.BigInteger()),
        ("budget_currency", string(3)),
        ("rate", string(40)),
    ]
}


def upgrade() -> None:
    add_columns(COLUMNS)
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
    drop_columns(COLUMNS)
