"""renewal requests: a purchase request may renew a contract's term (the owner's Renew at a higher cost)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_renewal_requests"
down_revision = "0007_reservation_conversion"


def upgrade() -> None:
    # NULL for every request so far: none of them renews a contract.
    with op.batch_alter_table("purchase_request") as batch_op:
        batch_op.add_column(sa.Column("renewal_contract_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("renewal_date", sa.Date(), nullable=True))
        batch_op.create_index("ix_purchase_request_renewal_contract_id", ["renewal_contract_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("purchase_request") as batch_op:
        batch_op.drop_index("ix_purchase_request_renewal_contract_id")
        batch_op.drop_column("renewal_date")
        batch_op.drop_column("renewal_contract_id")
