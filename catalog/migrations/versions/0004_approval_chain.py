"""approval chain: policy versions, budget reservations, spend, cloud commitments, and the
step/route fields of a multi-step approval; merges the reminders and asset-import branches
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from catalog.migrations.columns import create_id_table

revision = "0004_approval_chain"
down_revision = ("0002_reminders", "0003_asset_external_id")


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    # New NOT NULL columns carry a server default so rows written before this migration
    # (requests in flight, past steps) read as one-round, one-stage, internal data.
    op.add_column("person", sa.Column("ooo_from", sa.Date(), nullable=True))
    op.add_column("person", sa.Column("ooo_to", sa.Date(), nullable=True))

    op.add_column(
        "purchase_request",
        sa.Column("data_classification", _string(16), nullable=False, server_default="internal"),
    )
    op.add_column("purchase_request", sa.Column("policy_version", _string(64), nullable=True))
    op.add_column("purchase_request", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("purchase_request", sa.Column("changes_comment", sa.Text(), nullable=True))

    op.add_column("approval_step", sa.Column("stage", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("approval_step", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("approval_step", sa.Column("reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("approval_step", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_step", sa.Column("sla_business_days", sa.Integer(), nullable=False, server_default="2"))
    op.add_column("approval_step", sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_step", sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_step", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_step", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_step", sa.Column("assigned_because", sa.Text(), nullable=True))
    op.add_column("approval_step", sa.Column("delegate_email", _string(320), nullable=True))
    op.add_column("approval_step", sa.Column("delegate_slack_id", _string(32), nullable=True))

    op.add_column("audit_event", sa.Column("step_seq", sa.Integer(), nullable=True))
    op.add_column("audit_event", sa.Column("policy_version", _string(64), nullable=True))

    op.create_table(
        "policy_version",
        sa.Column("version", _string(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    create_id_table(
        "commitment",
        sa.Column("name", _string(100), nullable=False),
        sa.Column("provider", _string(16), nullable=False),
        sa.Column("kind", _string(16), nullable=False),
        sa.Column("currency", _string(3), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("remaining_cents", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    create_id_table(
        "commitment_drawdown",
        sa.Column("request_id", _string(32), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("overflow_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitment.id"]),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_commitment_drawdown_commitment_id", "commitment_drawdown", ["commitment_id"])
    create_id_table(
        "budget_reservation",
        sa.Column("request_id", _string(32), nullable=False),
        sa.Column("cost_center", _string(64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", _string(3), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("request_id"),
    )
    create_id_table(
        "spend_record",
        sa.Column("source_key", _string(64), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("cost_center", _string(64), nullable=False),
        sa.Column("vendor", _string(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", _string(3), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_key"),
    )
    op.create_index("ix_spend_record_cost_center", "spend_record", ["cost_center"])


def downgrade() -> None:
    op.drop_index("ix_spend_record_cost_center", table_name="spend_record")
    op.drop_table("spend_record")
    op.drop_table("budget_reservation")
    op.drop_index("ix_commitment_drawdown_commitment_id", table_name="commitment_drawdown")
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
