"""renewal reminders: decisions per contract term, reminders sent, weekly digests"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import cents, create_id_table, date, integer, references, timestamp, varchar

revision = "0002_reminders"
down_revision = "0001"


def upgrade() -> None:
    create_id_table(
        "renewal_term",
        integer("contract_id"),
        date("renewal_date"),
        varchar("status", 16),
        varchar("decided_by", 320, null=True),
        timestamp("decided_at", null=True),
        date("snoozed_until", null=True),
        varchar("itam_owner_email", 320, null=True),
        integer("renew_seats", null=True),
        cents("renew_unit_price_cents", null=True),
        timestamp("updated_at"),
        references("contract_id", "contract.id"),
        sa.UniqueConstraint("contract_id", "renewal_date"),
    )
    op.create_index("ix_renewal_term_contract_id", "renewal_term", ["contract_id"])
    create_id_table(
        "reminder",
        integer("contract_id"),
        date("renewal_date"),
        date("due_on"),
        date("deadline"),
        timestamp("created_at"),
        timestamp("sent_at", null=True),
        varchar("channel_id", 32, null=True),
        varchar("channel_ts", 32, null=True),
        varchar("owner_slack_id", 32, null=True),
        varchar("dm_channel_id", 32, null=True),
        varchar("dm_ts", 32, null=True),
        references("contract_id", "contract.id"),
        sa.UniqueConstraint("contract_id", "renewal_date", "due_on"),
    )
    op.create_index("ix_reminder_contract_id", "reminder", ["contract_id"])
    op.create_index("ix_reminder_due_on", "reminder", ["due_on"])
    op.create_table(
        "renewal_digest",
        date("as_of"),
        varchar("channel_id", 32),
        varchar("ts", 32),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("as_of"),
    )


def downgrade() -> None:
    op.drop_table("renewal_digest")
    op.drop_index("ix_reminder_due_on", table_name="reminder")
    op.drop_index("ix_reminder_contract_id", table_name="reminder")
    op.drop_table("reminder")
    op.drop_index("ix_renewal_term_contract_id", table_name="renewal_term")
    op.drop_table("renewal_term")
