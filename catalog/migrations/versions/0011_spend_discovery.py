"""discovery: card and marketplace spend lines, SSO app usage, and the products discovered"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import boolean, cents, date, integer, json, timestamp, varchar
from catalog.migrations.tables import create_id_table, create_index, drop_index, references

revision = "0011_spend_discovery"
down_revision = "0010_request_expands_asset"


def upgrade() -> None:
    create_id_table(
        "spend_line",
        varchar("source_key", 64, unique=True),
        varchar("source", 8),
        date("spent_on"),
        varchar("descriptor", 300),
        varchar("payer_email", 320, null=True),
        varchar("cost_center", 64, null=True),
        cents("amount_cents"),
        varchar("currency", 3),
        varchar("transaction_id", 128, null=True),
        varchar("memo", 300, null=True),
        boolean("marketplace"),
        varchar("provider", 16, null=True),
        varchar("publisher", 200, null=True),
        varchar("service_name", 200, null=True),
        varchar("sub_account_id", 128, null=True),
        integer("commitment_id", null=True),
        varchar("request_id", 32, null=True),
        timestamp("imported_at"),
        references("commitment_id", "commitment.id"),
    )
    # No index but the key's: discovery reads every line up to a day in one GROUP BY, and each
    # index would slow the import of a million-line export (docs/decisions.md, "Discovery").
    create_id_table(
        "sso_app_usage",
        varchar("app_key", 200),
        varchar("app", 200),
        varchar("user_email", 320),
        date("last_login"),
        timestamp("imported_at"),
        sa.UniqueConstraint("app_key", "user_email"),
    )
    create_index("sso_app_usage", "app_key")
    create_id_table(
        "discovery",
        varchar("key", 200, unique=True),
        varchar("product_id", 64, null=True),
        varchar("name", 200),
        varchar("vendor", 200, null=True),
        varchar("category", 64, null=True),
        varchar("status", 16),
        json("spend_cents"),
        integer("lines"),
        json("payers"),
        json("cost_centers"),
        date("first_seen", null=True),
        date("last_seen", null=True),
        integer("sso_users"),
        integer("marketplace_lines"),
        integer("unreconciled_lines"),
        date("as_of"),
        timestamp("updated_at"),
    )
    create_index("discovery", "product_id")
    create_index("discovery", "status")


def downgrade() -> None:
    drop_index("discovery", "status")
    drop_index("discovery", "product_id")
    op.drop_table("discovery")
    drop_index("sso_app_usage", "app_key")
    op.drop_table("sso_app_usage")
    op.drop_table("spend_line")
