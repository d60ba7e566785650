"""initial schema"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import boolean, cents, date, integer, json, text, timestamp, varchar
from catalog.migrations.tables import create_id_table, create_index, drop_index, references

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_id_table(
        "asset",
        varchar("request_id", 32, null=True, unique=True),
        varchar("product_id", 64, null=True),
        varchar("product_name", 200),
        varchar("vendor", 200, null=True),
        varchar("owner_email", 320),
        varchar("cost_center", 64),
        varchar("channel", 32),
        integer("seats"),
        cents("unit_price_cents"),
        cents("annual_cost_cents"),
        varchar("currency", 3),
        timestamp("created_at"),
    )
    create_index("asset", "product_id")

    create_id_table(
        "audit_event",
        varchar("idem_key", 200, unique=True),
        timestamp("at"),
        varchar("request_id", 32, null=True),
        varchar("entity", 32),
        varchar("entity_id", 64),
        varchar("action", 64),
        varchar("actor", 320),
        json("detail"),
    )
    create_index("audit_event", "request_id")

    create_id_table(
        "budget",
        varchar("cost_center", 64),
        integer("fiscal_year"),
        cents("annual_cents"),
        cents("committed_cents"),
        cents("actual_cents"),
        varchar("currency", 3),
        sa.UniqueConstraint("cost_center", "fiscal_year"),
    )
    op.create_table(
        "person",
        varchar("email", 320),
        varchar("slack_id", 32, null=True),
        varchar("name", 200),
        varchar("manager_email", 320, null=True),
        varchar("department", 100, null=True),
        varchar("cost_center", 64, null=True),
        json("roles"),
        varchar("delegate_email", 320, null=True),
        sa.PrimaryKeyConstraint("email"),
    )
    create_index("person", "slack_id", unique=True)

    op.create_table(
        "product",
        varchar("id", 64),
        varchar("name", 200),
        varchar("vendor", 200),
        varchar("category", 64),
        varchar("status", 16),
        text("block_reason", null=True),
        varchar("owner_email", 320, null=True),
        integer("seats_total", null=True),
        cents("price_cents"),
        varchar("currency", 3),
        json("aliases"),
        json("alternatives"),
        date("contract_start", null=True),
        integer("term_months", null=True),
        boolean("auto_renew"),
        integer("notice_days"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("product", "category")

    op.create_table(
        "purchase_request",
        varchar("id", 32),
        varchar("workflow_id", 64, unique=True),
        varchar("requester_email", 320),
        varchar("requester_slack_id", 32),
        varchar("product_id", 64, null=True),
        varchar("product_name", 200),
        varchar("vendor", 200, null=True),
        integer("seats"),
        cents("unit_price_cents"),
        cents("annual_cost_cents"),
        varchar("currency", 3),
        varchar("cost_center", 64),
        varchar("channel", 32),
        text("justification"),
        date("needed_by", null=True),
        varchar("status", 32),
        timestamp("created_at"),
        timestamp("updated_at"),
        timestamp("decided_at", null=True),
        varchar("decided_by", 320, null=True),
        text("decision_reason", null=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("purchase_request", "requester_email")
    create_index("purchase_request", "status")

    op.create_table(
        "slack_message",
        varchar("key", 160),
        varchar("request_id", 32),
        varchar("channel", 32),
        varchar("ts", 32),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("key"),
    )
    create_index("slack_message", "request_id")

    create_id_table(
        "approval_step",
        varchar("request_id", 32),
        integer("seq"),
        varchar("role", 32),
        varchar("approver_email", 320),
        varchar("approver_slack_id", 32),
        varchar("status", 16),
        varchar("decided_by", 320, null=True),
        timestamp("decided_at", null=True),
        text("reason", null=True),
        references("request_id", "purchase_request.id"),
        sa.UniqueConstraint("request_id", "seq"),
    )
    create_index("approval_step", "request_id")

    create_id_table(
        "contract",
        integer("asset_id", unique=True),
        date("start_date"),
        integer("term_months"),
        varchar("billing_period", 16),
        boolean("auto_renew"),
        integer("notice_days"),
        varchar("notice_basis", 16),
        date("renewal_date"),
        references("asset_id", "asset.id"),
    )
    create_id_table(
        "seat_assignment",
        integer("asset_id"),
        varchar("person_email", 320),
        timestamp("assigned_at"),
        date("last_active", null=True),
        references("asset_id", "asset.id"),
        sa.UniqueConstraint("asset_id", "person_email"),
    )
    create_index("seat_assignment", "asset_id")


def downgrade() -> None:
    drop_index("seat_assignment", "asset_id")
    op.drop_table("seat_assignment")
    op.drop_table("contract")
    drop_index("approval_step", "request_id")
    op.drop_table("approval_step")
    drop_index("slack_message", "request_id")
    op.drop_table("slack_message")
    drop_index("purchase_request", "status")
    drop_index("purchase_request", "requester_email")
    op.drop_table("purchase_request")
    drop_index("product", "category")
    op.drop_table("product")
    drop_index("person", "slack_id")
    op.drop_table("person")
    op.drop_table("budget")
    drop_index("audit_event", "request_id")
    op.drop_table("audit_event")
    drop_index("asset", "product_id")
    op.drop_table("asset")
