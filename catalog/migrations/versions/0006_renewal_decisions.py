"""renewal decisions: the next term's seats and price, and the deadline a decision was taken against"""

from __future__ import annotations

import sqlalchemy as sa

from catalog.migrations.columns import add_columns, drop_columns

revision = "0006_renewal_decisions"
down_revision = "0005_cost_center_owner"

COLUMNS = {
    # Renew's new seats and price apply from the renewal date on; until then the asset keeps
    # the current term's. All NULL: no renewal has changed the next term.
    "contract": [
        ("next_term_from", sa.Date()),
        ("next_term_seats", sa.Integer()),
        ("next_term_unit_price_cents", sa.BigInteger()),
        ("next_term_annual_cost_cents", sa.BigInteger()),
    ],
    # The deadline recomputed from the contract when the decision was taken (NULL for
    # decisions recorded before this column existed).
    "renewal_term": [("deadline", sa.Date())],
}


def upgrade() -> None:
    add_columns(COLUMNS)


def downgrade() -> None:
    drop_columns(COLUMNS)
