"""renewal reminders: decisions per contract term, reminders sent, weekly digests"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from catalog.migrations.columns import create_id_table

revision = "0002_reminders"
down_revision = "0001"


def upgrade() -> None:
    create_id_table(
        "renewal_term",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("itam_owner_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("renew_seats", sa.Integer(), nullable=True),
        sa.Column("renew_unit_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.UniqueConstraint("contract_id", "renewal_date"),
    )
    op.create_index("ix_renewal_term_contract_id", "renewal_term", ["contract_id"])
    create_id_table(
        "reminder",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("channel_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("owner_slack_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("dm_channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("dm_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.UniqueConstraint("contract_id", "renewal_date", "due_on"),
    )
    op.create_index("ix_reminder_contract_id", "reminder", ["contract_id"])
    op.create_index("ix_reminder_due_on", "reminder", ["due_on"])
    op.create_table(
        "renewal_digest",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("as_of"),
    )


def downgrade() -> None:
    op.drop_table("renewal_digest")
    op.drop_index("ix_reminder_due_on", table_name="reminder")
    op.drop_index("ix_reminder_contract_id", table_name="reminder")
    op.drop_table("reminder")
    op.drop_index("ix_renewal_term_contract_id", table_name="renewal_term")
    op.drop_table("renewal_term")
