"""approval chain: policy versions, budget reservations, spend, cloud commitments, and the
step/route fields of a multi-step approval; merges the reminders and asset-import branches
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import cents, date, integer, string, text, timestamp, varchar
from catalog.migrations.tables import create_id_table, create_index, drop_index, references

revision = "0004_approval_chain"
down_revision = ("0002_reminders", "0003_asset_external_id")


def upgrade() -> None:
    # New NOT NULL columns carry a server default so rows written before this migration
    # (requests in flight, past steps) read as one-round, one-stage, internal data.
    op.add_column("person", date("ooo_from", null=True))
    op.add_column("person", date("ooo_to", null=True))

    op.add_column(
        "purchase_request",
        sa.Column("data_classification", string(16), nullable=False, server_default="internal"),
    )
    op.add_column("purchase_request", varchar("policy_version", 64, null=True))
    op.add_column("purchase_request", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("purchase_request", text("changes_comment", null=True))

    op.add_column("approval_step", sa.Column("stage", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("approval_step", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("approval_step", sa.Column("reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("approval_step", timestamp("opened_at", null=True))
    op.add_column("approval_step", sa.Column("sla_business_days", sa.Integer(), nullable=False, server_default="2"))
    op.add_column("approval_step", timestamp("remind_at", null=True))
    op.add_column("approval_step", timestamp("escalate_at", null=True))
    op.add_column("approval_step", timestamp("reminded_at", null=True))
    op.add_column("approval_step", timestamp("escalated_at", null=True))
    op.add_column("approval_step", text("assigned_because", null=True))
    op.add_column("approval_step", varchar("delegate_email", 320, null=True))
    op.add_column("approval_step", varchar("delegate_slack_id", 32, null=True))

    op.add_column("audit_event", integer("step_seq", null=True))
    op.add_column("audit_event", varchar("policy_version", 64, null=True))

    op.create_table(
        "policy_version",
        varchar("version", 64),
        text("text"),
        timestamp("first_seen"),
        sa.PrimaryKeyConstraint("version"),
    )
    create_id_table(
        "commitment",
        varchar("name", 100, unique=True),
        varchar("provider", 16),
        varchar("kind", 16),
        varchar("currency", 3),
        cents("total_cents"),
        cents("remaining_cents"),
        date("start_date", null=True),
        date("end_date"),
    )
    create_id_table(
        "commitment_drawdown",
        varchar("request_id", 32, unique=True),
        integer("commitment_id"),
        cents("amount_cents"),
        cents("overflow_cents"),
        timestamp("at"),
        references("commitment_id", "commitment.id"),
    )
    create_index("commitment_drawdown", "commitment_id")
    create_id_table(
        "budget_reservation",
        varchar("request_id", 32, unique=True),
        varchar("cost_center", 64),
        integer("fiscal_year"),
        cents("amount_cents"),
        varchar("currency", 3),
        timestamp("at"),
    )
    create_id_table(
        "spend_record",
        varchar("source_key", 64, unique=True),
        date("spent_on"),
        varchar("cost_center", 64),
        varchar("vendor", 200),
        cents("amount_cents"),
        varchar("currency", 3),
        timestamp("imported_at"),
    )
    create_index("spend_record", "cost_center")


def downgrade() -> None:
    drop_index("spend_record", "cost_center")
    op.drop_table("spend_record")
    op.drop_table("budget_reservation")
    drop_index("commitment_drawdown", "commitment_id")
    op.drop_table("commitment_drawdown")
    op.drop_table("commitment")
    op.drop_table("policy_version")
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_column("policy_version")
        batch_op.drop_column("step_seq")
    with op.batch_alter_table("approval_step") as batch_op:
        for name in (
            "delegate_slack_id",
            "delegate_email",
            "assigned_because",
            "escalated_at",
            "reminded_at",
            "escalate_at",
            "remind_at",
            "sla_business_days",
            "opened_at",
            "reasons",
            "round",
            "stage",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("purchase_request") as batch_op:
        for name in ("changes_comment", "round", "policy_version", "data_classification"):
            batch_op.drop_column(name)
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_column("ooo_to")
        batch_op.drop_column("ooo_from")
