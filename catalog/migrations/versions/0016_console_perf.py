"""console perf: indexes that tell a read, in three look-ups, whether the stored renewal plans
answer for its day (`renewal_plans.stale_by_time_or_calendar`; docs/decisions.md, 51)

Revision ID: 0016_console_perf
Revises: 0015_usage_based_contracts
"""

from __future__ import annotations

from alembic import op

revision = "0016_console_perf"
down_revision = "0015_usage_based_contracts"

_INDEXES = (
    ("ix_contract_plan_calendar", ["calendar"]),
    ("ix_contract_plan_rollover", ["auto_renew", "renewal_date"]),
    ("ix_contract_plan_planned_on", ["auto_renew", "planned_on"]),
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "contract_plan", columns)


def downgrade() -> None:
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="contract_plan")
