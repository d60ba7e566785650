"""console perf: indexes that tell a read, in three look-ups, whether the stored renewal plans
answer for its day (`renewal_plans.stale_by_time_or_calendar`; docs/decisions.md, 54), and the
ones the 100k profile asked for: the request list newest first, the register by product, and
an asset's or contract's audit trail (each a sort or scan of 100,000–300,000 rows before)
"""

from __future__ import annotations

from alembic import op

revision = "0016_console_perf"
down_revision = "0015_usage_based_contracts"

_INDEXES = (
    ("ix_contract_plan_calendar", "contract_plan", ["calendar"]),
    ("ix_contract_plan_rollover", "contract_plan", ["auto_renew", "renewal_date"]),
    ("ix_contract_plan_planned_on", "contract_plan", ["auto_renew", "planned_on"]),
    ("ix_purchase_request_created_at", "purchase_request", ["created_at", "id"]),
    ("ix_asset_product_name", "asset", ["product_name", "id"]),
    ("ix_audit_event_entity", "audit_event", ["entity", "entity_id", "id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
