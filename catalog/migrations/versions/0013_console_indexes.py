"""the console at 100,000 contracts: stored renewal plans and the indexes its reads use"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_console_indexes"
down_revision = "0012_web_console"


def upgrade() -> None:
    # Empty at first: the first read of renewals plans every contract once and fills it.
    op.create_table(
        "contract_plan",
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contract.id"), primary_key=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("notice_basis", sa.String(length=16), nullable=False),
        sa.Column("contract_renewal_date", sa.Date(), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
    )
    # Both orders: "deadline before …" lists and "renewing before …" lists each read one index
    # alone (the contract id rides along as SQLite's rowid / in PostgreSQL's index-only scan).
    op.create_index("ix_contract_plan_deadline", "contract_plan", ["deadline", "renewal_date"])
    op.create_index("ix_contract_plan_renewal_date", "contract_plan", ["renewal_date", "deadline"])

    # The App Home's "My requests" and "Waiting for my approval" scanned every request and
    # step: 133,000 steps at 100,000 requests.
    op.create_index("ix_purchase_request_requester_slack_id", "purchase_request", ["requester_slack_id", "created_at"])
    op.create_index("ix_approval_step_approver_slack_id", "approval_step", ["approver_slack_id", "status"])
    op.create_index("ix_approval_step_delegate_slack_id", "approval_step", ["delegate_slack_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_approval_step_delegate_slack_id", table_name="approval_step")
    op.drop_index("ix_approval_step_approver_slack_id", table_name="approval_step")
    op.drop_index("ix_purchase_request_requester_slack_id", table_name="purchase_request")
    op.drop_index("ix_contract_plan_deadline", table_name="contract_plan")
    op.drop_index("ix_contract_plan_renewal_date", table_name="contract_plan")
    op.drop_table("contract_plan")
